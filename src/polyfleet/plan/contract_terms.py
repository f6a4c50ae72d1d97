"""Contracts as the planner reads them: per contract, its offerings mask and its tranches (the base
schedule and each expansion option) as monthly arrays over the horizon.

A leaf of `plan/` (imports no other plan module) so that `inputs.py` can carry the terms and
`contracts.py` can build the MILP block from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..scenario.contracts import monthly_deliveries
from ..scenario.resolve import OfferingFacts, selector_mask
from ..scenario.series import month_offset
from ..solvers import band

TAIL_MODES = ("prorated", "full", "terminal_value")


@dataclass(frozen=True)
class Tranche:
    """One delivery schedule of a contract: the base (`option` None) or an expansion option."""

    id: str                        # "base" or the option's id
    deliveries: np.ndarray         # [T] new chips delivered each month
    term_months: int
    usd_per_chip_hour: float
    decision: int | None = None    # option: month index of the decision (deliveries come after it)

    @property
    def is_option(self) -> bool:
        return self.decision is not None


@dataclass(frozen=True)
class ContractTerms:
    """A contract over the planned offerings. `signed`: held as signed; otherwise a candidate (a binary)."""

    id: str
    counterparty: str
    accelerator: str
    mask: np.ndarray                        # [O] offerings that may hold its chips
    signed: bool
    min_take: float                         # share of each delivery that must be taken (take-or-pay)
    tranches: tuple[Tranche, ...]           # base first
    cancel_from: int | None = None          # month index from which it may be cancelled
    cancel_fee_usd: float = 0.0
    source: dict = field(default_factory=dict)

    def held_min(self, T: int) -> np.ndarray:
        """[T] chips held when only the minimum of the base schedule is taken (what cannot be avoided)."""
        base = self.tranches[0]
        tt, ss = band(T, base.term_months)
        out = np.zeros(T)
        np.add.at(out, tt, self.min_take * base.deliveries[ss])
        return out


def tail_weight(mode: str, share: float) -> float:
    """Weight of a chip-month paid after the horizon in the objective."""
    return {"prorated": 0.0, "full": 1.0, "terminal_value": 1.0 - share}[mode]


def accounting_label(mode: str, share: float) -> str:
    """How the objective counts payments after the horizon, in words (printed next to the cost)."""
    return {"prorated": "prorated (only months inside the horizon count)",
            "full": "full term (every month of every commitment counts)",
            "terminal_value": f"terminal value (a month after the horizon counts at {1 - share:.0%} of its price: "
                              f"it is worth {share:.0%} to the lab)"}[mode]


def contracts_from_scenario(scn, cat, facts: OfferingFacts) -> tuple[ContractTerms, ...]:
    """The scenario's `contracts:` as arrays over its horizon and the planned offerings (checked at load)."""
    out = []
    T = scn.horizon.months
    for i, c in enumerate(scn.contracts):
        loc = ("contracts", i)
        mask = selector_mask(c, facts, cat) & np.array([p == c.counterparty.lower() for p in facts.provider], bool)
        base = Tranche("base", monthly_deliveries(scn.expand(c.deliveries, loc + ("deliveries",))),
                       c.term_months, c.usd_per_chip_hour)
        opts = tuple(Tranche(o.id, monthly_deliveries(scn.expand(o.deliveries, loc + ("options", j, "deliveries"))),
                             o.term_months, o.usd_per_chip_hour, month_offset(scn.horizon.start, o.decision_month))
                     for j, o in enumerate(c.options))
        fee, start = 0.0, None
        if c.cancellation is not None:
            start = month_offset(scn.horizon.start, c.cancellation.from_month)
            fee = c.cancellation.fee_usd
            if fee is None:     # fee in months of the payments scheduled at that month (the base, taken whole)
                held = ContractTerms(c.id, "", "", mask, True, 1.0, (base,)).held_min(T)[start]
                fee = c.cancellation.fee_months * held * c.usd_per_chip_hour * scn.horizon.hours_per_month
        acc = cat.accelerator_id(c.accelerator[0]) if c.accelerator else facts.accelerator[int(np.argmax(mask))]
        out.append(ContractTerms(c.id, c.counterparty, acc, mask, c.signed, c.min_take, (base, *opts), start,
                                 float(fee), c.source.model_dump(mode="json")))
    return tuple(out)


def contract_notes(contracts: tuple[ContractTerms, ...], months: tuple[str, ...]) -> list[str]:
    """One line per contract for the plan's notes: what it says and where that comes from."""
    out = []
    for c in contracts:
        b = c.tranches[0]
        src = c.source
        out.append(f"contract {c.id} ({c.counterparty}, {c.accelerator}, {'signed' if c.signed else 'candidate'}): "
                   f"{b.deliveries.sum():,.0f} chips delivered by {months[-1]}, {b.term_months}-month terms at "
                   f"${b.usd_per_chip_hour:g}/chip-h, min take {c.min_take:.0%}; source ({src.get('status')}, "
                   f"{src.get('date')}): {src.get('ref')}")
    return out


def restrict_contracts(contracts: tuple[ContractTerms, ...], idx: np.ndarray, T: int,
                       hours: float) -> tuple[tuple[ContractTerms, ...], np.ndarray]:
    """Contracts over a subset of offerings; a signed contract left with no offering is dropped and its
    minimum payments ([T] USD, returned) stay: take-or-pay is owed whether or not the chips are used."""
    kept, sunk = [], np.zeros(T)
    for c in contracts:
        m = c.mask[idx]
        if m.any():
            kept.append(replace(c, mask=m))
        elif c.signed:
            sunk += c.held_min(T) * c.tranches[0].usd_per_chip_hour * hours
    return tuple(kept), sunk


def unsigned(contracts: tuple[ContractTerms, ...]) -> tuple[ContractTerms, ...]:
    """Every contract turned into a candidate the optimiser may sign or not (free choice)."""
    return tuple(replace(c, signed=False) for c in contracts)


__all__ = ["ContractTerms", "TAIL_MODES", "Tranche", "accounting_label", "contracts_from_scenario",
           "contract_notes", "restrict_contracts", "tail_weight", "unsigned"]
