"""What planning at the pessimistic end of the rate bands costs: the robust plan against the nominal one."""

from __future__ import annotations

from .result import PlanResult


def robust_cost(robust: PlanResult, nominal: PlanResult) -> dict:
    """What planning at the pessimistic rates costs over the nominal plan, and how the mix moves.

    Both plans are HiGHS solves within the same gap, so a difference smaller than the gaps is noise."""
    out = {"rates": "P10 of each modelled cell's held-out error band; measured cells keep their rate",
           "nominal_feasible": nominal.feasible, "robust_feasible": robust.feasible}
    if not (nominal.feasible and robust.feasible):
        return out
    extra = robust.total_cost - nominal.total_cost
    gaps = [s.solution.mip_gap for s in (robust, nominal)]
    mixes = {k: {f: v["chips"] for f, v in r.mix_by_family().items()} for k, r in (("nominal", nominal),
                                                                                   ("robust", robust))}
    out.update(nominal_cost_usd=nominal.total_cost, robust_cost_usd=robust.total_cost, extra_usd=extra,
               extra_share=extra / nominal.total_cost if nominal.total_cost else None,
               mip_gaps=gaps, last_month_chips_by_family=mixes)
    return out


__all__ = ["robust_cost"]
