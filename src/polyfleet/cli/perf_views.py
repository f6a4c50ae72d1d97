"""Tables for `polyfleet perf calibration` and `polyfleet compare`: what each row shows and in which units."""

from __future__ import annotations

import sys

import numpy as np

from ..perf.calibration import Calibration, check_all
from ..perf.cv_report import GOAL, SeedSpread, by_family, by_stack, spread
from ..perf.estimate import Context
from ..perf.fit import cross_validate, summarise
from ..report.tables import Column, emit, num, sig


def _pct(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:+.1%}"


def _share(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.0%}"


def calibration_view(ctx: Context, cal: Calibration, fmt: str) -> None:
    checks = check_all(ctx, cal)
    rows = [{"id": c.point.id, "kind": c.kind, "family": c.family, "stack": c.point.stack, "model": c.point.model,
             "accelerator": c.point.accelerator, "chips": c.point.chips, "dtype": c.point.dtype, "metric": c.metric,
             "published": c.point.published, "predicted": c.predicted, "error_pct": 100 * c.error,
             "tolerance_pct": 100 * c.point.tolerance, "within": c.within, "source": cal.source_ref(c.point.source),
             "held_apart": c.held_apart, "note": c.point.note} for c in checks]
    fitted = [c for c in checks if not c.held_apart]
    inside = sum(c.within for c in fitted)
    cols = [Column("id", "point", justify="left"), Column("family", "family", justify="left"),
            Column("stack", "stack", justify="left"), Column("metric", "metric", justify="left"),
            Column("published", "published"), Column("predicted", "predicted", sig),
            Column("error_pct", "error %", num(1)), Column("tolerance_pct", "tol %", num(0)),
            Column("within", "ok", lambda v: "yes" if v else "NO"),
            Column("held_apart", "fitted", lambda v: "apart" if v else "yes", justify="left")]
    if fmt == "csv":
        cols += [Column("source", "source"), Column("note", "note")]
    apart = len(checks) - len(fitted)
    emit(rows, fmt, cols, title=f"Calibration, in sample: {inside}/{len(fitted)} points within tolerance",
         notes=["In sample: the efficiency factors were fitted to these points. The error to judge the model on "
                "is held out: `polyfleet perf calibration --cv`.",
                *([f"{apart} points are held apart (fitted: apart): their sources ran software the model has no "
                   "input for, or contradict their own tables; they are scored here, never fitted. Why: "
                   "`--format json`, field held_apart."]
                  if apart else []),
                "Metric units: output_tokens_per_s and tokens_per_s_per_chip in tokens/s, tpot_s and ttft_s in "
                "seconds. Sources and setups: `--format json`."])


def _apart_by_source(ctx: Context, cal: Calibration) -> dict[str, list]:
    """The held-apart points scored against the stored fit, by family/source (only they are predicted)."""
    apart = cal.points(apart=True)
    only = cal.model_copy(update={kind: tuple(p for k, p in apart if k == kind) for kind in ("inference", "training")})
    out: dict[str, list] = {}
    for c in check_all(ctx, only):
        out.setdefault(f"{c.family}/{c.point.source}", []).append(c)
    return out


def _span(pair, fmt: str) -> str:
    return "-" if pair is None else f"{pair[0]:{fmt}}-{pair[1]:{fmt}}"


def _cv_row(scope: str, sp: SeedSpread, seeds: int) -> dict:
    s = sp.pooled
    return {"scope": scope, "group": s.group, "points": s.n // seeds, "median_abs_error": s.median_abs_error,
            "within_25": s.within_25, "p10_error": float(np.expm1(s.p10)), "p90_error": float(np.expm1(s.p90)),
            "goal": sp.verdict(), "median_range": list(sp.median_range), "within_25_range": list(sp.within_range),
            "seeds_met": sp.seeds_met}


