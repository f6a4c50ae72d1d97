"""Figures for the simulate and risk reports, as inline SVG strings.

Read at a glance: dates on time axes, every value axis from 0, distinct colours per line,
exceedance curves P(X > x) on a log axis instead of box plots a single outlier squashes,
intervals drawn where an estimate has one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import matplotlib.dates as mdates
import numpy as np

from .plots import plt, to_svg

PALETTE = ("#1b4f9c", "#e8710a", "#2a9d3f", "#c62828", "#7b3fa0", "#6d4c41", "#d81b60", "#546e7a", "#00897b",
           "#9e9d24")
CAUSE_COLORS = {"placement": "#7b3fa0", "chip failures": "#546e7a", "outage": "#c62828", "preemption": "#e8710a",
                "supply_cut": "#1b4f9c", "delivery_slip": "#2a9d3f"}


def lost_over_time(times: Sequence[dt.datetime], lost: dict[str, np.ndarray],
                   incidents: Sequence[tuple[dt.datetime, dt.datetime, str]], title: str) -> str:
    """One panel per class: share of its demand lost each hour (from 0 up), the costliest incidents
    shaded and numbered (their dates are in the incident table)."""
    names = list(lost)
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.3 * len(names) + 0.9), sharex=True, squeeze=False)
    for i, (ax, name) in enumerate(zip(axes[:, 0], names)):
        for k, (a, b, _) in enumerate(incidents):
            ax.axvspan(a, b, color="#c62828", alpha=0.18, lw=0)
            if i == 0:
                ax.text(a, 1.0, f" {k + 1}", transform=ax.get_xaxis_transform(), fontsize=7, va="top",
                        color="#c62828")
        ax.plot(times, np.asarray(lost[name]) * 100, lw=0.7, color=PALETTE[i % len(PALETTE)])
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{name}\n% lost", fontsize=8)
    axes[0, 0].set_title(title, loc="left")
    _date_axis(axes[-1, 0])
    return to_svg(fig)


def exceedance(names: Sequence[str], values: Sequence[np.ndarray], xlabel: str, title: str,
               log: bool = True) -> str:
    """P(X > x) per strategy: the share of runs worse than x, so tails read off directly."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    floor = None
    for i, (name, v) in enumerate(zip(names, values)):
        v = np.sort(np.asarray(v, dtype=float))
        n = len(v)
        if n == 0:
            continue
        if log and not (v > 0).any():          # nothing to draw on a log axis: say so in the legend
            ax.plot([], [], color=PALETTE[i % len(PALETTE)], lw=1.3, label=f"{name}: 0 in every run")
            continue
        p = 1.0 - np.arange(1, n + 1) / n
        style = "-" if i < len(PALETTE) else "--"
        x = np.maximum(v, 1e-12) if log else v
        ax.step(x, np.maximum(p, 0.5 / n), where="post", lw=1.3, color=PALETTE[i % len(PALETTE)],
                linestyle=style, label=name)
        pos = v[v > 0]
        if pos.size:
            floor = pos.min() if floor is None else min(floor, pos.min())
    if log and floor is not None:
        ax.set_xscale("log")
        ax.set_xlim(left=floor * 0.8)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of runs worse (P(X > x))")
    ax.set_title(title, loc="left")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=7)
    return to_svg(fig)


def intervals(labels: Sequence[str], value: np.ndarray, lo: np.ndarray, hi: np.ndarray, xlabel: str,
              title: str) -> str:
    """A point and its 95% interval per row (from 0)."""
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(labels) + 1.1))
    y = np.arange(len(labels))[::-1]
    value, lo, hi = (np.asarray(a, dtype=float) for a in (value, lo, hi))
    err = np.vstack([np.nan_to_num(value - lo), np.nan_to_num(hi - value)])
    ax.errorbar(value, y, xerr=np.maximum(err, 0), fmt="o", color=PALETTE[0], ecolor="#888", capsize=3, ms=4)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return to_svg(fig)


def delay_by_cause(labels: Sequence[str], by_cause: dict[str, np.ndarray], title: str,
                   lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> str:
    """Days behind plan per row, stacked by cause; with lo/hi, the total's 95% interval as a whisker."""
    fig, ax = plt.subplots(figsize=(8, 0.34 * len(labels) + 1.3))
    y = np.arange(len(labels))[::-1]
    left = np.zeros(len(labels))
    for cause, days in by_cause.items():
        days = np.asarray(days, dtype=float)
        if days.sum() <= 0:
            continue
        ax.barh(y, days, left=left, color=CAUSE_COLORS.get(cause, "#999"), label=cause.replace("_", " "), height=0.6)
        left += days
    if lo is not None and hi is not None:
        err = np.vstack([np.maximum(left - lo, 0), np.maximum(hi - left, 0)])
        ax.errorbar(left, y, xerr=np.nan_to_num(err), fmt="none", ecolor="#333", capsize=3, lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlim(left=0)
    ax.set_xlabel("days behind the plan's pace")
    ax.set_title(title, loc="left")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", frameon=False, fontsize=7)
    return to_svg(fig)


def _date_axis(ax) -> None:
    loc = mdates.AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
