"""Plan inputs: a scenario and its rate table reduced to labelled numpy arrays.

Everything the MILP builder reads is here, in plain arrays (axes: O offerings, K terms,
T months, W workloads, C priority classes), so tests and benchmarks can build inputs
directly and strategies (single vendor, frontier sweeps) are cheap copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..catalog import FAMILIES, TERMS
from ..errors import UserError
from ..scenario.resolve import OfferingFacts
from .contract_terms import ContractTerms, restrict_contracts

OD, SPOT, C1, C3 = range(4)                     # positions in catalog.TERMS
TERM_MONTHS = np.array([1, 1, 12, 36])          # a unit bought at t is held for this many months
TERM_LABEL = {"on_demand": "on-demand", "spot": "spot", "commit_1y": "1y commitment", "commit_3y": "3y commitment"}


@dataclass(frozen=True)
class SupplyLimit:
    """Chips held by matched offerings (counting `terms`) at most `max_chips[t]`, rising by at most `ramp[t]`."""
    name: str
    mask: np.ndarray                      # [O]
    terms: np.ndarray                     # [K] bool
    max_chips: np.ndarray | None = None   # [T]
    ramp: np.ndarray | None = None        # [T]


@dataclass(frozen=True)
class PowerLimit:
    name: str
    mask: np.ndarray                      # [O]
    mw: np.ndarray                        # [T] facility MW


@dataclass(frozen=True)
class Site:
    """A site's facility MW (`mw[t]` once energised) for the offerings it matches. Energised from month
    `first` (a site under way; < 0: before the horizon) or, when `lead` is set, `lead` months after the
    month the plan orders it (then it costs `usd_per_mw_month` per energised MW-month)."""
    name: str
    mask: np.ndarray                      # [O]
    mw: np.ndarray                        # [T]
    first: int | None = None
    lead: int | None = None
    usd_per_mw_month: float = 0.0
    source: str = ""

    def energised(self, T: int) -> np.ndarray:  # noqa: N803
        """[T] bool: months a site under way holds chips (all False for one the plan may order)."""
        return np.arange(T) >= self.first if self.first is not None else np.zeros(T, bool)


@dataclass(frozen=True)
class Cap:
    """Share of capacity (share_coef-weighted units held) of one group at most `share`, from `first` on."""
    dimension: str
    group: str
    mask: np.ndarray
    share: float
    first: int = 0


@dataclass(frozen=True)
class Contingency:
    """A failure set: offering o keeps keep[o] of its capacity; delayed offerings keep only what they
    held `delay` months earlier (new supply stops)."""
    id: str
    label: str
    kind: str
    keep: np.ndarray                      # [O] 1 = unaffected
    delayed: np.ndarray                   # [O] bool
    delay: int = 0

    @property
    def affected(self) -> np.ndarray:
        return (self.keep < 1) | self.delayed


@dataclass(frozen=True)
class CvarCase:
    id: str
    probability: float
    contingency: Contingency


@dataclass(frozen=True)
class Cluster:
    """A training cluster: sites `mask` [O] (one chip type, one provider) carrying a job of at most
    `max_chips`; `goodput` is its runs' default share of chip-hours that makes progress (None: the default)."""
    id: str
    mask: np.ndarray                      # [O]
    max_chips: float = np.inf
    goodput: float | None = None
    note: str = ""