def calibration_cv_view(ctx: Context, cal: Calibration, fmt: str, folds: int, seed: int, seeds: int = 1) -> None:
    """Held-out error by family and stack; with `seeds` > 1 pooled over that many fold assignments,
    with each figure's range from one assignment to the next and whether every one meets the goal."""
    runs = []
    for s in range(seed, seed + seeds):
        tag = f"seed {s}: " if seeds > 1 else ""
        runs.append(cross_validate(ctx, cal, k=folds, seed=s, progress=lambda i, k, tag=tag: print(
            f"{tag}fold {i}/{k} fitted", file=sys.stderr, flush=True)))
    rows = [_cv_row(scope, sp, seeds) for scope, grouping in (("family", by_family), ("family/stack", by_stack))
            for sp in spread(runs, grouping)]
    document = {"folds": folds, "seed": seed, "seeds": list(range(seed, seed + seeds)), "goal": GOAL, "groups": rows,
                "points": [{"id": h.point.id, "family": h.family, "stack": h.point.stack, "kind": h.kind,
                            "seed": seed + i, "fold": h.fold, "held_out_error": h.error}
                           for i, run in enumerate(runs) for h in run]}
    cols = [Column("scope", "by", justify="left"), Column("group", "group", justify="left"),
            Column("points", "points", str), Column("median_abs_error", "median |error| %", lambda v: f"{v:.1%}"),
            Column("within_25", "within 25% (share)", _share)]
    if seeds > 1:
        cols += [Column("median_range", "median over seeds", lambda v: _span(v, ".1%"), justify="left"),
                 Column("within_25_range", "within 25% over seeds", lambda v: _span(v, ".0%"), justify="left")]
    cols += [Column("p10_error", "P10 error %", _pct), Column("p90_error", "P90 error %", _pct),
             Column("goal", "goal", justify="left")]
    for group, checks in _apart_by_source(ctx, cal).items():
        s = summarise(group, [c.log_throughput_error for c in checks])
        rows.append({"scope": "held apart", "group": group, "points": s.n, "median_abs_error": s.median_abs_error,
                     "within_25": s.within_25, "p10_error": float(np.expm1(s.p10)),
                     "p90_error": float(np.expm1(s.p90)), "goal": "-", "median_range": None,
                     "within_25_range": None, "seeds_met": None})
    emit(rows, fmt, cols, title=f"Held-out calibration error, {folds}-fold cross-validation over "
         f"{len(runs[0])} points" + (f", {seeds} fold assignments pooled" if seeds > 1 else ""),
         document=document, notes=_cv_notes(rows, folds, seed, seeds))


def _cv_notes(rows: list[dict], folds: int, seed: int, seeds: int) -> list[str]:
    seeds_text = f"seed {seed}" if seeds == 1 else (
        f"seeds {seed}..{seed + seeds - 1}, pooled: every point counts once per seed; the ranges are the lowest and "
        "highest figure of one seed; 'on the line': some seeds meet the goal and some do not, so the pooled figure "
        "cannot be called either way")
    notes = [f"Goal per family: {GOAL}. Error = predicted / published throughput - 1 (a latency point counts "
             "inverted); a point the model calls infeasible counts as 100%.",
             f"Each point predicted by a fit on the other {folds - 1} folds (drawn within each family, every "
             "measurement of one setup (model, chip, stack) kept in one fold, each fit started from neutral "
             f"factors; {seeds_text})."]
    if any(r["scope"] == "held apart" for r in rows):
        notes.append("Held apart: sources whose software the model has no input for, or that contradict their own "
                     "tables, scored against the stored "
                     "fit (which never saw them), by source; not in the family figures. Why: `polyfleet perf "
                     "calibration --format json`.")
    family = [r for r in rows if r["scope"] == "family" and r["group"] != "all"]
    missed = [r["group"] for r in family if r["goal"] == "missed"]
    on_line = [r["group"] for r in family if r["goal"].startswith("on the line")]
    if missed:
        notes.append("Goal missed for: " + ", ".join(missed) + ". Per point: `--format json`.")
    if on_line:
        notes.append("On the line: " + ", ".join(on_line) + ".")
    return notes


