"""Data for inference placement: pools, fleet, demand, options, and the solver-ready arrays.

Everything here is plain data. `Instance` turns a (rate table, fleet, demand, previous
placement) into aligned numpy arrays over services x pools, the only thing the solvers read:

    cap[s, p]    output tokens/s one replica of service s serves on pool p at its SLO
                 (= rate per chip-hour x chips per replica / 3600)
    chips[s, p]  chips one replica takes on p;  cost[s, p] = chips x the pool's USD per chip-hour
    ok[s, p]     the rate table says feasible, the rate is > 0 and the pool's price is known
    prev[s, p]   replicas of the previous placement (0 without one)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..catalog import TERMS
from ..errors import UnknownNameError, UserError
from ..perf.ratetable import RateTable

SECONDS_PER_HOUR = 3600.0
METHODS = ("lp", "milp", "greedy")
PRIORITIES = ("weighted", "sequential")


@dataclass(frozen=True)
class Pool:
    """One offering's capacity held in one region, as it stands now.

    offering: a column of the rate table (offerings are per provider and region).
    chips: chips available now. usd_per_chip_hour: what this pool is billed at; None takes the
    rate table's price for `term` (an unknown price is an error, never a guess).
    """

    id: str
    offering: str
    chips: int
    usd_per_chip_hour: float | None = None
    term: str = "on_demand"

    def __post_init__(self) -> None:
        if int(self.chips) != self.chips or self.chips < 0:
            raise UserError(f"pool '{self.id}': chips must be a whole number >= 0, got {self.chips}", field="chips")
        if self.usd_per_chip_hour is not None and not (np.isfinite(self.usd_per_chip_hour)
                                                       and self.usd_per_chip_hour >= 0):
            raise UserError(f"pool '{self.id}': usd_per_chip_hour must be finite and >= 0", field="usd_per_chip_hour")
        if self.term not in TERMS:
            raise UserError(f"pool '{self.id}': unknown term '{self.term}'", field="term", allowed=", ".join(TERMS))


@dataclass(frozen=True)
class Fleet:
    """The pools placement may use. Pool order is the column order of every result array."""

    pools: tuple[Pool, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "pools", tuple(self.pools))
        ids = [p.id for p in self.pools]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise UserError(f"pool id '{dup}' is used twice", field="pools")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.pools)

    def index(self, pool: str) -> int:
        try:
            return self.ids.index(pool)
        except ValueError:
            raise UnknownNameError("pool", pool, self.ids) from None

    def with_chips(self, chips: Mapping[str, int]) -> "Fleet":
        """A copy where the named pools hold the given chips (0 = lost). Pools keep their order."""
        for name in chips:
            self.index(name)
        return Fleet(tuple(Pool(p.id, p.offering, int(chips.get(p.id, p.chips)), p.usd_per_chip_hour, p.term)
                           for p in self.pools))


@dataclass(frozen=True)
class Demand:
    """Output tokens/s to serve per service (a rate-table workload) and tier.

    tiers: highest priority first. tokens_per_s[s, k]: traffic of tier k for service s.
    """

    services: tuple[str, ...]
    tiers: tuple[str, ...]
    tokens_per_s: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", tuple(self.services))
        object.__setattr__(self, "tiers", tuple(self.tiers))
        d = np.asarray(self.tokens_per_s, dtype=float)
        if d.shape != (len(self.services), len(self.tiers)):
            raise UserError(f"tokens_per_s has shape {d.shape}, expected (services, tiers) = "
                            f"({len(self.services)}, {len(self.tiers)})", field="tokens_per_s")
        if not np.all(np.isfinite(d)) or np.any(d < 0):
            raise UserError("tokens_per_s must be finite and >= 0", field="tokens_per_s")
        for what, names in (("service", self.services), ("tier", self.tiers)):
            if len(set(names)) != len(names):
                raise UserError(f"a {what} is named twice", field=f"{what}s")
        if not self.tiers:
            raise UserError("at least one tier is needed", field="tiers")
        d.setflags(write=False)
        object.__setattr__(self, "tokens_per_s", d)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, float]], tiers: Sequence[str]) -> "Demand":
        """From (service, tier, tokens_per_s) rows; services in first-seen order, repeats add up."""
        tiers = tuple(tiers)
        services: dict[str, int] = {}
        cells: list[tuple[int, int, float]] = []
        for svc, tier, tps in rows:
            if tier not in tiers:
                raise UnknownNameError("tier", tier, tiers)
            cells.append((services.setdefault(svc, len(services)), tiers.index(tier), float(tps)))
        d = np.zeros((len(services), len(tiers)))
        for s, k, v in cells:
            if not np.isfinite(v) or v < 0:
                raise UserError(f"demand of {list(services)[s]}/{tiers[k]} must be finite and >= 0, got {v}",
                                field="tokens_per_s")
            d[s, k] += v
        return cls(tuple(services), tiers, d)


@dataclass(frozen=True)
class PlaceOptions:
    """How to place.

    method: "lp" (default: the MILP's LP relaxation, rounded and completed greedily, best of
    that and the greedy; deterministic, ~0.1 s at 200 services x 150 pools; the LP bound gives
    its optimality gap), "milp" (exact integer program; HiGHS needs seconds even on a few
    hundred cells to prove optimality, so it stops at `time_limit_s` and reports its gap),
    "greedy" (tier-ordered, cheapest cost per token, milliseconds).
    priority: "weighted" (one MILP, tier weights large enough to be lexicographic, see
    inference_milp) or "sequential" (one MILP per tier, then one for cost).
    A started replica costs `cold_start_s` of its chips' price (it is paid for but not yet
    serving) plus `usd_per_start`; the objective spreads that one-off cost over `horizon_hours`.
    Moves are only charged when a previous placement is given.
    tier_slack: share of each tier's value-weighted demand that may be left unserved beyond the
    best possible, to save cost or moves (0 = strictly lexicographic).
    min_routing_share: a service's replicas on a pool that would carry less than this share of
    its traffic, and that it does not need to serve all its demand, are not placed (rounding noise;
    default 0.1%). Slivers it needs stay. Under deep shortage the
    value-optimal mix of services can differ a lot from the running one; a slack of 0.01 roughly
    halves the moves there. Tier order itself (no higher tier short while capacity it could use
    holds a lower tier) holds regardless.
    """

    method: str = "lp"
    priority: str = "weighted"
    cold_start_s: float = 600.0
    usd_per_start: float = 0.0
    horizon_hours: float = 1.0
    time_limit_s: float = 10.0
    mip_rel_gap: float = 1e-4
    tier_slack: float = 0.0
    min_routing_share: float = 1e-3

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UserError(f"unknown method '{self.method}'", field="method", allowed=", ".join(METHODS))
        if self.priority not in PRIORITIES:
            raise UserError(f"unknown priority '{self.priority}'", field="priority", allowed=", ".join(PRIORITIES))
        for name in ("cold_start_s", "usd_per_start", "time_limit_s", "mip_rel_gap", "tier_slack",
                     "min_routing_share"):
            if not getattr(self, name) >= 0:
                raise UserError(f"{name} must be >= 0", field=name)
        if not self.horizon_hours > 0:
            raise UserError("horizon_hours must be > 0", field="horizon_hours")


@dataclass(frozen=True)
class Instance:
    """Solver-ready arrays over services (axis 0) x pools (axis 1); see the module docstring."""

    services: tuple[str, ...]
    tiers: tuple[str, ...]
    pools: tuple[str, ...]
    demand: np.ndarray          # [s, k] tokens/s
    pool_chips: np.ndarray      # [p] int
    price: np.ndarray           # [p] USD per chip-hour
    chips: np.ndarray           # [s, p] int, chips per replica
    cap: np.ndarray             # [s, p] tokens/s per replica (0 where not ok)
    cost: np.ndarray            # [s, p] USD per replica-hour
    start_usd: np.ndarray       # [s, p] one-off USD per started replica
    ok: np.ndarray              # [s, p] bool
    prev: np.ndarray            # [s, p] int
    has_prev: bool
    prev_elsewhere: tuple[tuple[str, str, int], ...] = field(default=())  # previous replicas off these axes
    horizon: float = 1.0        # hours a start's one-off cost is spread over

    @property
    def start_penalty(self) -> np.ndarray:
        """[s, p] USD per hour the objective charges a started replica (0 without a previous placement)."""
        return self.start_usd * (1.0 / self.horizon) if self.has_prev else np.zeros_like(self.cost)

    def fits(self) -> np.ndarray:
        """[s, p] replicas of s that pool p could hold if it held nothing else."""
        with np.errstate(divide="ignore"):
            n = np.where(self.ok, self.pool_chips[None, :] // np.maximum(self.chips, 1), 0)
        return n.astype(np.int64)


def build_instance(rates: RateTable, fleet: Fleet, demand: Demand, options: PlaceOptions,
                   previous: "np.ndarray | Mapping[tuple[str, str], int] | None" = None) -> Instance:
    """Align rate table, fleet, demand and a previous placement into solver arrays."""
    wi = np.array([rates.w(s) for s in demand.services], dtype=int)
    for s, w in zip(demand.services, wi):
        if rates.kinds[w] != "inference":
            raise UserError(f"workload '{s}' is a {rates.kinds[w]} workload, not an inference service",
                            field="demand.services")
    oi = np.array([rates.o(p.offering) for p in fleet.pools], dtype=int)
    price = np.empty(len(fleet.pools))
    for j, (p, o) in enumerate(zip(fleet.pools, oi)):
        price[j] = p.usd_per_chip_hour if p.usd_per_chip_hour is not None else rates.price(p.term)[o]
        if not np.isfinite(price[j]):
            raise UserError(f"pool '{p.id}': offering {p.offering} has no known {p.term} price; "
                            "give the pool's usd_per_chip_hour", field="usd_per_chip_hour")
    S, P = len(wi), len(oi)
    rate = rates.rate[np.ix_(wi, oi)] if S and P else np.zeros((S, P))
    chips = (rates.chips_per_unit[np.ix_(wi, oi)] if S and P else np.zeros((S, P))).astype(np.int64)
    feas = rates.feasible[np.ix_(wi, oi)] if S and P else np.zeros((S, P), dtype=bool)
    ok = feas & (rate > 0) & (chips > 0)
    cap = np.where(ok, rate * chips / SECONDS_PER_HOUR, 0.0)
    cost = chips * price[None, :]
    start_usd = cost * (options.cold_start_s / SECONDS_PER_HOUR) + options.usd_per_start
    prev, elsewhere = _align_previous(previous, demand.services, fleet.ids)
    if np.any(prev[~ok] > 0):
        s, p = np.argwhere((prev > 0) & ~ok)[0]
        raise UserError(f"the previous placement runs {demand.services[s]} on pool {fleet.ids[p]}, "
                        "which the rate table calls infeasible", field="previous")
    return Instance(services=demand.services, tiers=demand.tiers, pools=fleet.ids,
                    demand=np.asarray(demand.tokens_per_s),
                    pool_chips=np.array([p.chips for p in fleet.pools], dtype=np.int64), price=price,
                    chips=chips, cap=cap, cost=cost, start_usd=start_usd, ok=ok, prev=prev,
                    has_prev=previous is not None, prev_elsewhere=elsewhere, horizon=options.horizon_hours)


def _align_previous(previous, services: tuple[str, ...], pools: tuple[str, ...]
                    ) -> tuple[np.ndarray, tuple[tuple[str, str, int], ...]]:
    """Previous replicas on the current axes, plus those on services/pools no longer present."""
    prev = np.zeros((len(services), len(pools)), dtype=np.int64)
    if previous is None:
        return prev, ()
    if isinstance(previous, Mapping):
        cells = previous.items()
    else:
        arr = np.asarray(previous)
        if arr.shape != prev.shape:
            raise UserError(f"previous replicas have shape {arr.shape}, expected {prev.shape}", field="previous")
        cells = (((services[s], pools[p]), arr[s, p]) for s, p in zip(*np.nonzero(arr)))
    s_ix = {s: i for i, s in enumerate(services)}
    p_ix = {p: i for i, p in enumerate(pools)}
    elsewhere = []
    for (svc, pool), n in cells:
        if int(n) != n or n < 0:
            raise UserError(f"previous replicas of {svc} on {pool} must be a whole number >= 0", field="previous")
        if n == 0:
            continue
        if svc in s_ix and pool in p_ix:
            prev[s_ix[svc], p_ix[pool]] += int(n)
        else:
            elsewhere.append((svc, pool, int(n)))
    return prev, tuple(sorted(elsewhere))
