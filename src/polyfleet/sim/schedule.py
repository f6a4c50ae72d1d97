"""The fleet a simulation runs: chips per pool per month, from a plan or a fixed fleet."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario.resolve import OfferingFacts

ON_DEMAND, SPOT, COMMIT_1Y, COMMIT_3Y = range(4)


@dataclass(frozen=True)
class FleetSchedule:
    """Chips held per pool (an offering) per month, split into firm and spot, with planned cost.

    Only pools that hold chips in some month are kept.
    """

    facts: OfferingFacts         # pools: offering ids with vendor/family/provider/region
    firm: np.ndarray             # [P, T] on-demand + committed chips
    spot: np.ndarray             # [P, T] spot chips (preemptible)
    committed: np.ndarray        # [P, T] chips under 1y/3y commitments
    price: np.ndarray            # [P, K] USD per chip-hour by term (NaN: not offered)
    cost: np.ndarray             # [P, K, T] planned USD per month by term
    facility_watts: np.ndarray   # [P] watts per chip at the facility (IT x PUE), NaN = unknown
    months: tuple[str, ...]
    hours_per_month: float
    other_cost: np.ndarray | None = None   # [T] planned USD paid outside the pools' terms: contracts, power
    #                                        sites, commitments on offerings the plan leaves out

    @property
    def pools(self) -> tuple[str, ...]:
        return self.facts.ids

    @property
    def P(self) -> int:  # noqa: N802
        return len(self.facts)

    @property
    def T(self) -> int:  # noqa: N802
        return len(self.months)

    @property
    def chips(self) -> np.ndarray:
        return self.firm + self.spot

    @classmethod
    def from_plan(cls, result) -> "FleetSchedule":
        """From a solved `PlanResult` (raises if the plan has no solution); pools in `held_index` order."""
        if not result.feasible:
            raise ValueError("the plan has no solution to simulate")
        inp = result.inputs
        chips_k = result.units * inp.unit_chips[:, None, None]     # [O, K, T]
        idx = held_index(result)
        f = inp.facts
        pick = lambda vals: tuple(vals[i] for i in idx)  # noqa: E731
        facts = OfferingFacts(ids=pick(f.ids), accelerator=pick(f.accelerator), vendor=pick(f.vendor),
                              family=pick(f.family), provider=pick(f.provider), region=pick(f.region))
        ck = chips_k[idx]
        # contract chips are firm and committed
        deals = result.contract_chips[idx] if result.contract_chips is not None else 0.0
        return cls(facts=facts, firm=ck[:, [ON_DEMAND, COMMIT_1Y, COMMIT_3Y]].sum(axis=1) + deals, spot=ck[:, SPOT],
                   committed=ck[:, [COMMIT_1Y, COMMIT_3Y]].sum(axis=1) + deals, price=inp.price[idx],
                   cost=result.cost[idx], facility_watts=inp.mw_per_chip[idx] * 1e6, months=inp.months,
                   hours_per_month=inp.hours,
                   other_cost=result.month_cost - result.cost[idx].sum(axis=(0, 1)))

    def mask(self, target_kind: str, target: str) -> np.ndarray:
        """[P] pools an event target names."""
        if target_kind == "region":
            vals, want = self.facts.region, target
        elif target_kind == "offering":
            vals, want = self.facts.ids, target
        else:
            vals, want = self.facts.values(target_kind), target
        return np.array([v == want for v in vals], dtype=bool)


def held_index(result) -> np.ndarray:
    """Offering indices of the plan that hold chips in some month: the schedule's pools, in order."""
    return np.flatnonzero(result.chips.sum(axis=1) > 0.5)         # contract chips included
