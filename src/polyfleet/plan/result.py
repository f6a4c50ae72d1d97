"""The typed result of a plan: what to hold, month by month, what it costs, what limits it, what survives.

Arrays keep the model's axes (O offerings, K terms, T months, W workloads); `month_rows()`,
`offering_rows()` and `to_dict()` turn them into the tables and JSON the faces print.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..catalog import FAMILIES
from ..solvers import band
from .binding import Binding
from .contract_terms import accounting_label
from .contracts import contract_units
from .blocks import PlanMilp
from .clusters import read_runs
from .diagnose import Diagnosis
from .evaluate import Survivability
from . import sites
from .inputs import C1, C3, TERM_MONTHS, TERMS, PlanInputs
from .lockin import lock_in
from .schedule import owed_after_by_vendor, procurement_rows
from .solve import Solution


@dataclass
class PlanResult:
    inputs: PlanInputs
    solution: Solution
    build_seconds: float
    size: dict
    units: np.ndarray | None = None            # [O, K, T] units held by term (commitments: active)
    starts: np.ndarray | None = None           # [O, K, T] units bought / commitments started that month
    cost: np.ndarray | None = None             # [O, K, T] USD paid that month
    served: np.ndarray | None = None           # [W, T] tokens/h served
    by_family: np.ndarray | None = None        # [W, families, T] chips allocated
    allocation: np.ndarray | None = None       # [W, O, T] chips allocated per offering
    porting_usd: float = 0.0
    obligation_after_usd: float = 0.0          # commitment payments falling after the horizon
    survivability: Survivability | None = None
    binding: list[Binding] = field(default_factory=list)
    diagnosis: Diagnosis | None = None
    relaxation_status: str | None = None
    sites: list[dict] = field(default_factory=list)   # per power site: energised when, MW, MW drawn
    site_cost: np.ndarray | None = None        # [T] USD the sites cost (under way and ordered)
    paths: dict | None = None                  # two-stage plan over demand paths (plan/stochastic.py)
    contracts: list[dict] = field(default_factory=list)   # per contract (contract_result.read_contracts)
    contract_cost: np.ndarray | None = None    # [T] USD paid for contracts each month (fees included)
    contract_chips: np.ndarray | None = None   # [O, T] chips held through contracts (in `chips` too)
    clusters: list[dict] = field(default_factory=list)   # one record per windowed run: its cluster and chips
    off_peak_chips: np.ndarray | None = None   # [W, T] inference chips idle off-peak used by off-peak training
    off_peak_served: np.ndarray | None = None  # [W, T] tokens/h of `served` trained on them

    # ---- status ---------------------------------------------------------------------------
    @property
    def feasible(self) -> bool:
        return self.units is not None

    @property
    def status_line(self) -> str:
        s = self.solution
        if not self.feasible:
            return f"HiGHS status: {s.status} - no plan" + (" (see the conflicts below)" if self.diagnosis else "")
        gap = f"{s.mip_gap:.3%}" if s.mip_gap is not None else "-"
        word = "optimal within the gap" if s.optimal else "NOT proven optimal"
        return (f"HiGHS status: {s.status} ({word}); MIP gap {gap}; objective ${s.objective:,.0f} "
                f"({self.inputs.commitment_tail} accounting); "
                f"build {self.build_seconds:.2f} s, solve {s.solve_seconds:.2f} s")

    # ---- derived arrays ---------------------------------------------------------------------------
    @property
    def chips(self) -> np.ndarray:
        """[O, T] chips held (all terms)."""
        if not self.feasible:
            return np.zeros(0)
        own = self.units.sum(axis=1) * self.inputs.unit_chips[:, None]
        return own + self.contract_chips if self.contract_chips is not None else own

    @property
    def firm_chips(self) -> np.ndarray:
        inp = self.inputs
        avail = np.ones(len(TERMS))[None, :].repeat(inp.O, 0)
        avail[:, 1] = inp.spot_avail
        firm = (self.units * avail[:, :, None]).sum(axis=1) * inp.unit_chips[:, None]
        return firm + self.contract_chips if self.contract_chips is not None else firm

    @property
    def mw(self) -> np.ndarray:
        """[O, T] facility MW (NaN where the chip's power is unknown)."""
        return self.chips * self.inputs.mw_per_chip[:, None]

    @property
    def month_cost(self) -> np.ndarray:
        """[T] USD paid each month, sunk commitments outside the planned offerings included."""
        sites = self.site_cost if self.site_cost is not None else 0.0
        deals = self.contract_cost if self.contract_cost is not None else 0.0
        return self.cost.sum(axis=(0, 1)) + self.inputs.sunk + sites + deals

    @property
    def accounting(self) -> str:
        """How the objective counts payments after the horizon, in words."""
        return accounting_label(self.inputs.commitment_tail, self.inputs.terminal_value_share)

    @property
    def total_cost(self) -> float:
        """Everything paid inside the horizon, porting included."""
        return float(self.month_cost.sum() + self.porting_usd)

    def group_totals(self, dim: str, what: str = "chips") -> tuple[list[str], np.ndarray]:
        """Groups of a dimension (vendor, provider, family, region, accelerator) and their [G, T] totals."""
        vals = self.inputs.facts.values(dim)
        groups = sorted(set(vals))
        src = {"chips": self.chips, "mw": np.nan_to_num(self.mw), "cost": self.cost.sum(axis=1)}[what]
        out = np.stack([src[[v == g for v in vals]].sum(axis=0) for g in groups])
        return groups, out

    def shares(self, dim: str) -> tuple[list[str], np.ndarray]:
        """[G, T] share of capacity per group, in the scenario's share measure (MW or chips)."""
        groups, tot = self.group_totals(dim, "mw" if self.inputs.share_measure == "power" else "chips")
        denom = tot.sum(axis=0)
        return groups, np.divide(tot, denom, out=np.zeros_like(tot), where=denom > 0)

    # ---- tables ------------------------------------------------------------------------------------
    def month_rows(self) -> list[dict]:
        """One row per month: chips per family, MW, cost, largest vendor/provider share."""
        if not self.feasible:
            return []
        inp = self.inputs
        fams, fam_chips = self.group_totals("family")
        vend, vshare = self.shares("vendor")
        prov, pshare = self.shares("provider")
        mw = np.nansum(self.mw, axis=0)
        rows = []
        for t, m in enumerate(inp.months):
            row = {"month": m}
            for f in FAMILIES:
                row[f"{f}_chips"] = float(fam_chips[fams.index(f), t]) if f in fams else 0.0
            row["chips"] = float(self.chips[:, t].sum())
            row["mw"] = float(mw[t])
            row["cost_usd"] = float(self.month_cost[t])
            for g, s in zip(vend, vshare[:, t]):
                row[f"share_vendor_{g}"] = float(s)
            for g, s in zip(prov, pshare[:, t]):
                row[f"share_provider_{g}"] = float(s)
            row["top_vendor"] = f"{vend[int(vshare[:, t].argmax())]} {vshare[:, t].max():.0%}"
            row["top_provider"] = f"{prov[int(pshare[:, t].argmax())]} {pshare[:, t].max():.0%}"
            rows.append(row)
        return rows

    def offering_rows(self, nonzero: bool = True) -> list[dict]:
        """Month x offering: units by term, chips, MW, cost (the plan itself)."""
        if not self.feasible:
            return []
        inp, f = self.inputs, self.inputs.facts
        chips, mw, cost = self.chips, self.mw, self.cost.sum(axis=1)
        rows = []
        for o, t in zip(*np.nonzero(chips > 0 if nonzero else np.ones_like(chips, bool))):
            row = {"month": inp.months[t], "offering": f.ids[o], "accelerator": f.accelerator[o],
                   "vendor": f.vendor[o], "family": f.family[o], "provider": f.provider[o], "region": f.region[o]}
            for k, term in enumerate(TERMS):
                row[f"{term}_units"] = int(round(self.units[o, k, t]))
            row["new_commit_1y_units"] = int(round(self.starts[o, C1, t]))
            row["new_commit_3y_units"] = int(round(self.starts[o, C3, t]))
            row["contract_chips"] = float(self.contract_chips[o, t]) if self.contract_chips is not None else 0.0
            c = float(chips[o, t])          # whole units are whole chips; contract chips may be fractional
            row["chips"] = int(round(c)) if abs(c - round(c)) < 1e-6 else round(c, 3)
            row["mw"] = None if np.isnan(mw[o, t]) else float(mw[o, t])
            row["cost_usd"] = float(cost[o, t])
            rows.append(row)
        return rows

    def mix_by_family(self, month: int = -1) -> dict[str, dict]:
        """Chips, MW and share of capacity per family in one month (default: the last)."""
        fams, chips = self.group_totals("family")
        _, mw = self.group_totals("family", "mw")
        tot_c, tot_m = chips[:, month].sum(), mw[:, month].sum()
        return {f: {"chips": float(chips[i, month]), "mw": float(mw[i, month]),
                    "chip_share": float(chips[i, month] / tot_c) if tot_c else 0.0,
                    "mw_share": float(mw[i, month] / tot_m) if tot_m else 0.0} for i, f in enumerate(fams)}

    def allocation_rows(self) -> list[dict]:
        """Chips of each offering serving each workload each month (nonzero only): the plan audited
        without solving it again."""
        inp = self.inputs
        w, o, t = np.nonzero(self.allocation > 1e-6)
        return [{"workload": inp.workloads[a], "offering": inp.offerings[b], "month": inp.months[c],
                 "chips": float(self.allocation[a, b, c])} for a, b, c in zip(w, o, t)]

    def tier_rows(self) -> list[dict]:
        """Per priority class (tiers first) and month: its share of inference demand, the tokens/s it
        asks at peak and its accounts where the scenario gives them (how the large accounts grow)."""
        inp = self.inputs
        inf = np.array([k == "inference" for k in inp.kinds])
        if not inf.any():
            return []
        tok = np.einsum("wct,wt->ct", inp.shares_t()[inf], inp.demand[inf]) / 3600          # [C, T]
        total = np.maximum(tok.sum(axis=0), 1e-12)
        customers = inp.extra.get("customers", {})
        return [{"tier": c, "month": m, "share": float(tok[i, t] / total[t]), "peak_tokens_per_s": float(tok[i, t]),
                 "customers": None if c not in customers else int(customers[c][t])}
                for i, c in enumerate(inp.classes) if tok[i].any() for t, m in enumerate(inp.months)]

    def to_dict(self) -> dict:
        inp = self.inputs
        doc: dict = {"scenario": inp.name, "months": list(inp.months), "solver": self.solution.summary(),
                     "build_seconds": self.build_seconds, "model_size": self.size,
                     "status_line": self.status_line, "feasible": self.feasible,
                     "assumptions": list(inp.assumptions), "notes": list(inp.notes)}
        if self.diagnosis is not None:
            doc["infeasibility"] = {"conflicts": [c.to_dict(inp.months) for c in self.diagnosis.conflicts],
                                    "limits_at_bound": self.diagnosis.limits,
                                    "to_serve_all_demand": [c.to_dict(inp.months) for c in self.diagnosis.remedies],
                                    "unservable": self.diagnosis.unservable, "explanation": self.diagnosis.lines()}
        if not self.feasible:
            return doc
        doc["totals"] = {"cost_usd": self.total_cost, "porting_usd": self.porting_usd,
                         "commitments_after_horizon_usd": self.obligation_after_usd,
                         "accounting": self.inputs.commitment_tail, "accounting_note": self.accounting,
                         "objective_usd": self.solution.objective,
                         "peak_chips": float(self.chips.sum(axis=0).max()),
                         "peak_mw": float(np.nansum(self.mw, axis=0).max()),
                         "mix_by_family_last_month": self.mix_by_family()}
        doc["months_summary"] = self.month_rows()
        doc["plan"] = self.offering_rows()
        doc["demand"] = [{"workload": w, "kind": inp.kinds[i], "month": m,
                          "demand_tokens_per_s": float(inp.demand[i, t] / 3600),
                          "served_tokens_per_s": float(self.served[i, t] / 3600)}
                         for i, w in enumerate(inp.workloads) for t, m in enumerate(inp.months)]
        doc["policy"] = {
            "caps": [{"dimension": c.dimension, "group": c.group, "max_share": c.share,
                      "from": inp.months[c.first] if c.first < inp.T else None} for c in inp.caps],
            "power_limits": [{"name": p.name, "offerings": [inp.offerings[i] for i in np.flatnonzero(p.mask)],
                              "mw": p.mw.tolist()} for p in inp.power],
            "supply_limits": [{"name": s.name, "offerings": [inp.offerings[i] for i in np.flatnonzero(s.mask)],
                               "terms": [t for t, on in zip(TERMS, s.terms) if on],
                               "max_chips": None if s.max_chips is None else s.max_chips.tolist(),
                               "max_new_chips_per_month": None if s.ramp is None else s.ramp.tolist()}
                              for s in inp.supply],
            "budget_usd": None if inp.budget is None else inp.budget.tolist(),
            "classes": {c: float(r) for c, r in zip(inp.classes, inp.required)},
            "share_measure": inp.share_measure}
        if self.sites:
            doc["sites"] = self.sites
        doc["tiers"] = self.tier_rows()
        doc["allocation"] = self.allocation_rows()
        doc["clusters"] = self.clusters
        if self.off_peak_chips is not None:
            doc["off_peak"] = [{"workload": w, "month": m, "chips": float(self.off_peak_chips[i, t])}
                               for i, w in enumerate(inp.workloads) if self.off_peak_chips[i].any()
                               for t, m in enumerate(inp.months)]
        doc["binding_constraints"] = [b.to_dict(inp.months) for b in self.binding]
        doc["lock_in"] = lock_in(inp, self.allocation).to_dict()
        doc["procurement"] = {"new_commitments": procurement_rows(self),
                              "owed_after_by_vendor": owed_after_by_vendor(self)}
        if self.paths is not None:
            doc["paths"] = self.paths
        if self.contracts:
            doc["contracts"] = self.contracts
        if self.survivability is not None:
            doc["survivability"] = {"classes": list(self.survivability.classes),
                                    "required": self.survivability.required.tolist(),
                                    "rows": self.survivability.rows(), "lp_status": self.survivability.status}
        return doc


def extract(inp: PlanInputs, model: PlanMilp, sol: Solution) -> dict:
    """Units, costs and allocation from a solved model (rounded to whole units)."""
    O, K, T = inp.O, len(TERMS), inp.T
    n = np.round(model.value("n", sol.x))                                  # [O, K, T]
    units = np.zeros((O, K, T))
    for k in range(K):
        tt, ss = band(T, TERM_MONTHS[k])
        np.add.at(units[:, k, :], (slice(None), tt), n[:, k, ss])
    units += inp.fleet_commit
    cpu = np.nan_to_num(inp.cost_per_unit_month(), nan=0.0)
    cost = (units - inp.fleet_commit) * cpu[:, :, None]
    fleet_share = inp.fleet_commit.sum(axis=1)
    fleet_cost = np.where(fleet_share > 0, inp.fleet_cost, 0.0)
    # fleet commitment payments, attributed to their term
    for k in (C1, C3):
        part = np.divide(inp.fleet_commit[:, k], fleet_share, out=np.zeros((O, T)), where=fleet_share > 0)
        cost[:, k] += fleet_cost * part
    after = 0.0
    for k in (C1, C3):
        L = TERM_MONTHS[k]
        tail = np.maximum(np.arange(T) + L - T, 0)                          # months past the horizon
        after += float((n[:, k, :] * cpu[:, k, None] * tail[None, :]).sum())
    pools = model.blocks.pools
    x = model.value("x", sol.x)                                              # [W, P, T]
    contract = contract_units(inp, model, sol.x) * inp.unit_chips[:, None]  # [O, T] chips (firm, committed)
    firm = (units.sum(axis=1) - units[:, 1] * (1.0 - inp.spot_avail[:, None])) * inp.unit_chips[:, None] + contract
    runs = read_runs(inp, model.blocks.clusters, model.value("z_cl", sol.x) if "z_cl" in model.cols else None,
                     firm, pools.P)
    served = (x * pools.rate[:, :, None]).sum(axis=1) + runs.served
    off_peak = off_peak_served = None
    if "o_peak" in model.cols:
        o = np.maximum(model.value("o_peak", sol.x), 0.0)                    # [W, P, T]
        gp = inp.off_peak_goodput if inp.off_peak_goodput is not None else np.ones(inp.W)
        off_peak_served = (o * pools.rate[:, :, None]).sum(axis=1) * gp[:, None]
        served += off_peak_served
        off_peak = o.sum(axis=1)
    fam_p = pools.family
    by_family = np.stack([(x + runs.by_pool)[:, fam_p == f, :].sum(axis=1) for f in range(len(FAMILIES))], axis=1)
    porting = 0.0
    if "b" in model.cols:
        b = model.value("b", sol.x)
        porting = float((np.round(b) * inp.port_cost).sum())
    # the model allocates to pools of identical offerings: runs sit on their cluster's sites; the rest of
    # each pool's chips is split over its members in proportion to the firm chips the runs leave free
    free = np.maximum(firm - runs.allocation.sum(axis=0), 0.0)
    allocation = _spread(x, pools.of, free) + runs.allocation
    return {"units": units, "starts": n, "cost": cost, "served": served, "by_family": by_family,
            "allocation": allocation, "porting_usd": porting, "obligation_after_usd": after,
            "sites": sites.site_rows(inp, model, sol.x),
            "site_cost": sites.month_cost(inp, model, sol.x) if inp.sites else None,
            "contract_chips": contract if inp.contracts else None,
            "clusters": runs.records, "off_peak_chips": off_peak, "off_peak_served": off_peak_served}


def _spread(x: np.ndarray, of: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """[W, O, T]: pool allocation x [W, P, T] over each pool's members (pool `of` [O]) in proportion to
    `weight` [O, T] (equally where a pool's weights are all 0)."""
    P, T = x.shape[1], x.shape[2]
    ok = of >= 0
    w = np.where(ok[:, None], weight, 0.0)
    tot = np.zeros((P, T))
    np.add.at(tot, of[ok], w[ok])
    count = np.bincount(of[ok], minlength=P).astype(float)
    frac = np.zeros_like(w)
    frac[ok] = np.where(tot[of[ok]] > 0, w[ok] / np.where(tot[of[ok]] > 0, tot[of[ok]], 1.0),
                        1.0 / np.maximum(count[of[ok]], 1.0)[:, None])
    out = np.zeros((x.shape[0], len(of), T))
    out[:, ok, :] = x[:, of[ok], :] * frac[None, ok, :]
    return out
