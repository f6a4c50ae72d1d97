"""Numbers as a reader takes them in: money, power and counts that scale with their size, shares
without rounding noise, and "n/a" for what is unknown (never 0). Every face formats through these
(the CLI's tables, the HTML reports), so one style holds on every line.
"""

from __future__ import annotations

import math
from typing import Any

NA = "n/a"
SHARE_NOISE = 1e-6      # a share this far outside [0, 1] is solver or float rounding, not a finding


def known(v: Any) -> bool:
    """A number that is there: not None, not NaN, not infinite."""
    if v is None or isinstance(v, bool):
        return False
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _scaled(a: float, scales: tuple[tuple[float, str], ...]) -> tuple[str, str]:
    """(digits, suffix) of `a` >= 1 with three significant figures in the largest unit it reaches."""
    r = float(f"{a:.3g}")                      # round first: 999,950 is $1.00M, not $1000K
    for scale, suffix in scales:
        if r >= scale:
            x = r / scale
            decimals = 2 if x < 10 else 1 if x < 100 else 0
            return f"{x:,.{decimals}f}", suffix
    return f"{r:,.3g}", ""


def money(usd: Any) -> str:
    """$850K, $17.7M, $1.23B, $4.50T; $9,876 below ten thousand, $12.35 below a hundred; "n/a" when
    unknown. Amounts, not unit prices: under half a cent reads $0."""
    if not known(usd):
        return NA
    v = float(usd)
    a = abs(v)
    if a < 0.005:                               # under half a cent: zero (and never "-$0")
        return "$0"
    sign = "-" if v < 0 else ""
    if a < 99.995:
        return f"{sign}${a:.2f}"
    if a < 9999.5:
        return f"{sign}${a:,.0f}"
    digits, suffix = _scaled(a, ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")))
    return f"{sign}${digits}{suffix}"


def power(watts: Any) -> str:
    """850 W, 72.5 kW, 17.7 MW, 1.23 GW: kW below a megawatt, never "0 MW" for a small fleet."""
    if not known(watts):
        return NA
    v = float(watts)
    if v == 0:
        return "0 W"
    sign = "-" if v < 0 else ""
    digits, suffix = _scaled(abs(v), ((1e9, "GW"), (1e6, "MW"), (1e3, "kW")))
    return f"{sign}{digits} {suffix or 'W'}"


def megawatts(mw: Any) -> str:
    """`power` for a figure held in MW."""
    return power(float(mw) * 1e6) if known(mw) else NA


def energy(mwh: Any) -> str:
    """Energy held in MWh as 850 kWh, 17.7 MWh, 1.23 GWh, 4.56 TWh."""
    if not known(mwh):
        return NA
    wh = float(mwh) * 1e6
    if wh == 0:
        return "0 Wh"
    digits, suffix = _scaled(abs(wh), ((1e12, "TWh"), (1e9, "GWh"), (1e6, "MWh"), (1e3, "kWh")))
    return f"{'-' if wh < 0 else ''}{digits} {suffix or 'Wh'}"


def count(n: Any) -> str:
    """A whole count with thousands separators (1,200); "n/a" when unknown."""
    if not known(n):
        return NA
    return f"{round(float(n)) + 0:,}"


def share(v: Any) -> float | None:
    """A share in [0, 1] with rounding noise removed (1.000000000000004 -> 1.0, -1e-12 -> 0.0);
    a value further outside is left as it is, so a real error still shows."""
    if not known(v):
        return None
    x = float(v)
    if -SHARE_NOISE <= x < 0:
        return 0.0
    if 1 < x <= 1 + SHARE_NOISE:
        return 1.0
    return x


def pct(v: Any, digits: int = 1) -> str:
    """A share as a percentage, rounding noise removed; never "-0.0%"; "n/a" when unknown."""
    x = share(v)
    if x is None:
        return NA
    if round(x * 100, digits) == 0:
        x = 0.0
    return f"{x:.{digits}%}"


def plural(n: Any, word: str, many: str | None = None) -> str:
    """`1 offering`, `2 offerings`, `1,200 chips` (`many` for irregular plurals)."""
    if not known(n):
        return f"{NA} {many or word + 's'}"
    return f"{count(n)} {word if round(float(n)) == 1 else many or word + 's'}"
