"""What `risk` reports, as plain rows split by question: money, inference per class, training,
the tail; a headline computed for the reader; every estimate with its 95% interval and the
warnings where the runs are too few."""

from __future__ import annotations

import math

import numpy as np

from .sim_doc import CAUSE_WORDS, key

BASELINE = "least cost (no risk policy)"


def share(v) -> str:
    """A share with the digits a small one needs: '0%', '0.0041%', '1.2%'."""
    if v is None or not math.isfinite(v):
        return "n/a"
    p = v * 100
    if p == 0:
        return "0%"
    if abs(p) < 1e-4:
        return "<0.0001%"
    return f"{p:.2g}%" if abs(p) < 0.1 else f"{p:.1f}%"


def money_rows(risk) -> list[dict]:
    """Per strategy: planned and expected cost, value lost, CVaR95 all-in (with intervals)."""
    out = []
    for row in risk.rows():
        r = {k: row.get(k) for k in (
            "strategy", "same_fleet_as", "scope", "planned_cost_usd", "expected_cost_usd", "expected_cost_usd_lo",
            "expected_cost_usd_hi", "expected_loss_usd", "expected_loss_usd_lo", "expected_loss_usd_hi",
            "cvar95_total_usd", "cvar95_total_usd_lo", "cvar95_total_usd_hi")}
        r["note"] = f"same fleet as '{row['same_fleet_as']}' (run once)" if row.get("same_fleet_as") else None
        out.append(r)
    for s in risk.skipped:
        out.append({"strategy": s["strategy"], "note": s["note"]})
    return out


def class_rows(risk) -> list[dict]:
    """Per strategy and inference class: demand lost (mean, P95, P99) and P(some day loses > x)."""
    thr = risk.threshold
    out = []
    for row in risk.rows():
        for c in risk.strategies[0].classes:
            if f"{c}_unserved_mean" not in row:
                continue
            r = {"strategy": row["strategy"], "class": c}
            for stat, k in (("lost_mean", f"{c}_unserved_mean"), ("lost_p95", f"{c}_unserved_p95"),
                            ("lost_p99", f"{c}_unserved_p99"), ("p_day_loss", f"{c}_p_day_loss_gt_{thr:g}")):
                r[stat], r[f"{stat}_lo"], r[f"{stat}_hi"] = row[k], row[f"{k}_lo"], row[f"{k}_hi"]
            out.append(r)
    return out


def training_rows(risk) -> list[dict]:
    """Per strategy and training run: delay (mean, P95), share of the plan's tokens trained, by cause."""
    out = []
    for s, row in zip(_expanded(risk), risk.rows()):
        for j, w in enumerate(s.training):
            if f"{w}_delay_days_mean" not in row or not np.isfinite(s.training_served_share[:, j]).any():
                continue
            r = {"strategy": row["strategy"], "workload": w}
            for stat, k in (("delay_mean", f"{w}_delay_days_mean"), ("delay_p95", f"{w}_delay_days_p95"),
                            ("trained_share", f"{w}_trained_share_mean")):
                r[stat], r[f"{stat}_lo"], r[f"{stat}_hi"] = row[k], row[f"{k}_lo"], row[f"{k}_hi"]
            causes = {c: float(d[:, j].mean()) for c, d in s.training_delay_by_cause.items()}
            for c, v in causes.items():
                r[f"delay_mean_{key(c)}"] = v
            top = max(causes.items(), key=lambda kv: kv[1]) if causes else (None, 0.0)
            r["main_cause"] = CAUSE_WORDS.get(top[0]) if top[1] > 0.05 else None
            out.append(r)
    return out


def tail_rows(risk) -> list[dict]:
    out = []
    for s in risk.strategies:
        for d in s.tail_incidents[:5]:
            out.append({"strategy": s.name, **d, "customer_hours": d["customer_hours"] if s.has_customers else None})
    return out


def _expanded(risk) -> list:
    """Strategies in `risk.rows()` order (aliases repeat their fleet's)."""
    out = []
    for s in risk.strategies:
        out += [s] * (1 + len(s.aliases))
    return out


def headline(risk, money=None) -> str:
    """One sentence a board can read: the diversified plan against least cost (or the dearest tail).
    `money` formats the amounts (the caller's house style); shares keep the digits a small one needs."""
    _money = money or _usd
    rows = risk.rows()
    if not rows:
        return "No strategy could be simulated."
    first = rows[0]
    other = next((r for r in rows[1:] if r["strategy"] == BASELINE), None)
    if other is None and len(rows) > 1:
        other = max(rows[1:], key=lambda r: r["cvar95_total_usd"])
    scope = first["scope"]
    text = f"Over the {scope}, '{first['strategy']}' plans to spend {_money(first['planned_cost_usd'])}"
    if other is None:
        return text + f"; in the worst 5% of {risk.runs} runs it costs {_money(first['cvar95_total_usd'])} all in."
    diff = first["planned_cost_usd"] - other["planned_cost_usd"]
    text += (f", {_money(abs(diff))} {'more' if diff >= 0 else 'less'} than '{other['strategy']}'; in the worst 5% of "
             f"{risk.runs} runs it costs {_money(first['cvar95_total_usd'])} all in against "
             f"{_money(other['cvar95_total_usd'])}")
    top = risk.strategies[0].classes[0] if risk.strategies[0].classes else None
    if top and f"{top}_unserved_mean" in first and f"{top}_unserved_mean" in other:
        text += (f", and {top} loses {share(first[f'{top}_unserved_mean'])} of its demand on average against "
                 f"{share(other[f'{top}_unserved_mean'])}")
    return text + "."


def _usd(v) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"${v / 1e9:,.2f}B" if abs(v) >= 1e9 else f"${v / 1e6:,.1f}M"


def risk_doc(risk, *, what_if: list[str], money=None) -> dict:
    """The JSON document of a risk run."""
    return {"runs": risk.runs, "seed": risk.seed, "months": risk.months, "horizon_months": risk.horizon_months,
            "scope": risk.scope, "what_if": list(what_if), "daily_loss_threshold": risk.threshold,
            "wall_seconds": risk.wall_seconds, "headline": headline(risk, money), "warnings": risk.warnings(),
            "strategies": risk.rows(), "not_run": list(risk.skipped),
            "money": money_rows(risk), "inference": class_rows(risk), "training": training_rows(risk),
            "tail_incidents": {s.name: s.tail_incidents for s in risk.strategies},
            "interval": "95%: t interval for means, Wilson for probabilities, bootstrap (fixed seed) for "
                        "quantiles and CVaR"}
