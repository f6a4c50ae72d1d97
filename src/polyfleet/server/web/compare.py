"""What changed between two plans (their stored JSON documents): totals, mix by family, chips per
offering in the last month, survivability. Plain rows for the side-by-side page."""

from __future__ import annotations


def _last_month_chips(doc: dict) -> dict[str, float]:
    months = doc.get("months") or []
    last = months[-1] if months else None
    return {r["offering"]: float(r["chips"]) for r in doc.get("plan") or [] if r["month"] == last}


def plan_changes(a: dict | None, b: dict | None) -> dict | None:
    """Rows for the page; None when either plan has no result."""
    if not a or not b:
        return None
    ta, tb = a.get("totals") or {}, b.get("totals") or {}
    totals = [{"what": label, "a": ta.get(key), "b": tb.get(key), "kind": kind}
              for key, label, kind in (("cost_usd", "cost over the horizon", "money"),
                                       ("commitments_after_horizon_usd", "commitments after the horizon", "money"),
                                       ("peak_chips", "peak chips", "num"), ("peak_mw", "peak MW", "num"))]
    ca, cb = _last_month_chips(a), _last_month_chips(b)
    offerings = sorted(set(ca) | set(cb), key=lambda o: -abs(cb.get(o, 0.0) - ca.get(o, 0.0)))
    chips = [{"offering": o, "a": ca.get(o, 0.0), "b": cb.get(o, 0.0), "delta": cb.get(o, 0.0) - ca.get(o, 0.0)}
             for o in offerings]
    fa = (ta.get("mix_by_family_last_month") or {})
    fb = (tb.get("mix_by_family_last_month") or {})
    families = [{"family": f, "a": (fa.get(f) or {}).get("chips", 0.0), "b": (fb.get(f) or {}).get("chips", 0.0)}
                for f in sorted(set(fa) | set(fb))]
    sa = {r["label"]: r for r in (a.get("survivability") or {}).get("rows", [])}
    sb = {r["label"]: r for r in (b.get("survivability") or {}).get("rows", [])}
    surv = [{"label": k, "a": sa.get(k, {}).get("all_demand"), "b": sb.get(k, {}).get("all_demand")}
            for k in list(sa) + [k for k in sb if k not in sa]]
    return {"totals": totals, "chips": chips, "changed": sum(1 for c in chips if abs(c["delta"]) > 0.5),
            "families": families, "survivability": surv,
            "months": (a.get("months") or [None])[-1], "months_b": (b.get("months") or [None])[-1]}