def compare_inference_view(ests, fmt: str, input_tokens: int, output_tokens: int, dtype: str, term: str,
                           slo: str, extra_notes: list[str] = ()) -> list[dict]:
    rows = []
    for i, e in enumerate(ests):
        d = e.to_dict()
        rows.append({"rank": i + 1, **d, "ttft_ms": None if e.ttft_s is None else e.ttft_s * 1e3,
                     "tpot_ms": None if e.tpot_s is None else e.tpot_s * 1e3,
                     "band": _range(e.output_tokens_per_s_per_chip_low, e.output_tokens_per_s_per_chip_high, 0),
                     "runtime_label": (e.runtime or "-") + (" *" if e.runtime_default else ""),
                     "limit": e.limit if e.feasible else e.reason})
    cols = [Column("rank", "#"), Column("accelerator", "chip", justify="left"),
            Column("runtime_label", "stack", justify="left"), Column("chips", "chips/replica"),
            Column("batch", "batch (seqs)"), Column("ttft_ms", "TTFT ms", num(0)), Column("tpot_ms", "TPOT ms", num(1)),
            Column("output_tokens_per_s_per_chip", "tok/s/chip", num(0)),
            Column("band", "tok/s/chip P10-P90", justify="left"),
            Column("usd_per_chip_hour", "$/chip-h", num(2)), Column("usd_per_million_output_tokens", "$/Mtok", num(3)),
            Column("joules_per_output_token", "J/tok", num(2)), Column("limit", "limited by", justify="left"),
            Column("price_status", "price status", justify="left"),
            Column("offering", "cheapest offering", justify="left")]
    title = (f"{ests[0].model} inference at {slo}; {input_tokens}/{output_tokens} tokens in/out, {dtype}, "
             f"{term} prices")
    assumptions = sorted({a for e in ests for a in e.assumptions})
    emit(rows, fmt, cols, title=title, document=rows,
         notes=["* the chip's most common serving stack, assumed (choose one with --runtime). "
                "P10-P90: band from the held-out calibration error of the chip family and stack.",
                "Prices: the cheapest known offering per chip; 'n/a' = no public price (give one with --catalog)."]
         + [f"assumption: {a}" for a in assumptions] + list(extra_notes))
    return rows


def compare_training_view(ests, fmt: str, tokens: float, seq_len: int, dtype: str, term: str, sizing: str,
                          extra_notes: list[str] = ()) -> list[dict]:
    rows = [{"rank": i + 1, **e.to_dict(), "limit": "" if e.feasible else e.reason, "mfu": e.mfu if e.feasible else None,
             "runtime_label": (e.runtime or "-") + (" *" if e.runtime_default else ""),
             "days_band": _range(e.days_low, e.days_high, 1)} for i, e in enumerate(ests)]
    cols = [Column("rank", "#"), Column("accelerator", "chip", justify="left"),
            Column("runtime_label", "stack", justify="left"), Column("chips", "chips"),
            Column("mfu", "MFU (share)", num(2)), Column("tokens_per_s_per_chip", "tok/s/chip", num(0)),
            Column("days", "days", num(1)), Column("days_band", "days P10-P90", justify="left"),
            Column("usd", "$ run", sig), Column("megawatt_hours", "MWh", num(0)),
            Column("limit", "infeasible because", justify="left"),
            Column("price_status", "price status", justify="left")]
    title = f"{ests[0].model} training, {tokens:.3g} tokens, seq {seq_len}, {dtype}, {term} prices; {sizing}"
    assumptions = sorted({a for e in ests for a in e.assumptions})
    emit(rows, fmt, cols, title=title, document=rows,
         notes=["* the chip's most common training stack, assumed (choose one with --runtime). "
                "days P10-P90: from the held-out calibration error of the chip family and stack.",
                "Prices: the cheapest known offering per chip; 'n/a' = no public price (give one with --catalog)."]
         + [f"assumption: {a}" for a in assumptions] + list(extra_notes))
    return rows


def _range(lo, hi, digits: int) -> str:
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return "-"
    a, b = sorted((lo, hi))
    return f"{a:,.{digits}f}-{b:,.{digits}f}"
