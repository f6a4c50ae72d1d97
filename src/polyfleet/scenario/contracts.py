"""The `contracts:` section: capacity deals with a delivery schedule, a take-or-pay minimum, a term,
a price, expansion options and cancellation terms.

    contracts:
      - id: google-tpu
        counterparty: gcp                      # the provider that delivers (a catalog provider)
        accelerator: tpu-v7                    # which offerings may hold the chips (AND of the fields;
        region: [gcp/us-east5, gcp/us-south1]  #   a list = any of them: the chips may sit at any site)
        source: {ref: "https://...", status: official, date: 2025-10-23}
        signed: true                           # true: the plan must hold it; false: a candidate to sign
        deliveries: {points: {2026-01: 0, 2026-12: 1000000}}   # CUMULATIVE chips delivered by each month
        term_months: 36                        # each month's delivery is held (and paid) this long
        usd_per_chip_hour: 2.0
        min_take: 0.8                          # share of each month's delivery that must be taken and paid
        options: [{id: more-2027, decision_month: 2026-09, deliveries: {...}, usd_per_chip_hour: 1.9,
                   term_months: 24}]
        cancellation: {from_month: 2027-01, fee_months: 3}   # or fee_usd

`deliveries` is cumulative (chips delivered by the end of each month, a Series: it must never fall);
the chips delivered in a month are its increase over the month before, and the first month's value
is delivered in the first month. Write a 0 point before the first delivery: a points series is flat
before its first point.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..datafile import field_path
from ..errors import UserError
from .context import select_offerings
from .resolve import OfferingFacts, check_name, check_selector, check_unique_ids, selector_mask
from .sections import Section, Selector, Share
from .series import Month, Series, month_offset

MAX_TERM_MONTHS = 120


class ContractSource(Section):
    """Where the contract's figures come from, like a catalog figure's source."""

    ref: str = Field(min_length=1, description="URL or document")
    status: Literal["official", "third-party", "estimate"]
    date: dt.date | None = Field(default=None, description="date of the announcement or document")
    note: str = ""


class ContractOption(Section):
    """An expansion the lab may exercise (a binary): more deliveries after `decision_month`."""

    id: str
    decision_month: Month
    deliveries: Series = Field(description="cumulative chips delivered by each month (none up to the decision)")
    usd_per_chip_hour: float = Field(gt=0)
    term_months: int = Field(ge=1, le=MAX_TERM_MONTHS)


class Cancellation(Section):
    """From `from_month` the lab may stop taking and holding the contract's chips (a binary), paying a fee once:
    `fee_usd`, or `fee_months` months of the payments scheduled at that month (every delivery held then)."""

    from_month: Month
    fee_usd: float | None = Field(default=None, ge=0)
    fee_months: float | None = Field(default=None, ge=0, le=MAX_TERM_MONTHS)

    @model_validator(mode="after")
    def _one_fee(self) -> "Cancellation":
        if (self.fee_usd is None) == (self.fee_months is None):
            raise ValueError("give exactly one of fee_usd or fee_months")
        return self


class Contract(Selector):
    """A capacity deal with one counterparty. Selector fields pick the offerings that may hold its chips
    (the counterparty's offerings only); `accelerator` is required."""

    id: str
    counterparty: str = Field(description="the provider that delivers")
    source: ContractSource
    signed: bool = Field(default=True, description="true: as signed, the plan holds it; false: a candidate "
                         "the optimiser may sign")
    deliveries: Series = Field(description="cumulative chips delivered by each month (never falling)")
    term_months: int = Field(ge=1, le=MAX_TERM_MONTHS, description="each delivery is held and paid this long")
    usd_per_chip_hour: float = Field(gt=0)
    min_take: Share = Field(default=1.0, description="take-or-pay: share of each month's delivery that must be "
                            "taken and paid (default 1: every delivery taken whole)")
    options: tuple[ContractOption, ...] = ()
    cancellation: Cancellation | None = None

    @model_validator(mode="after")
    def _needs_accelerator(self) -> "Contract":
        if self.accelerator is None and self.offering is None:
            raise ValueError("a contract names its chips: give accelerator (or offering)")
        ids = [o.id for o in self.options]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"option id '{sorted(dup)[0]}' is used twice")
        return self


def monthly_deliveries(cumulative: np.ndarray) -> np.ndarray:
    """New chips each month from a cumulative schedule (the first month's value is delivered in it)."""
    return np.diff(np.concatenate([[0.0], np.asarray(cumulative, float)]))




def check_contracts(scn, cat) -> None:
    """Names against the catalog, months against the horizon, schedules that never fall, and at least one
    offering the planner may use for each contract (errors name file:line, the field and what is allowed)."""
    def err(loc: tuple, msg: str, allowed: str | None = None) -> UserError:
        return UserError(msg, where=scn.where(loc), field=field_path(loc), allowed=allowed)

    def month_in(loc: tuple, m: str) -> int:
        off = month_offset(scn.horizon.start, m)
        if not 0 <= off < scn.horizon.months:
            raise err(loc, f"month {m} is outside the horizon", f"{scn.months[0]} .. {scn.months[-1]}")
        return off

    def schedule(loc: tuple, series: Series) -> np.ndarray:
        cum = scn.expand(series, loc)
        fall = np.flatnonzero(np.diff(cum) < -1e-9)
        if len(fall):
            raise err(loc, f"cumulative deliveries fall in {scn.months[fall[0] + 1]} ({cum[fall[0]]:,.0f} -> "
                      f"{cum[fall[0] + 1]:,.0f})", "a cumulative schedule that never falls")
        return cum

    check_unique_ids(scn.contracts, "contract", scn.where, ("contracts",))
    ids = select_offerings(scn)[0]
    facts = OfferingFacts.of(cat, ids)
    for i, c in enumerate(scn.contracts):
        loc = ("contracts", i)
        check_name("provider", c.counterparty, cat, scn.where(loc + ("counterparty",)),
                   field_path(loc + ("counterparty",)))
        check_selector(c, cat, scn.where, loc)
        mask = selector_mask(c, facts, cat) & np.array([p == c.counterparty.lower() for p in facts.provider], bool)
        if not mask.any():
            raise err(loc, f"no offering the planner may use matches contract '{c.id}' ({c.describe()}, provider "
                      f"{c.counterparty})", "a selector matching offerings in `offerings:` with a known price")
        schedule(loc + ("deliveries",), c.deliveries)
        for j, o in enumerate(c.options):
            oloc = loc + ("options", j)
            k = month_in(oloc + ("decision_month",), o.decision_month)
            cum = schedule(oloc + ("deliveries",), o.deliveries)
            if cum[k] > 1e-9:
                raise err(oloc + ("deliveries",), f"option '{o.id}' delivers {cum[k]:,.0f} chips by its decision "
                          f"month {o.decision_month}", f"deliveries only after {o.decision_month} (write a 0 point "
                          "at the decision month)")
        if c.cancellation is not None:
            month_in(loc + ("cancellation", "from_month"), c.cancellation.from_month)


__all__ = ["Cancellation", "Contract", "ContractOption", "ContractSource", "check_contracts", "monthly_deliveries"]
