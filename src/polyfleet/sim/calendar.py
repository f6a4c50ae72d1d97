"""The simulator's calendar: the plan's month, and simulated seconds as dates a reader can use.

The planner bills `horizon.hours_per_month` (730 h by default) per month; the simulator uses the
same month, so a month of simulated demand is a month of the plan's. Simulated time starts at
00:00 UTC on the first day of the horizon; a date is that start plus the elapsed seconds (so the
simulator's month boundaries fall within a day of the calendar's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

HOUR = 3600.0
DAY = 86400.0
DEFAULT_HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class Calendar:
    """Simulated seconds <-> dates, and the length of the plan's month."""

    start: dt.datetime = dt.datetime(2026, 1, 1)
    hours_per_month: float = DEFAULT_HOURS_PER_MONTH

    @classmethod
    def from_month(cls, first_month: str, hours_per_month: float = DEFAULT_HOURS_PER_MONTH) -> "Calendar":
        """From the horizon's first month, 'YYYY-MM'."""
        year, month = (int(x) for x in first_month.split("-")[:2])
        return cls(dt.datetime(year, month, 1), float(hours_per_month))

    @property
    def month_s(self) -> float:
        return self.hours_per_month * HOUR

    @property
    def first_weekday(self) -> int:
        """Weekday of the first simulated day (Monday = 0)."""
        return self.start.weekday()

    def at(self, t_s: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=float(t_s))

    def stamp(self, t_s: float) -> str:
        """'2026-12-01 14:00' for a moment of the simulation."""
        return self.at(t_s).strftime("%Y-%m-%d %H:%M")

    def month_index(self, t_s: float) -> int:
        """The plan month a moment falls in (0-based)."""
        return int(t_s // self.month_s)


def span(seconds: float) -> str:
    """A duration as a reader says it: '45 min', '6 h', '3.5 d'."""
    if seconds < HOUR:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * DAY:
        hours = seconds / HOUR
        return f"{hours:.0f} h" if abs(hours - round(hours)) < 0.05 else f"{hours:.1f} h"
    return f"{seconds / DAY:.1f} d"


def when(calendar: Calendar, start_s: float, duration_s: float) -> str:
    """'2026-12-01 14:00, 6 h'."""
    return f"{calendar.stamp(start_s)}, {span(duration_s)}"
