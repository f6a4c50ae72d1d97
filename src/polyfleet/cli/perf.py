"""`polyfleet perf ...` and `polyfleet compare`: price/performance of models on chips."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..catalog import TERMS
from ..errors import UserError
from ..perf import check_all, compare_inference, compare_training, estimate_inference, estimate_training
from ..perf.calibration import load_calibration
from ..report.tables import Column, emit, jsonable, num, sig
from . import app, options as opt, preflight
from .common import to_csv, write_outputs

perf_app = typer.Typer(help="Performance of one model on one chip, and the calibration behind it.",
                       no_args_is_help=True)
app.add_typer(perf_app, name="perf")

FORMAT = typer.Option("table", "--format", "-f", help="table, json or csv (printed on stdout).")
COMPARE_FILES = ("compare.json", "compare.csv")
TERM = typer.Option("on_demand", "--term", help="Price term: on_demand, spot, commit_1y or commit_3y.")


def _term(term: str) -> str:
    if term not in TERMS:
        raise UserError(f"unknown price term '{term}'", field="--term", allowed=", ".join(TERMS))
    return term


def _ms(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if value <= 0:
        raise UserError("must be positive", field=name)
    return value / 1e3


def _kv(d: dict) -> list[dict]:
    return [{"field": k, "value": v} for k, v in d.items() if k != "assumptions"]


def _show_estimate(est, fmt: str, title: str) -> None:
    d = est.to_dict()
    notes = [f"assumption: {a}" for a in est.assumptions]
    if not est.feasible:
        notes.insert(0, f"infeasible: {est.reason}")
    emit(_kv(d), fmt, [Column("field", "field", justify="left"), Column("value", "value", justify="left")],
         title=title, document=d, notes=notes)


@perf_app.command("inference", epilog="Examples:\n\n"
                  "  polyfleet perf inference --model llama-3.1-70b --accelerator h100\n\n"
                  "  polyfleet perf inference --model llama-3.3-70b --accelerator trillium --chips 8 "
                  "--ttft-ms 500 --tpot-ms 40 --format json")
def perf_inference(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", "-m", help="Model id or alias (see `polyfleet models`)."),
    accelerator: str = typer.Option(..., "--accelerator", "-a", help="Chip id or alias (see `polyfleet catalog`)."),
    chips: int | None = typer.Option(None, "--chips", help="Chips per replica; default: the cheapest size."),
    dtype: str = typer.Option("bf16", "--dtype", help="Weight dtype: bf16, fp8, int8, fp4."),
    kv_dtype: str | None = typer.Option(None, "--kv-dtype", help="KV-cache dtype (default: fp8 for fp8/fp4, else dtype)."),
    input_tokens: int = typer.Option(1000, "--input-tokens", help="Prompt tokens per request."),
    output_tokens: int = typer.Option(1000, "--output-tokens", help="Generated tokens per request."),
    ttft_ms: float | None = typer.Option(None, "--ttft-ms", help="Time-to-first-token SLO."),
    tpot_ms: float | None = typer.Option(None, "--tpot-ms", help="Time-per-output-token SLO."),
    batch: int | None = typer.Option(None, "--batch", help="Fixed batch (default: the largest meeting the SLOs)."),
    offering: str | None = typer.Option(None, "--offering", help="Price from this offering (default: cheapest)."),
    term: str = TERM,
    fmt: str = FORMAT,
) -> None:
    """Throughput, latency, $/million output tokens and J/token of one inference replica."""
    preflight.options(ctx, dtypes=preflight.WEIGHT_DTYPES)
    if chips is not None and chips < 1:
        raise UserError("must be at least 1", field="--chips")
    if batch is not None and batch < 1:
        raise UserError("must be at least 1", field="--batch")
    est = estimate_inference(model, accelerator, chips=chips, dtype=dtype, kv_dtype=kv_dtype,
                             input_tokens=input_tokens, output_tokens=output_tokens,
                             ttft_s=_ms(ttft_ms, "--ttft-ms"), tpot_s=_ms(tpot_ms, "--tpot-ms"), batch=batch,
                             offering=offering, term=_term(term), ctx=ctx.obj.context())
    _show_estimate(est, fmt, f"{est.model} on {est.accelerator} (inference)")


@perf_app.command("training", epilog="Examples:\n\n"
                  "  polyfleet perf training --model llama-3.1-70b --accelerator tpu-v5p --chips 1024\n\n"
                  "  polyfleet perf training --model llama-3.1-405b --accelerator h100 --chips 16384 "
                  "--tokens 15e12 --dtype fp8 --format json")
def perf_training(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", "-m", help="Model id or alias."),
    accelerator: str = typer.Option(..., "--accelerator", "-a", help="Chip id or alias."),
    chips: int = typer.Option(..., "--chips", help="Chips in the run."),
    seq_len: int = typer.Option(8192, "--seq-len", help="Training sequence length."),
    tokens: float = typer.Option(1e12, "--tokens", help="Training tokens in the run."),
    dtype: str = typer.Option("bf16", "--dtype", help="Compute dtype: bf16 or fp8."),
    offering: str | None = typer.Option(None, "--offering", help="Price from this offering (default: cheapest)."),
    term: str = TERM,
    fmt: str = FORMAT,
) -> None:
    """Tokens/s per chip, MFU, days, cost and energy of a training run."""
    preflight.options(ctx, dtypes=preflight.TRAINING_DTYPES)
    if dtype not in ("bf16", "fp8"):
        raise UserError(f"unknown training dtype '{dtype}'", field="--dtype", allowed="bf16, fp8")
    est = estimate_training(model, accelerator, chips, seq_len=seq_len, tokens=tokens, dtype=dtype,
                            offering=offering, term=_term(term), ctx=ctx.obj.context())
    _show_estimate(est, fmt, f"{est.model} on {chips} x {est.accelerator} (training)")


@perf_app.command("calibration", epilog="Examples:\n\n  polyfleet perf calibration\n\n"
                  "  polyfleet perf calibration --format csv > calibration.csv")
def perf_calibration(ctx: typer.Context, fmt: str = FORMAT) -> None:
    """Every published point the model is calibrated on: predicted vs published, error and tolerance."""
    preflight.options(ctx)
    cal = load_calibration()
    checks = check_all(ctx.obj.context(), cal)
    rows = [{"id": c.point.id, "kind": c.kind, "model": c.point.model, "accelerator": c.point.accelerator,
             "chips": c.point.chips, "dtype": c.point.dtype, "metric": c.metric, "published": c.point.published,
             "predicted": c.predicted, "error_pct": 100 * c.error, "tolerance_pct": 100 * c.point.tolerance,
             "within": c.within, "source": cal.source_ref(c.point.source), "note": c.point.note} for c in checks]
    inside = sum(c.within for c in checks)
    cols = [Column("id", "point", justify="left"), Column("metric", "metric", justify="left"),
            Column("published", "published"), Column("predicted", "predicted", sig),
            Column("error_pct", "error %", num(1)), Column("tolerance_pct", "tol %", num(0)),
            Column("within", "ok", lambda v: "yes" if v else "NO")]
    if fmt == "csv":
        cols += [Column("source", "source"), Column("note", "note")]
    emit(rows, fmt, cols, title=f"Calibration: {inside}/{len(checks)} points within tolerance",
         notes=["Sources and setups: `--format json`. Efficiency factors: perf/data/efficiency.yaml."])


@app.command(epilog="Examples:\n\n"
             "  polyfleet compare --model llama-3.1-70b --inference\n\n"
             "  polyfleet compare --model llama-3.1-8b --inference --input-tokens 2000 --output-tokens 200 "
             "--tpot-ms 30\n\n"
             "  polyfleet compare --model llama-3.1-405b --training --tokens 15e12 --dtype fp8")
def compare(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", "-m", help="Model id or alias."),
    inference: bool = typer.Option(False, "--inference", help="Rank by $ per million output tokens."),
    training: bool = typer.Option(False, "--training", help="Rank by $ per training run."),
    dtype: str = typer.Option("bf16", "--dtype", help="Weights (inference) or compute (training) dtype."),
    input_tokens: int = typer.Option(1000, "--input-tokens", help="Inference: prompt tokens."),
    output_tokens: int = typer.Option(1000, "--output-tokens", help="Inference: generated tokens."),
    ttft_ms: float | None = typer.Option(None, "--ttft-ms", help="Inference: TTFT SLO."),
    tpot_ms: float | None = typer.Option(None, "--tpot-ms", help="Inference: TPOT SLO."),
    tokens: float = typer.Option(1e12, "--tokens", help="Training: tokens in the run."),
    seq_len: int = typer.Option(8192, "--seq-len", help="Training: sequence length."),
    chips: int | None = typer.Option(None, "--chips", help="Training: chips (default: max(256, minimum that fits))."),
    term: str = TERM,
    out: Path | None = opt.OUT,
    fmt: str = FORMAT,
    overwrite: bool = opt.OVERWRITE,
) -> None:
    """Every chip ranked by price/performance, with throughput, energy and what limits each."""
    if inference == training:
        raise UserError("choose one of --inference or --training", field="--inference/--training")
    preflight.options(ctx, outputs=COMPARE_FILES,
                      dtypes=preflight.WEIGHT_DTYPES if inference else preflight.TRAINING_DTYPES)
    c = ctx.obj.context()
    term = _term(term)
    if inference:
        ests = compare_inference(model, dtype=dtype, input_tokens=input_tokens, output_tokens=output_tokens,
                                 ttft_s=_ms(ttft_ms, "--ttft-ms"), tpot_s=_ms(tpot_ms, "--tpot-ms"), term=term, ctx=c)
        rows = [{"rank": i + 1, **e.to_dict(),
                 "limit": e.limit if e.feasible else e.reason} for i, e in enumerate(ests)]
        cols = [Column("rank", "#"), Column("accelerator", "chip", justify="left"), Column("chips", "chips"),
                Column("batch", "batch"), Column("output_tokens_per_s_per_chip", "tok/s/chip", num(0)),
                Column("usd_per_chip_hour", "$/chip-h", num(2)),
                Column("usd_per_million_output_tokens", "$/Mtok", num(3)),
                Column("joules_per_output_token", "J/tok", num(2)), Column("limit", "limited by", justify="left"),
                Column("price_status", "price", justify="left"), Column("offering", "cheapest offering", justify="left")]
        title = (f"{ests[0].model} inference, {input_tokens}/{output_tokens} tokens, {dtype}, {term} prices"
                 + (f", TTFT<={ttft_ms:g} ms" if ttft_ms else "") + (f", TPOT<={tpot_ms:g} ms" if tpot_ms else ""))
    else:
        if dtype not in ("bf16", "fp8"):
            raise UserError(f"unknown training dtype '{dtype}'", field="--dtype", allowed="bf16, fp8")
        ests = compare_training(model, tokens=tokens, seq_len=seq_len, chips=chips, dtype=dtype, term=term, ctx=c)
        rows = [{"rank": i + 1, **e.to_dict(), "limit": "" if e.feasible else e.reason} for i, e in enumerate(ests)]
        cols = [Column("rank", "#"), Column("accelerator", "chip", justify="left"), Column("chips", "chips"),
                Column("mfu", "MFU", num(2)), Column("tokens_per_s_per_chip", "tok/s/chip", num(0)),
                Column("days", "days", num(1)), Column("usd", "$ run", sig), Column("megawatt_hours", "MWh", num(0)),
                Column("limit", "infeasible because", justify="left"), Column("price_status", "price", justify="left")]
        title = f"{ests[0].model} training, {tokens:.3g} tokens, seq {seq_len}, {dtype}, {term} prices"
    assumptions = sorted({a for e in ests for a in e.assumptions})
    if out is not None:
        write_outputs(out, {"compare.json": json.dumps(jsonable(rows), indent=1), "compare.csv": to_csv(rows)},
                      overwrite)
    emit(rows, fmt, cols, title=title, document=rows,
         notes=["Prices: the cheapest known offering per chip; 'n/a' = no public price (give one with --catalog)."]
         + [f"assumption: {a}" for a in assumptions])
