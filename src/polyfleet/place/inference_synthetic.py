"""Seeded synthetic inference-placement instances, for tests and benchmarks.

Twelve accelerator types from three vendors with realistic spreads (rate per chip-hour,
chips per replica, USD per chip-hour); each service runs on a random subset of them
(portability), and each pool is one offering with a random chip count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..catalog import TERMS
from ..perf.ratetable import RateTable
from .inference_model import Demand, Fleet, Pool

_ACCS = (  # name, vendor, family, relative rate per chip, USD per chip-hour
    ("h100", "nvidia", "gpu", 1.0, 4.0), ("h200", "nvidia", "gpu", 1.3, 5.0),
    ("b200", "nvidia", "gpu", 2.1, 7.0), ("a100", "nvidia", "gpu", 0.5, 2.5),
    ("l4", "nvidia", "gpu", 0.12, 0.8), ("mi300x", "amd", "gpu", 1.2, 3.5),
    ("tpu-v5e", "google", "tpu", 0.3, 1.2), ("tpu-v5p", "google", "tpu", 0.7, 4.2),
    ("tpu-v6e", "google", "tpu", 0.6, 2.7), ("trn1", "aws", "trainium", 0.25, 1.3),
    ("trn2", "aws", "trainium", 0.7, 3.0), ("inf2", "aws", "trainium", 0.2, 1.0),
)


def table_from_arrays(services: Sequence[str], offerings: Sequence[str], tokens_per_chip_hour: np.ndarray,
                      chips_per_replica: np.ndarray | int, usd_per_chip_hour: Sequence[float],
                      accelerators: Sequence[str] | None = None) -> RateTable:
    """A RateTable from plain arrays (services x offerings; a rate of 0 = infeasible), on-demand prices only."""
    S, O = len(services), len(offerings)
    rate = np.asarray(tokens_per_chip_hour, dtype=float).reshape(S, O)
    chips = np.broadcast_to(np.asarray(chips_per_replica, dtype=int), (S, O)).copy()
    feasible = rate > 0
    accs = tuple(accelerators) if accelerators is not None else tuple(o.split("/")[0] for o in offerings)
    vendor = {a[0]: a[1] for a in _ACCS}
    family = {a[0]: a[2] for a in _ACCS}
    prices = np.full((O, len(TERMS)), np.nan)
    prices[:, 0] = np.asarray(usd_per_chip_hour, dtype=float)
    return RateTable(
        workloads=tuple(services), kinds=("inference",) * S, offerings=tuple(offerings), accelerator=accs,
        vendor=tuple(vendor.get(a, "unknown") for a in accs), family=tuple(family.get(a, "unknown") for a in accs),
        provider=tuple(vendor.get(a, "unknown") for a in accs),
        region=tuple(o.split("/")[1] if o.count("/") >= 1 else "" for o in offerings), unit_chips=np.full(O, 8),
        rate=rate, feasible=feasible, reason=np.where(feasible, "", "no runtime").astype(object),
        chips_per_unit=chips, usd_per_chip_hour=prices, watts_per_chip=np.full(O, 700.0),
        measured=np.zeros((S, O), dtype=bool), watts_assumed=np.zeros(O, dtype=bool))


def random_instance(n_services: int, n_pools: int, seed: int = 0, *, n_tiers: int = 3, portability: float = 0.6,
                    load: float = 0.6, pool_chips: tuple[int, int] = (8, 256)
                    ) -> tuple[RateTable, Fleet, Demand]:
    """A rate table (services x one offering per pool), a fleet and a demand.

    load: sum over services of demand / (tokens/s the service would make on every chip it can
    run on). Services pick their best pools, so at 200 x 150 everything is placeable up to a
    load of about 1.5; at 2 some demand goes unserved.
    """
    rng = np.random.default_rng(seed)
    acc = rng.integers(0, len(_ACCS), n_pools)
    names = [f"svc{i:03d}" for i in range(n_services)]
    offerings = [f"{_ACCS[a][0]}/region{rng.integers(0, 12):02d}/o{j:03d}" for j, a in enumerate(acc)]
    size = rng.choice([1.0, 2.0, 8.0, 70.0], n_services, p=[0.4, 0.2, 0.25, 0.15])  # model scale
    base = 2.5e6 / size  # tokens per chip-hour on an H100
    rel = np.array([_ACCS[a][3] for a in acc])
    noise = rng.lognormal(0.0, 0.15, (n_services, n_pools))
    rate = base[:, None] * rel[None, :] * noise
    runs_on = rng.random((n_services, len(_ACCS))) < portability
    runs_on[np.arange(n_services), rng.integers(0, len(_ACCS), n_services)] = True
    feasible = runs_on[:, acc]
    chips_needed = np.where(size >= 70, 8, np.where(size >= 8, 2, 1))
    chips = np.repeat(chips_needed[:, None], n_pools, axis=1) * np.where(rel < 0.4, 2, 1)[None, :]
    rate = np.where(feasible, rate, 0.0)
    price = np.array([_ACCS[a][4] for a in acc]) * rng.uniform(0.8, 1.3, n_pools)
    table = table_from_arrays(names, offerings, rate, chips, price, [_ACCS[a][0] for a in acc])
    pools = rng.integers(pool_chips[0] // 8, pool_chips[1] // 8 + 1, n_pools) * 8
    fleet = Fleet(tuple(Pool(f"pool{j:03d}", offerings[j], int(pools[j])) for j in range(n_pools)))
    # demand: service s gets a lognormal share of `load` x (the tokens/s it would make on every
    # chip it can run on), so that sum_s demand_s / that = load: a rough share of the fleet's chips
    alone = (pools[None, :] * rate / 3600.0).sum(axis=1)
    share = rng.lognormal(0.0, 1.0, n_services)
    total = load * alone * share / share.sum()
    split = rng.dirichlet(np.ones(n_tiers), n_services)
    tiers = tuple(["premium", "standard", "batch", "spot", "free"][:n_tiers] if n_tiers <= 5
                  else [f"tier{k}" for k in range(n_tiers)])
    return table, fleet, Demand(tuple(names), tiers, total[:, None] * split)
