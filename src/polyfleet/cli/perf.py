"""`polyfleet perf ...` and `polyfleet compare`: price/performance of models on chips."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from ..catalog import TERMS
from ..catalog.freshness import DEFAULT_MAX_PRICE_AGE_DAYS, stale_note, stale_prices
from ..errors import UserError
from ..perf import compare_inference, compare_training, estimate_inference, estimate_training
from ..perf.calibration import load_calibration
from ..perf.compare import INTERACTIVE_TPOT_S, INTERACTIVE_TTFT_S
from ..report.tables import Column, emit, jsonable
from . import app, options as opt, preflight
from .common import to_csv, write_outputs
from .perf_views import calibration_cv_view, calibration_view, compare_inference_view, compare_training_view

perf_app = typer.Typer(help="Performance of one model on one chip, and the calibration behind it.",
                       no_args_is_help=True)
app.add_typer(perf_app, name="perf")

FORMAT = typer.Option("table", "--format", "-f", help="table, json or csv (printed on stdout).")
COMPARE_FILES = ("compare.json", "compare.csv")
TERM = typer.Option("on_demand", "--term", help="Price term: on_demand, spot, commit_1y or commit_3y.")
RUNTIME = typer.Option(None, "--runtime", "-r", help="Software stack (vllm, sglang, trtllm, jetstream, nxdi, "
                       "maxtext, megatron, torchtitan, nxdt, ...); default: each chip's most common one.")


def _term(term: str) -> str:
    if term not in TERMS:
        raise UserError(f"unknown price term '{term}'", field="--term", allowed=", ".join(TERMS))
    return term


def _ms(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        raise UserError("must be a positive number", field=name)
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
    kv_dtype: str | None = typer.Option(None, "--kv-dtype", help="KV-cache dtype (default: fp8 for "
                                            "fp8/fp4, else dtype)."),
    input_tokens: int = typer.Option(1000, "--input-tokens", help="Prompt tokens per request."),
    output_tokens: int = typer.Option(1000, "--output-tokens", help="Generated tokens per request."),
    ttft_ms: float | None = typer.Option(None, "--ttft-ms", help="Time-to-first-token SLO on the mean (as --tpot-ms)."),
    tpot_ms: float | None = typer.Option(None, "--tpot-ms", help="Time-per-output-token SLO on the mean step of a "
                                         "steady batch; for a P99 limit give less (MLPerf logs: P99 TPOT 1.1-1.6x "
                                         "the mean)."),
    batch: int | None = typer.Option(None, "--batch", help="Fixed batch: the sequences the replica decodes "
                                       "together (a benchmark's concurrency, or its requests/s x (mean latency "
                                       "- mean TTFT); default: the largest meeting the SLOs)."),
    compiled_batch: int | None = typer.Option(None, "--compiled-batch", help="Batch a static-shape engine (Neuron) "
                                              "was compiled for: each decode step computes that many slots, "
                                              "however few requests it serves."),
    attention_dp: bool = typer.Option(False, "--attention-dp", help="Attention runs data-parallel over the "
                                      "replica's chips (TensorRT-LLM DEP): no KV head is copied across chips, "
                                      "and each chip holds the weights outside the routed experts whole."),
    offering: str | None = typer.Option(None, "--offering", help="Price from this offering (default: cheapest)."),
    system_chips: int | None = typer.Option(None, "--system-chips", help="Serve a box of this many chips as "
                                            "several replicas (the replica size divides it)."),
    runtime: str | None = RUNTIME,
    term: str = TERM,
    fmt: str = FORMAT,
) -> None:
    """Throughput, latency, $/million output tokens and J/token of one inference replica, with the
    P10-P90 band from the held-out calibration error of its chip family and stack."""
    preflight.options(ctx, dtypes=preflight.WEIGHT_DTYPES)
    if chips is not None and chips < 1:
        raise UserError("must be at least 1", field="--chips")
    if batch is not None and batch < 1:
        raise UserError("must be at least 1", field="--batch")
    est = estimate_inference(model, accelerator, chips=chips, dtype=dtype, kv_dtype=kv_dtype,
                             input_tokens=input_tokens, output_tokens=output_tokens,
                             ttft_s=_ms(ttft_ms, "--ttft-ms"), tpot_s=_ms(tpot_ms, "--tpot-ms"), batch=batch,
                             offering=offering, term=_term(term), runtime=runtime, system_chips=system_chips,
                             compiled_batch=compiled_batch, attention_dp=attention_dp, ctx=ctx.obj.context())
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
    runtime: str | None = RUNTIME,
    term: str = TERM,
    fmt: str = FORMAT,
) -> None:
    """Tokens/s per chip, MFU, days, cost and energy of a training run, with the P10-P90 band from
    the held-out calibration error of its chip family and stack."""
    preflight.options(ctx, dtypes=preflight.TRAINING_DTYPES)
    if dtype not in ("bf16", "fp8"):
        raise UserError(f"unknown training dtype '{dtype}'", field="--dtype", allowed="bf16, fp8")
    est = estimate_training(model, accelerator, chips, seq_len=seq_len, tokens=tokens, dtype=dtype,
                            offering=offering, term=_term(term), runtime=runtime, ctx=ctx.obj.context())
    _show_estimate(est, fmt, f"{est.model} on {chips} x {est.accelerator} (training)")


@perf_app.command("calibration", epilog="Examples:\n\n  polyfleet perf calibration\n\n"
                  "  polyfleet perf calibration --cv\n\n"
                  "  polyfleet perf calibration --cv --folds 10 --format json\n\n"
                  "  polyfleet perf calibration --cv --seeds 5")
def perf_calibration(
    ctx: typer.Context,
    cv: bool = typer.Option(False, "--cv", help="k-fold cross-validated (held-out) error by chip family and "
                            "stack: each point predicted by a fit that never saw it."),
    folds: int = typer.Option(5, "--folds", help="With --cv: number of folds."),
    seed: int = typer.Option(0, "--seed", help="With --cv: seed of the fold assignment."),
    seeds: int = typer.Option(1, "--seeds", help="With --cv: pool this many fold assignments (seeds --seed, "
                              "--seed + 1, ...) and show each figure's range over them; about a minute each."),
    fmt: str = FORMAT,
) -> None:
    """Every published point the model is judged on: in-sample check, or held-out error with --cv."""
    preflight.options(ctx)
    if not cv:
        if folds != 5 or seed != 0 or seeds != 1:
            raise UserError("--folds, --seed and --seeds only apply with --cv", field="--folds/--seed/--seeds")
        calibration_view(ctx.obj.context(), load_calibration(), fmt)
        return
    if folds < 2:
        raise UserError("must be at least 2", field="--folds")
    if seed < 0:
        raise UserError("must be 0 or more", field="--seed")
    if seeds < 1:
        raise UserError("must be at least 1", field="--seeds")
    calibration_cv_view(ctx.obj.context(), load_calibration(), fmt, folds, seed, seeds)


@app.command(epilog="Examples:\n\n"
             "  polyfleet compare --model llama-3.1-70b --inference\n\n"
             "  polyfleet compare --model llama-3.1-8b --inference --input-tokens 2000 --output-tokens 200 "
             "--tpot-ms 30 --runtime vllm\n\n"
             "  polyfleet compare --model llama-3.1-405b --training --tokens 15e12 --dtype fp8 --days 90\n\n"
             "  polyfleet compare --model llama-3.1-70b --training --chips 1024 --format csv")
def compare(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", "-m", help="Model id or alias."),
    inference: bool = typer.Option(False, "--inference", help="Rank by $ per million output tokens."),
    training: bool = typer.Option(False, "--training", help="Rank by $ per training run."),
    dtype: str = typer.Option("bf16", "--dtype", help="Weights (inference) or compute (training) dtype."),
    input_tokens: int = typer.Option(1000, "--input-tokens", help="Inference: prompt tokens."),
    output_tokens: int = typer.Option(1000, "--output-tokens", help="Inference: generated tokens."),
    ttft_ms: float | None = typer.Option(None, "--ttft-ms", help=f"Inference: TTFT SLO in ms (default "
                                         f"{INTERACTIVE_TTFT_S * 1e3:g}, interactive)."),
    tpot_ms: float | None = typer.Option(None, "--tpot-ms", help=f"Inference: TPOT SLO in ms, on the mean step "
                                         f"(default {INTERACTIVE_TPOT_S * 1e3:g}, interactive)."),
    no_slo: bool = typer.Option(False, "--no-slo", help="Inference: no latency target (offline throughput)."),
    attention_dp: bool = typer.Option(False, "--attention-dp", help="Inference: attention data-parallel over each "
                                      "replica's chips (TensorRT-LLM DEP): one copy of the KV cache, the weights "
                                      "outside the routed experts on every chip."),
    tokens: float = typer.Option(1e12, "--tokens", help="Training: tokens in the run."),
    seq_len: int = typer.Option(8192, "--seq-len", help="Training: sequence length."),
    days: float | None = typer.Option(None, "--days", help="Training: size each chip type to finish in this "
                                      "many days (default 90)."),
    chips: int | None = typer.Option(None, "--chips", help="Training: run every chip type at this many chips."),
    runtime: str | None = RUNTIME,
    term: str = TERM,
    max_price_age: int = typer.Option(DEFAULT_MAX_PRICE_AGE_DAYS, "--max-price-age", metavar="DAYS",
                                      help="Warn when a price used is older than this many days."),
    out: Path | None = opt.OUT,
    fmt: str = FORMAT,
    overwrite: bool = opt.OVERWRITE,
) -> None:
    """Every chip ranked by price/performance at a stated target, with its band, latency and energy."""
    if inference == training:
        raise UserError("choose one of --inference or --training", field="--inference/--training")
    preflight.options(ctx, outputs=COMPARE_FILES,
                      dtypes=preflight.WEIGHT_DTYPES if inference else preflight.TRAINING_DTYPES)
    c = ctx.obj.context()
    term = _term(term)
    if inference:
        if chips is not None or days is not None:
            raise UserError("--chips and --days apply to --training", field="--chips/--days")
        if no_slo and (ttft_ms is not None or tpot_ms is not None):
            raise UserError("--no-slo cannot be combined with --ttft-ms/--tpot-ms", field="--no-slo")
        ttft = None if no_slo else (_ms(ttft_ms, "--ttft-ms") if ttft_ms is not None else INTERACTIVE_TTFT_S)
        tpot = None if no_slo else (_ms(tpot_ms, "--tpot-ms") if tpot_ms is not None else INTERACTIVE_TPOT_S)
        ests = compare_inference(model, dtype=dtype, input_tokens=input_tokens, output_tokens=output_tokens,
                                 ttft_s=ttft, tpot_s=tpot, term=term, runtime=runtime, attention_dp=attention_dp,
                                 ctx=c)
        slo = ("no latency target (offline throughput)" if no_slo else
               f"{'interactive ' if ttft_ms is None and tpot_ms is None else ''}SLO TTFT <= {ttft * 1e3:g} ms, "
               f"TPOT <= {tpot * 1e3:g} ms")
        rows = compare_inference_view(ests, fmt, input_tokens, output_tokens, dtype, term, slo,
                               _stale(c, ests, term, max_price_age))
    else:
        if dtype not in ("bf16", "fp8"):
            raise UserError(f"unknown training dtype '{dtype}'", field="--dtype", allowed="bf16, fp8")
        if no_slo or ttft_ms is not None or tpot_ms is not None or attention_dp:
            raise UserError("--ttft-ms, --tpot-ms, --no-slo and --attention-dp apply to --inference",
                            field="--ttft-ms/--tpot-ms/--no-slo/--attention-dp")
        if chips is not None and chips < 1:
            raise UserError("must be at least 1", field="--chips")
        ests, sizing = compare_training(model, tokens=tokens, seq_len=seq_len, chips=chips, days=days, dtype=dtype,
                                        term=term, runtime=runtime, ctx=c)
        rows = compare_training_view(ests, fmt, tokens, seq_len, dtype, term, sizing.describe(),
                              _stale(c, ests, term, max_price_age))
    if out is not None:
        write_outputs(out, {"compare.json": json.dumps(jsonable(rows), indent=1), "compare.csv": to_csv(rows)},
                      overwrite)


def _stale(c, ests, term: str, max_age: int) -> list[str]:
    """A warning when a price the ranking used is older than `max_age` days."""
    if max_age < 0:
        raise UserError("must be 0 or more", field="--max-price-age")
    used = [e.offering for e in ests if e.offering and e.usd_per_chip_hour is not None]
    note = stale_note([s for s in stale_prices(c.catalog, max_age, offerings=used) if s.term == term], max_age)
    return [note] if note else []
