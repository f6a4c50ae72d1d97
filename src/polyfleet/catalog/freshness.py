"""How old each price is, and which are older than a set age."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .model import TERMS
from .store import Catalog

DEFAULT_MAX_PRICE_AGE_DAYS = 180


@dataclass(frozen=True)
class StalePrice:
    offering: str
    term: str
    as_of: dt.date
    age_days: int


def price_age_days(as_of: dt.date | None, today: dt.date | None = None) -> int | None:
    """Days since the price was read or published; None when the figure carries no date."""
    if as_of is None:
        return None
    return ((today or dt.date.today()) - as_of).days


def stale_prices(catalog: Catalog, max_age_days: int = DEFAULT_MAX_PRICE_AGE_DAYS,
                 today: dt.date | None = None, offerings: list[str] | None = None) -> list[StalePrice]:
    """Known prices dated more than `max_age_days` before `today` (undated prices are not judged)."""
    out = []
    ids = offerings if offerings is not None else list(catalog.offerings)
    for oid in ids:
        off = catalog.offerings[oid]
        for term in TERMS:
            fig = off.price(term)
            age = price_age_days(fig.as_of, today) if fig.known else None
            if age is not None and age > max_age_days:
                out.append(StalePrice(oid, term, fig.as_of, age))
    return out


def stale_note(stale: list[StalePrice], max_age_days: int, limit: int = 5) -> str | None:
    """One warning line naming the oldest stale prices, or None."""
    if not stale:
        return None
    oldest = sorted(stale, key=lambda s: -s.age_days)
    shown = ", ".join(f"{s.offering} {s.term} ({s.as_of.isoformat()}, {s.age_days} days)" for s in oldest[:limit])
    more = f" and {len(stale) - limit} more" if len(stale) > limit else ""
    return (f"warning: {len(stale)} price(s) older than {max_age_days} days: {shown}{more}; "
            "give current ones with --catalog FILE")
