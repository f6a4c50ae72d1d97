"""Held-out error over several fold assignments: the pooled figure, its range from one assignment to
the next, and a verdict that says 'on the line' when the assignments disagree about the goal."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet.perf.calibration import load_calibration
from polyfleet.perf.cv_report import by_family, spread
from polyfleet.perf.fit import HeldOut

POINT = load_calibration().inference[0]


def _run(errors: dict[str, list[float]]) -> list[HeldOut]:
    """One cross-validation's held-out points: `errors` gives each family's predicted / published - 1."""
    return [HeldOut(point=POINT, kind="inference", family=fam, fold=0, log_error=float(np.log1p(e)))
            for fam, errs in errors.items() for e in errs]


SMALL = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08]


def test_a_family_one_seed_passes_and_one_fails_is_on_the_line_though_its_pooled_share_meets_the_goal():
    """Seed 0: nine of ten within 25% (90%), median of 0.05 and 0.06 = 5.5%: met. Seed 1: eight of ten
    (80%): missed. Pooled, 17 of 20 = 85% and median 5.5%, which alone would read 'met'; the verdict
    says the two assignments disagree. A family far inside the goal in both seeds is met, one far
    outside in both is missed."""
    seed0 = _run({"x": SMALL + [0.09, 0.40], "good": [0.01] * 10, "bad": [0.5] * 10})
    seed1 = _run({"x": SMALL + [0.30, 0.40], "good": [0.02] * 10, "bad": [0.6] * 10})
    rows = {s.pooled.group: s for s in spread([seed0, seed1])}
    x = rows["x"]
    assert x.pooled.n == 20 and abs(x.pooled.within_25 - 0.85) < 1e-12
    assert abs(x.pooled.median_abs_error - 0.055) < 1e-9 and x.pooled.meets_goal()
    assert np.allclose(x.within_range, (0.8, 0.9)) and np.allclose(x.median_range, (0.055, 0.055))
    assert (x.seeds_met, x.seeds) == (1, 2) and x.verdict() == "on the line (1 of 2 seeds meet it)"
    assert rows["good"].verdict() == "met" and rows["bad"].verdict() == "missed"
    assert np.allclose(rows["good"].median_range, (0.01, 0.02))
    assert rows["all"].seeds == 2


def test_one_seed_reads_as_before():
    """With one assignment the range is the figure itself and the verdict is met or missed."""
    (x,) = [s for s in spread([_run({"x": SMALL + [0.09, 0.40]})]) if s.pooled.group == "x"]
    assert x.within_range == (x.pooled.within_25, x.pooled.within_25) and x.verdict() == "met"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(-0.9, 3.0), min_size=6, max_size=6), min_size=1, max_size=4))
def test_pooled_share_lies_in_its_range_and_the_verdict_counts_the_seeds(seeds):
    """Every seed scores the same points, so the pooled share within 25% is the mean of the seeds'
    shares (inside their range), and the verdict is met exactly when every seed meets the goal."""
    runs = [_run({"x": errs}) for errs in seeds]
    (x,) = [s for s in spread(runs) if s.pooled.group == "x"]
    lo, hi = x.within_range
    assert lo - 1e-12 <= x.pooled.within_25 <= hi + 1e-12
    met = [next(s for s in by_family(run) if s.group == "x").meets_goal() for run in runs]
    assert x.seeds_met == sum(met) and (x.verdict() == "met") == all(met) and (x.verdict() == "missed") == (not any(met))


def test_cli_pools_fold_assignments_and_reports_their_range(run_cli):
    code, out, err = run_cli("perf", "calibration", "--cv", "--folds", "2", "--seeds", "2", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["seeds"] == [0, 1] and "seed 1: fold 2/2 fitted" in err
    ids = [p["id"] for p in doc["points"]]
    assert all(ids.count(i) == 2 for i in set(ids))            # every point once per seed
    assert {p["seed"] for p in doc["points"]} == {0, 1}
    fams = [g for g in doc["groups"] if g["scope"] == "family"]
    assert {g["group"] for g in fams} == {"tpu", "trainium", "nvidia", "amd", "all"}
    assert next(g for g in fams if g["group"] == "all")["points"] == len(set(ids))
    for g in fams:
        lo, hi = g["within_25_range"]
        assert lo - 1e-12 <= g["within_25"] <= hi + 1e-12, g["group"]
        assert g["goal"] in ("met", "missed") or g["goal"] == f"on the line ({g['seeds_met']} of 2 seeds meet it)"


def test_cli_refuses_seeds_below_one_and_seeds_without_cv(run_cli):
    code, _, err = run_cli("perf", "calibration", "--cv", "--seeds", "0")
    assert code == 2 and "--seeds" in err and "at least 1" in err
    code, _, err = run_cli("perf", "calibration", "--seeds", "2")
    assert code == 2 and "--seeds" in err and "--cv" in err
