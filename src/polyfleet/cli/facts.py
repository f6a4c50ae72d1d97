"""`polyfleet catalog` and `polyfleet models`: the facts, with their sources."""

from __future__ import annotations

import typer

from ..catalog import FAMILIES, TERMS
from ..catalog.freshness import DEFAULT_MAX_PRICE_AGE_DAYS, price_age_days, stale_note, stale_prices
from ..errors import UserError
from ..report.tables import Column, emit, num
from . import app, preflight
from .state import State

FORMAT = typer.Option("table", "--format", "-f", help="table, json or csv.")


@app.command(epilog="Examples:\n\n  polyfleet catalog\n\n  polyfleet catalog --family tpu --what offerings\n\n"
                    "  polyfleet --catalog prices.csv catalog --provider aws --format json")
def catalog(
    ctx: typer.Context,
    family: str | None = typer.Option(None, "--family", help="tpu, trainium or gpu."),
    provider: str | None = typer.Option(None, "--provider", help="Only this provider's offerings."),
    what: str = typer.Option("accelerators", "--what", help="accelerators or offerings."),
    max_price_age: int = typer.Option(DEFAULT_MAX_PRICE_AGE_DAYS, "--max-price-age", metavar="DAYS",
                                      help="Warn about prices older than this many days."),
    fmt: str = FORMAT,
) -> None:
    """The chips and where to rent them, every figure with its source and status."""
    preflight.options(ctx)
    state: State = ctx.obj
    cat = state.context().catalog
    if family and family not in FAMILIES:
        raise UserError(f"unknown family '{family}'", field="--family", allowed=", ".join(FAMILIES))
    if what not in ("accelerators", "offerings"):
        raise UserError(f"unknown listing '{what}'", field="--what", allowed="accelerators, offerings")
    if max_price_age < 0:
        raise UserError("must be 0 or more", field="--max-price-age")
    cat = cat.filter(families=[family] if family else None, providers=[provider] if provider else None)
    stale = stale_note(stale_prices(cat, max_price_age), max_price_age)
    if what == "accelerators":
        rows = []
        offered = {o.accelerator for o in cat.offerings.values()}
        for a in cat.accelerators.values():
            if provider and a.id not in offered:
                continue            # --provider: only the chips that provider rents
            tdp = a.figure("tdp_watts")
            rows.append({"id": a.id, "name": a.name, "vendor": a.vendor, "family": a.family, "year": a.year,
                         "bf16_tflops": a.bf16_tflops.value, "fp8_tflops": a.fp8_tflops.value,
                         "fp4_tflops": a.fp4_tflops.value, "hbm_gb": a.hbm_gb.value, "hbm_tbps": a.hbm_tbps.value,
                         "scaleup_chips": a.scaleup_chips.value, "tdp_watts": tdp.value,
                         "tdp_status": tdp.label(), "runtimes": ", ".join(cat.runtimes_for(a.id)),
                         "status": a.bf16_tflops.status, "source": a.bf16_tflops.source,
                         "aliases": ", ".join(a.aliases)})
        doc = [a.model_dump(mode="json") for a in cat.accelerators.values() if not provider or a.id in offered]
        cols = [Column("id", "id", justify="left"), Column("vendor", "vendor", justify="left"),
                Column("year", "year", str), Column("bf16_tflops", "BF16 TF"), Column("fp8_tflops", "FP8 TF"),
                Column("fp4_tflops", "FP4 TF"), Column("hbm_gb", "HBM GB"), Column("hbm_tbps", "TB/s"),
                Column("scaleup_chips", "scale-up"), Column("tdp_watts", "TDP W"),
                Column("tdp_status", "TDP status", justify="left"), Column("status", "spec status", justify="left")]
        if fmt == "csv":
            cols += [Column("runtimes", "runtimes"), Column("source", "source"), Column("aliases", "aliases")]
        title = "Accelerators (dense peak per chip)" + (f" rented by {provider}" if provider else "")
        emit(rows, fmt, cols, title=title, document=doc,
             notes=["Units: TFLOP/s dense per chip, HBM in GB and TB/s, scale-up domain in chips, TDP in W. "
                    "Unknown figures show 'n/a'; an assumed TDP is marked '(assumed)'. "
                    "`--format json` carries every figure's source, status and date."] + ([stale] if stale else []))
    elif what == "offerings":
        rows = []
        for o in cat.offerings.values():
            row = {"id": o.id, "provider": o.provider, "region": o.region, "accelerator": o.accelerator,
                   "instance": o.instance, "unit_chips": o.unit_chips}
            for t in TERMS:
                row[t] = o.price(t).value
            od = o.on_demand if o.on_demand.known else next((o.price(t) for t in TERMS if o.price(t).known), None)
            row["status"] = od.status if od else "unknown"
            row["as_of"] = od.as_of.isoformat() if od and od.as_of else None
            row["age_days"] = price_age_days(od.as_of) if od else None
            row["source"] = od.source if od else None
            rows.append(row)
        doc = [o.model_dump(mode="json") for o in cat.offerings.values()]
        money = num(3)
        cols = [Column("id", "offering", justify="left"), Column("unit_chips", "chips/unit"),
                Column("on_demand", "on-demand $/chip-h", money), Column("spot", "spot", money),
                Column("commit_1y", "1y", money), Column("commit_3y", "3y", money),
                Column("status", "status", justify="left"), Column("as_of", "as of", justify="left"),
                Column("age_days", "age (days)", lambda v: "-" if v is None else f"{v:,}")]
        if fmt == "csv":
            cols += [Column("source", "source")]
        emit(rows, fmt, cols, title="Offerings (USD per chip-hour)", document=doc,
             notes=["'n/a' = no public price found (unknowns stay unknown; give yours with --catalog FILE)."]
             + ([stale] if stale else []))


