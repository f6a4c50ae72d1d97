"""Months and monthly series: the time axis every scenario section shares.

A month is written `YYYY-MM` (a YAML date such as 2026-03-01 is accepted too). A
`Series` is a number per month over the horizon, written in one of five forms:

    5000                                   # the same value every month
    [100, 120, 150]                        # one value per month (exactly the horizon's length)
    {start: 100, monthly_growth: 0.08}     # +8% a month, compounded
    {start: 100, annual_multiple: 7}       # x7 a year (7 ** (1/12) a month)
    {points: {2026-01: 100, 2026-12: 700}} # log-linear between points, flat outside them
    {points: {...}, interpolation: linear} # straight lines between points (shares that must add up)
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")

# The largest value a month may take after growth: a thousand times any fleet's chips, MW, dollars
# or tokens, and far enough below HiGHS's 1e20 (its infinity) that the planner's unit conversions
# stay finite numbers.
MAX_SERIES_VALUE = 1e18


def parse_month(value: Any) -> str:
    """Normalise `2026-3`, `'2026-03'` or a date to `'2026-03'`; anything else is a ValueError."""
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str):
        m = _MONTH.match(value)
        if m and 1 <= int(m.group(2)) <= 12:
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    raise ValueError(f"'{value}' is not a month; write YYYY-MM, e.g. 2026-03")


Month = Annotated[str, BeforeValidator(parse_month)]


def month_offset(start: str, month: str) -> int:
    """Months from `start` to `month` (0 = the start month; negative = before it)."""
    y0, m0 = map(int, start.split("-"))
    y1, m1 = map(int, month.split("-"))
    return (y1 - y0) * 12 + (m1 - m0)


def month_labels(start: str, months: int) -> tuple[str, ...]:
    """`('2026-01', '2026-02', ...)` for `months` months from `start`."""
    y, m = map(int, start.split("-"))
    out = []
    for i in range(months):
        k = (m - 1) + i
        out.append(f"{y + k // 12:04d}-{k % 12 + 1:02d}")
    return tuple(out)


class Series(BaseModel):
    """A value per month; see the module docstring for the accepted forms."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    value: float | None = Field(default=None, ge=0)
    values: tuple[float, ...] | None = None
    start: float | None = Field(default=None, ge=0)
    monthly_growth: float | None = Field(default=None, gt=-1)
    annual_multiple: float | None = Field(default=None, gt=0)
    points: dict[Month, float] | None = None
    interpolation: Literal["log", "linear"] | None = Field(default=None, description="between points: log-linear "
                                                           "(growth, the default) or linear (shares that add up)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, bool):
            raise ValueError("a series is a number, a list, or a mapping (start/growth or points)")
        if isinstance(raw, str):                # YAML 1.1 reads 2.0e10 (no sign in the exponent) as text
            try:
                raw = float(raw)
            except ValueError:
                raise ValueError(f"'{raw}' is not a number, a list, or a mapping (start/growth or points)") from None
        if isinstance(raw, (int, float)):
            return {"value": raw}
        if isinstance(raw, (list, tuple)):
            return {"values": raw}
        return raw

    @model_validator(mode="after")
    def _one_form(self) -> "Series":
        forms = [self.value is not None, self.values is not None, self.start is not None, self.points is not None]
        if sum(forms) != 1:
            raise ValueError("give exactly one of: a number, a list of values, start (with monthly_growth or "
                             "annual_multiple), or points")
        if self.start is not None and self.monthly_growth is not None and self.annual_multiple is not None:
            raise ValueError("give monthly_growth or annual_multiple, not both")
        if self.start is None and (self.monthly_growth is not None or self.annual_multiple is not None):
            raise ValueError("growth needs a start value")
        if self.values is not None and any(v < 0 or not math.isfinite(v) for v in self.values):
            raise ValueError("values must be finite and >= 0")
        if self.interpolation is not None and self.points is None:
            raise ValueError("interpolation applies to points only")
        if self.points is not None:
            if not self.points:
                raise ValueError("points needs at least one month")
            if any(v < 0 or not math.isfinite(v) for v in self.points.values()):
                raise ValueError("point values must be finite and >= 0")
        return self

    def expand(self, start: str, months: int) -> np.ndarray:
        """The value of each month of a horizon starting at `start`; a ValueError where the form
        does not fit the horizon or grows past `MAX_SERIES_VALUE`."""
        with np.errstate(over="ignore"):
            out = self._expand(start, months)
        if not np.all(np.isfinite(out) & (out <= MAX_SERIES_VALUE)):
            t = int(np.argmax(~(np.isfinite(out) & (out <= MAX_SERIES_VALUE))))
            raise ValueError(f"reaches {out[t]:.3g} in {month_labels(start, months)[t]}; a month's value may be at "
                             f"most {MAX_SERIES_VALUE:.0e}")
        return out

    def _expand(self, start: str, months: int) -> np.ndarray:
        if self.value is not None:
            return np.full(months, float(self.value))
        if self.values is not None:
            if len(self.values) != months:
                raise ValueError(f"has {len(self.values)} values; the horizon has {months} months")
            return np.asarray(self.values, dtype=float)
        if self.start is not None:
            if self.annual_multiple is not None:
                g = self.annual_multiple ** (1.0 / 12.0)
            else:
                g = 1.0 + (self.monthly_growth or 0.0)
            return float(self.start) * g ** np.arange(months, dtype=float)
        assert self.points is not None
        pts = sorted((month_offset(start, m), v) for m, v in self.points.items())
        xs = np.array([p[0] for p in pts], dtype=float)
        ys = np.array([p[1] for p in pts], dtype=float)
        t = np.arange(months, dtype=float)
        if np.all(ys > 0) and self.interpolation != "linear":
            return np.exp(np.interp(t, xs, np.log(ys)))
        return np.interp(t, xs, ys)