@dataclass(frozen=True)
class PlanInputs:
    """The arrays of one planning problem. Build with `from_scenario()` or directly."""

    name: str
    months: tuple[str, ...]
    hours: float
    facts: OfferingFacts                   # offerings axis with vendor/family/provider/region
    unit_chips: np.ndarray                 # [O]
    price: np.ndarray                      # [O, K] USD per chip-hour, NaN = term not available
    mw_per_chip: np.ndarray                # [O] facility MW per chip (IT watts x PUE), NaN = unknown
    spot_avail: np.ndarray                 # [O] share of a spot chip that counts as firm
    unit_ub: np.ndarray                    # [O, K, T] most units held (od/spot) or started (commitments)
    workloads: tuple[str, ...]
    kinds: tuple[str, ...]
    rate: np.ndarray                       # [W, O] tokens per chip-hour, 0 = infeasible
    reasons: np.ndarray                    # [W, O] why infeasible
    demand: np.ndarray                     # [W, T] tokens per hour (0 for windowed runs)
    window_tokens: np.ndarray              # [W] tokens / hours_per_month for windowed runs, NaN otherwise
    window: np.ndarray                     # [W, T] bool: months a windowed run may use
    classes: tuple[str, ...]
    class_share: np.ndarray                # [W, C]
    required: np.ndarray                   # [C] share that must survive each contingency
    loss_usd_per_mtok: np.ndarray          # [C]
    port_cost: np.ndarray                  # [W, families] one-time USD to run w on a family
    fleet_commit: np.ndarray               # [O, K, T] units active from commitments made before the horizon
    fleet_initial: np.ndarray              # [O, K] units held just before the horizon
    fleet_cost: np.ndarray                 # [O, T] USD of those commitments per month (sunk)
    supply: tuple[SupplyLimit, ...] = ()
    power: tuple[PowerLimit, ...] = ()
    budget: np.ndarray | None = None       # [T] USD
    caps: tuple[Cap, ...] = ()
    share_coef: np.ndarray | None = None   # [O] per chip: MW (share_measure power) or 1 (chips)
    share_measure: str = "chips"
    commitment_tail: str = "prorated"
    contingencies: tuple[Contingency, ...] = ()
    cvar_cases: tuple[CvarCase, ...] = ()
    cvar_alpha: float = 0.9
    cvar_weight: float = 0.0
    sunk_cost: np.ndarray | None = None    # [T] USD paid regardless (commitments on offerings left out)
    assumptions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
    sites: tuple[Site, ...] = ()
    class_share_t: np.ndarray | None = None   # [W, C, T] the shares month by month (None: class_share every month)
    contracts: tuple[ContractTerms, ...] = ()   # capacity deals (contract_terms.py, block in contracts.py)
    terminal_value_share: float = 0.5          # commitment_tail terminal_value: a post-horizon month's worth
    clusters: tuple[Cluster, ...] | None = None    # None: one per (accelerator, provider, region)
    run_clusters: tuple[tuple[str, ...] | None, ...] | None = None   # [W] cluster ids a run may use (None: any)
    goodput: np.ndarray | None = None      # [W] a run's goodput, NaN = its cluster's or the default
    peak_factor: np.ndarray | None = None  # [W] what each service's capacity is sized for (1 = no idle share)
    off_peak: np.ndarray | None = None     # [W] bool: a steady flow that may use inference chips idle off-peak
    off_peak_goodput: np.ndarray | None = None   # [W] share of off-peak chip-hours that makes progress

    # ---- shapes -----------------------------------------------------------------------
    @property
    def O(self) -> int:  # noqa: N802 - axis sizes read as in the maths
        return len(self.facts)

    @property
    def T(self) -> int:  # noqa: N802
        return len(self.months)

    @property
    def W(self) -> int:  # noqa: N802
        return len(self.workloads)

    @property
    def offerings(self) -> tuple[str, ...]:
        return self.facts.ids

    @property
    def family_index(self) -> np.ndarray:
        return np.array([FAMILIES.index(f) for f in self.facts.family], dtype=int)

    def required_w(self) -> np.ndarray:
        """[W] share of each workload's demand that must survive a contingency (classes aggregated:
        tiers of one service share its replicas, so the sum is exact)."""
        return np.clip(self.class_share @ self.required, 0.0, 1.0)

    def shares_t(self) -> np.ndarray:
        """[W, C, T] each workload's share in each class, month by month."""
        if self.class_share_t is not None:
            return self.class_share_t
        return np.broadcast_to(self.class_share[:, :, None], (*self.class_share.shape, self.T))

    def required_wt(self) -> np.ndarray:
        """[W, T] share of each workload's demand that must survive a contingency, month by month."""
        return np.clip(np.einsum("wct,c->wt", self.shares_t(), self.required), 0.0, 1.0)

    @property
    def windowed(self) -> np.ndarray:
        return np.isfinite(self.window_tokens)

    @property
    def sunk(self) -> np.ndarray:
        """[T] payments that no decision changes: commitments held on offerings outside this problem."""
        return self.sunk_cost if self.sunk_cost is not None else np.zeros(self.T)

    def cost_per_unit_month(self) -> np.ndarray:
        """[O, K] USD for one unit held one month (NaN where the term is not offered)."""
        return self.price * self.unit_chips[:, None] * self.hours

    # ---- derived problems -------------------------------------------------------------------
    def restrict(self, mask: np.ndarray, label: str) -> "PlanInputs":
        """The same problem over a subset of offerings (masks, contingencies and caps follow)."""
        idx = np.flatnonzero(mask)
        dropped = self.fleet_cost[~np.asarray(mask, bool)].sum(axis=0)
        sunk = dropped + (self.sunk_cost if self.sunk_cost is not None else 0.0)
        f = self.facts
        pick = lambda t: tuple(t[i] for i in idx)  # noqa: E731
        facts = OfferingFacts(ids=pick(f.ids), accelerator=pick(f.accelerator), vendor=pick(f.vendor),
                              family=pick(f.family), provider=pick(f.provider), region=pick(f.region))
        sup = tuple(replace(s, mask=s.mask[idx]) for s in self.supply if s.mask[idx].any())
        pw = tuple(replace(p, mask=p.mask[idx]) for p in self.power)
        sites = tuple(replace(s, mask=s.mask[idx]) for s in self.sites)
        caps = tuple(replace(c, mask=c.mask[idx]) for c in self.caps if c.mask[idx].any())
        cont = tuple(replace(c, keep=c.keep[idx], delayed=c.delayed[idx]) for c in self.contingencies
                     if ((c.keep[idx] < 1) | c.delayed[idx]).any())
        cv = tuple(replace(c, contingency=replace(c.contingency, keep=c.contingency.keep[idx],
                                                  delayed=c.contingency.delayed[idx])) for c in self.cvar_cases)
        cls = None if self.clusters is None else tuple(
            replace(c, mask=c.mask[idx]) for c in self.clusters if c.mask[idx].any())
        contracts, owed = restrict_contracts(self.contracts, idx, self.T, self.hours)
        sunk = sunk + owed
        return replace(self, name=label, facts=facts, clusters=cls, unit_chips=self.unit_chips[idx],
                       price=self.price[idx],
                       mw_per_chip=self.mw_per_chip[idx], spot_avail=self.spot_avail[idx],
                       unit_ub=self.unit_ub[idx], rate=self.rate[:, idx], reasons=self.reasons[:, idx],
                       fleet_commit=self.fleet_commit[idx], fleet_initial=self.fleet_initial[idx],
                       fleet_cost=self.fleet_cost[idx],
                       supply=sup, power=pw, caps=caps, sites=sites,
                       share_coef=None if self.share_coef is None else self.share_coef[idx],
                       contingencies=cont, cvar_cases=cv, sunk_cost=sunk if sunk.any() else None,
                       contracts=contracts)

    def with_required(self, required: np.ndarray) -> "PlanInputs":
        return replace(self, required=np.asarray(required, dtype=float))

    def without_risk_policy(self) -> "PlanInputs":
        """No caps, no survivability requirement, no CVaR term: the least-cost plan."""
        return replace(self, caps=(), required=np.zeros_like(self.required), cvar_weight=0.0)

    def check(self) -> None:
        """Shape checks (for inputs built by hand)."""
        O, K, T, W = self.O, len(TERMS), self.T, self.W
        shapes = {"unit_chips": (O,), "price": (O, K), "mw_per_chip": (O,), "spot_avail": (O,),
                  "unit_ub": (O, K, T), "rate": (W, O), "demand": (W, T), "window_tokens": (W,),
                  "window": (W, T), "class_share": (W, len(self.classes)), "required": (len(self.classes),),
                  "fleet_commit": (O, K, T), "fleet_initial": (O, K), "fleet_cost": (O, T)}
        for name, shape in shapes.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise UserError(f"shape {got}, expected {shape}", field=f"PlanInputs.{name}")
        if self.class_share_t is not None and np.shape(self.class_share_t) != (W, len(self.classes), T):
            raise UserError(f"shape {np.shape(self.class_share_t)}, expected {(W, len(self.classes), T)}",
                            field="PlanInputs.class_share_t")
        for name in ("goodput", "peak_factor", "off_peak", "off_peak_goodput"):
            got = None if getattr(self, name) is None else np.shape(getattr(self, name))
            if got is not None and got != (W,):
                raise UserError(f"shape {got}, expected {(W,)}", field=f"PlanInputs.{name}")
        if self.clusters is not None and any(np.shape(c.mask) != (O,) for c in self.clusters):
            raise UserError(f"every cluster mask must have shape {(O,)}", field="PlanInputs.clusters")
        if self.run_clusters is not None and len(self.run_clusters) != W:
            raise UserError(f"{len(self.run_clusters)} entries, expected {W}", field="PlanInputs.run_clusters")
        if np.any(self.rate < 0) or np.any(~np.isfinite(self.rate)):
            raise UserError("rates must be finite and >= 0", field="PlanInputs.rate")
        if np.any(self.demand < 0):
            raise UserError("demand must be >= 0", field="PlanInputs.demand")


