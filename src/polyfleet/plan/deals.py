"""The deals as signed next to the plan the optimiser would choose.

`deals_vs_free` solves the scenario twice: with its contracts as they are (signed ones held), and with
every contract turned into a candidate the optimiser may sign or leave (free choice: same offerings,
schedules, prices and terms). Both objectives use the scenario's accounting, so their difference is
what the signed deals cost (or save) against the cheapest choice of deals; both solves stop at the
same MIP gap, so a difference inside the gaps is noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .api import PlanOptions, plan
from .contract_terms import unsigned
from .inputs import PlanInputs
from .result import PlanResult


@dataclass
class DealsComparison:
    as_signed: PlanResult
    free: PlanResult

    def _side(self, r: PlanResult) -> dict:
        if not r.feasible:
            return {"feasible": False, "status": r.solution.status}
        return {"feasible": True, "objective_usd": r.solution.objective, "cost_usd": r.total_cost,
                "owed_after_horizon_usd": r.obligation_after_usd, "mip_gap": r.solution.mip_gap,
                "chips_by_family_last_month": {f: v["chips"] for f, v in r.mix_by_family().items()},
                "contracts": {c["id"]: {"signed": c["signed_in_plan"], "chips_taken": sum(c["taken"]),
                                        "cost_in_horizon_usd": c["cost_in_horizon_usd"]} for c in r.contracts}}

    def to_dict(self) -> dict:
        out = {"as_signed": self._side(self.as_signed), "free_choice": self._side(self.free),
               "accounting": self.as_signed.accounting,
               "note": "free choice: every contract a candidate the optimiser may sign (same schedules, prices, terms)"}
        if self.as_signed.feasible and self.free.feasible:
            out["signed_deals_cost_more_usd"] = self.as_signed.solution.objective - self.free.solution.objective
        return out

    def rows(self) -> list[dict]:
        """One row per contract: as signed against free choice."""
        d = self.to_dict()
        a, f = d["as_signed"].get("contracts", {}), d["free_choice"].get("contracts", {})
        return [{"contract": cid, "signed": a[cid]["signed"], "signed_chips_taken": a[cid]["chips_taken"],
                 "signed_cost_usd": a[cid]["cost_in_horizon_usd"], "free_signs": f.get(cid, {}).get("signed"),
                 "free_chips_taken": f.get(cid, {}).get("chips_taken"),
                 "free_cost_usd": f.get(cid, {}).get("cost_in_horizon_usd")} for cid in a]


def deals_vs_free(inp: PlanInputs, options: PlanOptions = PlanOptions(),
                  progress: Callable[[str], None] | None = None,
                  as_signed: PlanResult | None = None) -> DealsComparison:
    """Solve with the contracts as signed (or reuse `as_signed`) and with every contract a free candidate."""
    say = progress or (lambda _m: None)
    signed = as_signed if as_signed is not None else plan(inp, options, progress=say)
    say("solving again with every contract a free choice")
    quick = replace(options, binding=False, survivability=False, option_values=False)
    free = plan(replace(inp, contracts=unsigned(inp.contracts), name=f"{inp.name} (deals free)"), quick, progress=say)
    return DealsComparison(signed, free)


__all__ = ["DealsComparison", "deals_vs_free"]
