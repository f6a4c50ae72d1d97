"""Figures for the reports, returned as inline SVG strings (no files, no network to view them).

Each function takes plain arrays and labels, so any engine's result can be drawn; the plan's
figures are: capacity by family over time (stacked), cost over time, power against the limits,
the cost-vs-resilience frontier, and the diversification comparison. The simulate and risk
figures are in protect_plots.py.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FAMILY_COLORS = {"tpu": "#4285F4", "trainium": "#FF9900", "gpu": "#76B900"}
TERM_COLORS = {"on_demand": "#d62728", "spot": "#ff9896", "commit_1y": "#1f77b4", "commit_3y": "#17becf"}
plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                     "axes.spines.right": False})


def to_svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _ticks(ax, months: Sequence[str]) -> None:
    step = max(1, len(months) // 12)
    ax.set_xticks(range(0, len(months), step))
    ax.set_xticklabels([months[i] for i in range(0, len(months), step)], rotation=45, ha="right")


def stacked_area(months: Sequence[str], series: dict[str, np.ndarray], ylabel: str, title: str,
                 colors: dict[str, str] | None = None) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    keys = [k for k, v in series.items() if np.nansum(v) > 0]
    if keys:
        ax.stackplot(range(len(months)), *[np.nan_to_num(series[k]) for k in keys], labels=keys,
                     colors=[(colors or {}).get(k) for k in keys] if colors else None, alpha=0.9)
        ax.legend(loc="upper left", frameon=False)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    _ticks(ax, months)
    return to_svg(fig)


def stacked_bars(months: Sequence[str], series: dict[str, np.ndarray], ylabel: str, title: str,
                 colors: dict[str, str] | None = None) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    bottom = np.zeros(len(months))
    for k, v in series.items():
        v = np.nan_to_num(np.asarray(v, dtype=float))
        if v.sum() <= 0:
            continue
        ax.bar(range(len(months)), v, bottom=bottom, label=k, color=(colors or {}).get(k), width=0.8)
        bottom += v
    ax.legend(loc="upper left", frameon=False)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    _ticks(ax, months)
    return to_svg(fig)


def lines_against_limits(months: Sequence[str], used: dict[str, np.ndarray], limits: dict[str, np.ndarray],
                         ylabel: str, title: str) -> str:
    """One solid line per use and a dashed line of the same colour for its limit."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    cmap = plt.get_cmap("tab10")
    for i, (name, u) in enumerate(used.items()):
        ax.plot(range(len(months)), u, color=cmap(i % 10), label=f"{name}")
        if name in limits:
            ax.plot(range(len(months)), limits[name], color=cmap(i % 10), linestyle="--", linewidth=1,
                    label=f"{name} limit")
    ax.legend(loc="upper left", frameon=False, ncol=2, fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    _ticks(ax, months)
    return to_svg(fig)


def frontier_curve(levels: Sequence[float], cost: Sequence[float | None], achieved: Sequence[float | None],
                   title: str = "Cost vs resilience") -> str:
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    x = [lv for lv, c in zip(levels, cost) if c is not None]
    y = [c / 1e9 for c in cost if c is not None]
    ax.plot(x, y, marker="o", color="#1f77b4", label="total cost")
    ax.set_xlabel("share of protected demand that must survive each failure set")
    ax.set_ylabel("cost over the horizon (USD billions)")
    ax.set_title(title, loc="left")
    infeasible = [lv for lv, c in zip(levels, cost) if c is None]
    for lv in infeasible:
        ax.axvline(lv, color="#d62728", linestyle=":", linewidth=1)
    if infeasible:
        ax.text(infeasible[0], ax.get_ylim()[1], " no plan", color="#d62728", va="top", fontsize=8)
    ax2 = ax.twinx()
    xa = [lv for lv, a in zip(levels, achieved) if a is not None]
    ya = [a for a in achieved if a is not None]
    ax2.plot(xa, ya, marker="s", color="#2ca02c", linestyle="--", label="worst served share (achieved)")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("worst served share under a failure")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", frameon=False, fontsize=8)
    return to_svg(fig)


def compare_scatter(names: Sequence[str], premium: Sequence[float | None], served: Sequence[float | None],
                    title: str = "What diversification costs and buys") -> str:
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    cmap = plt.get_cmap("tab20")
    markers = "osD^v<>ph*"
    for i, (n, p, s) in enumerate(zip(names, premium, served)):
        if p is None or s is None:
            continue
        ax.scatter(p * 100, s * 100, s=36, color=cmap(i % 20), marker=markers[i % len(markers)], label=n)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False, fontsize=7)
    ax.set_xlabel("cost premium over the least-cost plan (%)")
    ax.set_ylabel("worst served share of protected demand (%)")
    ax.set_title(title, loc="left")
    return to_svg(fig)


def tornado(names: Sequence[str], base: float, low: Sequence[float | None], high: Sequence[float | None],
            low_label: Sequence[str], high_label: Sequence[str], title: str) -> str:
    """Horizontal bars from the base cost to the cost at each end of each input (USD billions); an end with
    no plan is marked with an x at the base."""
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
    for yi, lo, hi in zip(y, low, high):
        for v, color in ((lo, "#1f77b4"), (hi, "#d62728")):
            if v is None:
                ax.plot([base / 1e9], [yi], "kx")
            else:
                ax.barh(yi, (v - base) / 1e9, left=base / 1e9, color=color, alpha=0.8, height=0.6)
    ax.axvline(base / 1e9, color="#333", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{n} ({a} / {b})" for n, a, b in zip(names, low_label, high_label)])
    ax.set_xlabel("plan cost, USD billions (blue: input at its low end, red: at its high end; x: no plan)")
    ax.set_title(title, loc="left")
    return to_svg(fig)
