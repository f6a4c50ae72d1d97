"""Fit the efficiency factors in perf/data/efficiency.yaml to every calibration point.

Bounded, robust least squares on log(predicted / published throughput) over the factors in
`polyfleet.perf.fit.FIT_PARAMS` (few per platform and stack, none per point). Prints the fitted
factors and the in-sample error; `--write` stores them in efficiency.yaml (data, reviewed like
code). The held-out error, which is what to judge the model on, comes from
`python benchmarks/calibration_cv.py`.

    python benchmarks/fit_efficiency.py [--write]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from polyfleet.perf import Context  # noqa: E402
from polyfleet.perf.calibration import load_calibration  # noqa: E402
from polyfleet.perf.fit import FIT_PARAMS, _get, fit, log_errors, summarise  # noqa: E402

HEADER = """\
# Efficiency factors per platform: the share of peak a real software stack reaches, and the
# factors of the mixture-of-experts, long-context and stack models. Written by
# `python benchmarks/fit_efficiency.py --write`: the factors named in polyfleet.perf.fit.FIT_PARAMS
# are fitted to every point of perf/data/calibration.yaml (bounded least squares on log error);
# the rest are estimates where no published result pins them. `stacks` holds fitted factors of
# stacks relative to each platform's reference stack (see catalog/data/runtimes.yaml). `chips`
# holds fitted factors of single chips against their platform (pulled toward 1), for the chips
# published results pin on a platform with several.
# Judge them on held-out error: `polyfleet perf calibration --cv`.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="store the fitted factors in efficiency.yaml")
    args = ap.parse_args()
    ctx = Context()
    points = load_calibration().points()
    t0 = time.process_time()
    fitted = fit(points, ctx, from_prior=True)   # the procedure every cross-validation fold runs
    cpu = time.process_time() - t0
    data = fitted.model_dump()
    print(f"fitted {len(FIT_PARAMS)} factors to {len(points)} points in {cpu:.1f} CPU-s:")
    for path, lo, hi in FIT_PARAMS:
        print(f"  {path:50s} {_get(data, path, float('nan')):9.4g}   [{lo:g}, {hi:g}]")
    before = summarise("before", log_errors(points, ctx))
    after = summarise("after", log_errors(points, Context(catalog=ctx.catalog, models=ctx.models, efficiency=fitted)))
    for s in (before, after):
        print(f"in-sample {s.group:6s}: median |error| {s.median_abs_error:.1%}, within 25%: {s.within_25:.0%} (n={s.n})")
    if args.write:
        path = Path(__file__).resolve().parents[1] / "src/polyfleet/perf/data/efficiency.yaml"
        path.write_text(HEADER + yaml.safe_dump(_rounded(data), sort_keys=False, width=110), encoding="utf-8")
        print(f"wrote {path}")


def _rounded(d):
    if isinstance(d, dict):
        return {k: _rounded(v) for k, v in d.items()}
    if isinstance(d, float):
        return float(f"{d:.4g}")
    return d


if __name__ == "__main__":
    main()
