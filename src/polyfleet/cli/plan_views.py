"""Tables of the plan's optional parts (power sites, ...), printed after the capacity tables when the
scenario has them. One function per part, each taking the result and a console."""

from __future__ import annotations

from rich.console import Console

from ..report.tables import Column, emit
from ..report.units import megawatts, money


def site_rows(result) -> list[dict]:
    """One row per site: how it comes (under way / ordered / not ordered), when energised, MW, peak use."""
    return [{"site": s["site"], "how": s["how"], "energised": s["energised"], "mw": max(s["mw"]),
             "peak_mw_drawn": max(s["mw_drawn"]), "peak_use": s["peak_use"]} for s in result.sites]


def print_sites(result, console: Console) -> None:
    if not result.sites:
        return
    emit(site_rows(result), "table", [Column("site", "site", justify="left"), Column("how", "how", justify="left"),
                         Column("energised", "energised", justify="left"), Column("mw", "MW", megawatts),
                         Column("peak_mw_drawn", "peak drawn", megawatts),
                         Column("peak_use", "peak use", lambda v: f"{v:.0%}")],
         title="Power sites", console=console)
    if result.site_cost is not None and result.site_cost.sum() > 0:
        console.print(f"  sites cost {money(float(result.site_cost.sum()))} over the horizon (in the total below)")
