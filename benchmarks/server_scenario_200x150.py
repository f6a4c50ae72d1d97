"""A scenario of 200 inference services on 150 pools, the size issue 11's reconcile figure asks for.

Shaped like `place.inference_synthetic.random_instance(200, 150)` but as a real scenario file, so the
benchmark goes through the same path as a user's upload: 150 offerings (six real instance types, with
their catalog prices, in 25 synthetic regions each, declared inline as estimates), 200 services on
library models with mixed sizes, SLOs and runtimes (portability), two customer tiers, a fleet of 1 to
32 units per pool, and demand at `load` x what each service could make on the chips it can run on.

    python benchmarks/server_scenario_200x150.py > /tmp/s200.yaml
"""

from __future__ import annotations

import sys

import numpy as np
import yaml

TYPES = [  # provider, accelerator, instance, chips per unit, on-demand USD per chip-hour (catalog)
    ("gcp", "tpu-v6e", "tpu-v6e-8", 8, 2.70), ("aws", "h100", "p5.48xlarge", 8, 6.88),
    ("aws", "trn2", "trn2.48xlarge", 16, 5.37), ("nebius", "h200", "gpu-h200-sxm_8gpu", 8, 3.50),
    ("nebius", "b200", "gpu-b200-sxm_8gpu", 8, 5.50), ("tensorwave", "mi300x", "mi300x-8", 8, 1.50)]
MODELS = [("llama-3.1-8b", "bf16", 1), ("llama-3-8b", "bf16", 1), ("llama-3.1-70b", "fp8", 4),
          ("llama-3.3-70b", "fp8", 4), ("mixtral-8x7b", "bf16", 2), ("llama-2-7b", "bf16", 1)]
RUNTIMES = ["vllm", "jax", "neuron", "pytorch-rocm"]


def scenario(n_services: int = 200, regions: int = 25, seed: int = 0, load: float = 0.6,
             tokens: np.ndarray | None = None) -> dict:
    """The scenario as a mapping; `tokens` (tokens/s per service) replaces the first pass's placeholder demand."""
    rng = np.random.default_rng(seed)
    offerings, ids = [], []
    for prov, acc, inst, chips, price in TYPES:
        regs = [f"bench-{k:02d}" for k in range(regions)]
        offerings.append({"provider": prov, "accelerator": acc, "instance": inst, "unit_chips": chips,
                          "source": "bench", "prices": {"on_demand": price}, "regions": {r: {} for r in regs}})
        ids += [f"{prov}/{inst}/{r}" for r in regs]
    services = []
    for i in range(n_services):
        model, dtype, _ = MODELS[rng.integers(len(MODELS))]
        rts = [r for r in RUNTIMES if rng.random() < 0.6] or [RUNTIMES[rng.integers(len(RUNTIMES))]]
        services.append({"id": f"svc{i:03d}", "model": model, "dtype": dtype,
                         "input_tokens": int(rng.choice([200, 1000, 2000, 4000])),
                         "output_tokens": int(rng.choice([100, 250, 500])), "tpot_s": float(rng.choice([0.03, 0.05, 0.1])),
                         "runtimes": rts, "tokens_per_s": float(tokens[i]) if tokens is not None else 1000.0})
    fleet = [{"offering": o, "units": int(rng.integers(1, 33))} for o in ids]
    return {"name": "bench-200x150", "description": "200 services on 150 pools (benchmark; synthetic regions)",
            "horizon": {"start": "2026-01", "months": 3},
            "catalog": {"sources": {"bench": {"ref": "benchmark: real instance types and catalog prices in "
                                              "synthetic regions", "status": "estimate", "as_of": "2026-11-01"}},
                        "regions": [{"id": f"bench-{k:02d}", "provider": prov}
                                    for prov in sorted({t[0] for t in TYPES}) for k in range(regions)],
                        "offerings": offerings},
            "offerings": {"include": [{"offering": ids}]},
            "workloads": {"services": services},
            "tenants": [{"id": "premium", "customers": 120, "share": 0.25, "survive": 0.9},
                        {"id": "business", "customers": 5000, "share": 0.75, "survive": 0.0}],
            "fleet": fleet, "risk": {"share_measure": "chips", "auto_failures": []}}


def build(load: float = 0.6, seed: int = 0) -> str:
    """Two passes: rates from a placeholder, then demand at `load` of each service's reachable capacity."""
    from polyfleet.scenario import load_scenario
    doc = scenario(seed=seed)
    scn = load_scenario(doc)
    table = scn.rate_table()
    chips = {e.offering: e.units * 8 for e in scn.fleet}
    cat = scn.context().catalog
    cols = [table.o(e.offering) for e in scn.fleet]
    held = np.array([e.units * cat.offerings[e.offering].unit_chips for e in scn.fleet], dtype=float)
    del chips
    alone = (table.rate[:, cols] * held[None, :] / 3600.0).sum(axis=1)   # tokens/s on every chip it can use
    rng = np.random.default_rng(seed + 1)
    share = rng.lognormal(0.0, 1.0, len(alone))
    tokens = load * alone * share / share.sum()
    return yaml.safe_dump(scenario(seed=seed, tokens=np.maximum(tokens, 1.0)), sort_keys=False)


if __name__ == "__main__":
    sys.stdout.write(build())