def simple_inputs(*, offerings: list[dict], workloads: list[dict], months: int = 1, hours: float = 730.0,
                  classes: dict[str, float] | None = None, **kw) -> PlanInputs:
    """Inputs from plain dicts, for tests and examples that need numbers derivable by hand.

    offering: {id, vendor, family, provider, region, accelerator, unit_chips, on_demand, spot, commit_1y,
    commit_3y, mw_per_chip, max_units}; workload: {id, demand (tokens/hour, number or list), rates
    {offering: tokens per chip-hour}, classes {class: share}}.
    """
    O, T = len(offerings), months
    g = lambda k, d=None: tuple(str(o.get(k, d)) for o in offerings)  # noqa: E731
    facts = OfferingFacts(ids=g("id"), accelerator=tuple(o.get("accelerator", o["id"]) for o in offerings),
                          vendor=g("vendor", "v"), family=g("family", "gpu"), provider=g("provider", "p"),
                          region=tuple(f"{o.get('provider', 'p')}/{o.get('region', 'r')}" for o in offerings))
    price = np.array([[o.get(t, np.nan) if o.get(t) is not None else np.nan for t in TERMS] for o in offerings],
                     dtype=float)
    ub = np.full((O, len(TERMS), T), np.inf)
    for i, o in enumerate(offerings):
        if "max_units" in o:
            ub[i] = o["max_units"]
    ub[np.isnan(price)] = 0.0
    cls = classes or {"standard": 0.0}
    names = tuple(cls)
    W = len(workloads)
    share = np.zeros((W, len(names)))
    rate = np.zeros((W, O))
    demand = np.zeros((W, T))
    for w, wl in enumerate(workloads):
        for c, s in (wl.get("classes") or {names[0]: 1.0}).items():
            share[w, names.index(c)] = s
        for oid, r in wl["rates"].items():
            rate[w, facts.ids.index(oid)] = r
        demand[w] = np.broadcast_to(np.asarray(wl["demand"], dtype=float), (T,))
    inputs = PlanInputs(
        name=kw.pop("name", "hand-made"), months=tuple(f"m{t + 1}" for t in range(T)), hours=hours, facts=facts,
        unit_chips=np.array([o.get("unit_chips", 1) for o in offerings], dtype=int), price=price,
        mw_per_chip=np.array([o.get("mw_per_chip", np.nan) for o in offerings], dtype=float),
        spot_avail=np.array([o.get("spot_avail", 1.0) for o in offerings], dtype=float), unit_ub=ub,
        workloads=tuple(w["id"] for w in workloads), kinds=("inference",) * W, rate=rate,
        reasons=np.full((W, O), "", dtype=object), demand=demand, window_tokens=np.full(W, np.nan),
        window=np.ones((W, T), dtype=bool), classes=names, class_share=share,
        required=np.array([cls[c] for c in names], dtype=float),
        loss_usd_per_mtok=np.full(len(names), 10.0), port_cost=np.zeros((W, len(FAMILIES))),
        fleet_commit=np.zeros((O, len(TERMS), T)), fleet_initial=np.zeros((O, len(TERMS))),
        fleet_cost=np.zeros((O, T)), **kw)
    inputs.check()
    return inputs