@app.command(epilog="Examples:\n\n  polyfleet models\n\n  polyfleet --models my-models.yaml models --format json")
def models(ctx: typer.Context, fmt: str = FORMAT) -> None:
    """The model library: architectures and what follows from them (parameters, FLOPs, KV cache)."""
    preflight.options(ctx)
    lib = ctx.obj.context().models
    rows = [{"id": m.id, "layers": m.layers, "d_model": m.d_model, "heads": m.heads, "kv_heads": m.kv_heads,
             "experts": f"{m.moe.active}/{m.moe.experts}" if m.moe else "-",
             "params_b": m.params_total / 1e9, "active_params_b": m.params_active / 1e9,
             "gflops_per_token": 2 * m.matmul_params_active / 1e9,
             "kv_kib_per_token_bf16": m.kv_bytes_per_token("bf16") / 1024, "context": m.context,
             "source": m.source} for m in lib]
    doc = [{**m.model_dump(mode="json"), "params_total": m.params_total, "params_active": m.params_active,
            "kv_bytes_per_token": {d: m.kv_bytes_per_token(d) for d in ("bf16", "fp8")},
            "forward_flops_per_token": 2 * m.matmul_params_active} for m in lib]
    cols = [Column("id", "model", justify="left"), Column("layers", "layers"), Column("d_model", "d_model"),
            Column("heads", "heads"), Column("kv_heads", "kv"), Column("experts", "experts"),
            Column("params_b", "params (B)", num(2)), Column("active_params_b", "active (B)", num(2)),
            Column("gflops_per_token", "GFLOP/token", num(1)), Column("kv_kib_per_token_bf16", "KV KiB/token"),
            Column("context", "context")]
    if fmt == "csv":
        cols.append(Column("source", "source"))
    emit(rows, fmt, cols, title="Models", document=doc,
         notes=["GFLOP/token: forward matmuls (2 x active parameters); KV: BF16 cache per token, all layers."])
