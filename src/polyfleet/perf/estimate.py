"""One-off estimates for a model on a chip: the library face of `polyfleet perf` and `compare`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..catalog import Catalog, load_catalog
from ..catalog.model import Accelerator, Term
from ..errors import UserError
from ..workloads.models import BYTES, ModelLibrary, ModelSpec, load_models
from . import inference as inf
from . import training as tr
from .arrays import ChipArrays, ModelArrays
from .efficiency import Efficiency, default_efficiency
from .portability import STACK_TRAITS, StackChoice, choose_stack, matmul_dtype, stack_traits
from .power import it_watts_per_chip
from .recipes import recipe_arrays
from .uncertainty import band_for

SECONDS_PER_HOUR = 3600.0


@dataclass
class Context:
    """The facts an estimate reads: catalog, models, efficiency factors."""

    catalog: Catalog = field(default_factory=load_catalog)
    models: ModelLibrary = field(default_factory=load_models)
    efficiency: Efficiency = field(default_factory=default_efficiency)

    def model(self, m: str | ModelSpec) -> ModelSpec:
        return m if isinstance(m, ModelSpec) else self.models.get(m)

    def accelerator(self, a: str | Accelerator) -> Accelerator:
        return a if isinstance(a, Accelerator) else self.catalog.accelerator(a)


@dataclass(frozen=True)
class Price:
    usd_per_chip_hour: float | None
    offering: str | None
    term: str
    source: str | None
    status: str | None


def pick_price(ctx: Context, acc: Accelerator, offering: str | None = None, term: Term = "on_demand") -> Price:
    """The offering's price, or the cheapest known price for this chip across offerings."""
    if offering:
        off = ctx.catalog.offering(offering)
        if off.accelerator != acc.id:
            raise UserError(f"offering {offering} rents {off.accelerator}, not {acc.id}", field="--offering")
        cands = [off]
    else:
        cands = ctx.catalog.offerings_of(acc.id)
    priced = [(o.price(term).value, o) for o in cands if o.price(term).known]
    if not priced:
        return Price(None, cands[0].id if offering else None, term, None, None)
    value, off = min(priced, key=lambda p: p[0])
    fig = off.price(term)
    return Price(value, off.id, term, fig.source, fig.status)


@dataclass
class InferenceEstimate:
    model: str
    accelerator: str
    feasible: bool
    reason: str
    chips: int
    batch: int
    dtype: str
    compute_dtype: str
    runtime: str | None
    input_tokens: int
    output_tokens: int
    ttft_s: float | None
    tpot_s: float | None
    output_tokens_per_s: float
    output_tokens_per_s_per_chip: float
    limit: str
    min_chips: int | None
    offering: str | None
    usd_per_chip_hour: float | None
    usd_per_million_output_tokens: float | None
    watts_per_chip: float | None
    joules_per_output_token: float | None
    price_source: str | None = None
    price_status: str = "unknown"
    assumptions: list[str] = field(default_factory=list)
    runtime_default: bool = False
    replicas: int = 1
    output_tokens_per_s_per_chip_low: float | None = None
    output_tokens_per_s_per_chip_high: float | None = None
    usd_per_million_output_tokens_low: float | None = None     # at the high end of throughput
    usd_per_million_output_tokens_high: float | None = None
    band: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def family_of(acc: Accelerator) -> str:
    """tpu, trainium, nvidia or amd: the groups the calibration reports on."""
    return {"google": "tpu", "aws": "trainium"}.get(acc.vendor, acc.vendor)


def stack_note(acc: Accelerator, choice: StackChoice, use: str) -> list[str]:
    out = []
    if choice.default:
        out.append(f"{choice.stack} assumed on {acc.platform}: its most common {use} stack (choose another with "
                   "--runtime)")
    if choice.stack and not choice.fitted:
        out.append(f"{choice.stack} on {acc.platform}: efficiency is an estimate (no published result pins it)")
    return out


def chip_note(acc: Accelerator, eff: Efficiency, use: str) -> list[str]:
    """Say so when published results on this chip move it off its platform's efficiency."""
    f = eff.chip_factor(acc.id, use)
    if abs(f - 1.0) < 0.005:
        return []
    return [f"{acc.id} runs at {f:.2f}x its platform's fitted {use} efficiency (a factor fitted to the published "
            f"results on this chip, pulled toward 1)"]


def chip_candidates(acc: Accelerator, limit: int = 64) -> list[int]:
    domain = int(acc.figure("scaleup_chips").value or 1)
    out, c = [], 1
    while c <= min(domain, limit):
        out.append(c)
        c *= 2
    if domain not in out and domain <= limit:
        out.append(domain)
    return out


def estimate_inference(model: str | ModelSpec, accelerator: str | Accelerator, *, chips: int | None = None,
                       dtype: str = "bf16", kv_dtype: str | None = None, input_tokens: int = 1000,
                       output_tokens: int = 1000, ttft_s: float | None = None, tpot_s: float | None = None,
                       batch: int | None = None, offering: str | None = None, term: Term = "on_demand",
                       runtimes: tuple[str, ...] = (), runtime: str | None = None, system_chips: int | None = None,
                       compiled_batch: int | None = None, attention_dp: bool = False,
                       ctx: Context | None = None) -> InferenceEstimate:
    """Throughput, latency, $/Mtok and J/token of one replica; `chips=None` picks the cheapest size.

    `system_chips` serves a box of that many chips as several replicas: the replica size divides
    it and the estimate reports how many replicas the box holds. `compiled_batch` is the batch a
    static-shape engine (Neuron) was compiled for: every decode step computes that many slots,
    however few requests it serves. `attention_dp` runs attention data-parallel over the replica's
    chips (TensorRT-LLM DEP): no KV head is copied, and every chip holds the non-expert weights."""
    ctx = ctx or Context()
    spec, acc = ctx.model(model), ctx.accelerator(accelerator)
    kv_dtype = kv_dtype or ("fp8" if dtype in ("fp8", "fp4") else dtype)
    for name, val in (("dtype", dtype), ("kv dtype", kv_dtype)):
        if val not in BYTES:
            raise UserError(f"unknown {name} '{val}'", field=f"--{name.replace(' ', '-')}", allowed=", ".join(BYTES))
    if input_tokens < 1 or output_tokens < 1:
        raise UserError("token counts must be at least 1", field="--input-tokens/--output-tokens")
    if compiled_batch is not None and compiled_batch < 1:
        raise UserError("must be at least 1", field="--compiled-batch")
    if compiled_batch is not None and batch is not None and batch > compiled_batch:
        raise UserError(f"a batch of {batch} does not fit an engine compiled for {compiled_batch}",
                        field="--batch", allowed=f"1..{compiled_batch}")
    choice = choose_stack(ctx.catalog, acc, "inference", runtimes, runtime, ctx.efficiency)
    rt_eff, rt, rt_reason = choice.efficiency, choice.stack, choice.reason
    traits = dict(zip(STACK_TRAITS, stack_traits(ctx.catalog, rt)))
    sizes = [chips] if chips else chip_candidates(acc)
    if system_chips is not None:
        if system_chips < 1:
            raise UserError("must be at least 1", field="--system-chips")
        sizes = [c for c in sizes if system_chips % c == 0] or [system_chips]
    M = ModelArrays.build([(spec, dtype, kv_dtype)])
    mm_dtype = matmul_dtype(ctx.catalog, rt, dtype)
    H = ChipArrays.build([(acc, mm_dtype)], ctx.efficiency)
    n = len(sizes)
    inf_ = float("inf")
    cases = inf.InferenceCases(
        model=np.zeros(n, int), chip=np.zeros(n, int), chips=np.array(sizes, float),
        input_tokens=np.full(n, float(input_tokens)), output_tokens=np.full(n, float(output_tokens)),
        ttft_slo_s=np.full(n, ttft_s or inf_), tpot_slo_s=np.full(n, tpot_s or inf_),
        batch=np.full(n, float(batch or 0)), runtime_eff=np.full(n, rt_eff or 1.0),
        compiled_batch=np.full(n, float(compiled_batch or 0)), attention_dp=np.full(n, attention_dp),
        **{k: np.full(n, v) for k, v in traits.items()})
    res = inf.estimate(M, H, cases)
    per_chip = np.where(res.feasible, res.tokens_per_s_per_chip, -1.0)
    # the cheapest feasible size; when none works, the largest tried (its reason tells most)
    i = int(np.argmax(per_chip)) if res.feasible.any() else len(sizes) - 1
    feasible = bool(res.feasible[i]) and rt_eff > 0
    reason = rt_reason if rt_eff == 0 else inf.REASONS[int(res.reason[i])]
    if rt_eff > 0 and res.reason[i] == inf.BATCH_NO_FIT:
        reason += f" (room for {res.max_batch_memory[i]:,.0f})"
    elif rt_eff > 0 and res.reason[i] == inf.BATCH_OVER_ENGINE:
        reason += f" (at most {res.max_batch_engine[i]:,.0f})"
    min_chips = res.min_chips[i]
    if not feasible and rt_eff > 0:
        reason += _needs_more_chips(acc, min_chips, sizes[i])
    price = pick_price(ctx, acc, offering, term)
    watts = it_watts_per_chip(acc)
    assumptions = [f"{acc.id} {k}: {v.value:g} ({v.note})" for k, v in acc.assumed.items()
                   if not getattr(acc, k).known and k != "tdp_watts"]
    if watts.assumed:
        assumptions.append(f"{acc.id} IT watts/chip {watts.value:g}: {watts.note}")
    if mm_dtype != dtype:
        assumptions.append(f"{rt} quantizes weights only: {dtype} weights, {H.compute_dtype[0]} matmuls")
    elif H.compute_dtype[0] != dtype:
        assumptions.append(f"{acc.id} has no {dtype} peak: matmuls run in {H.compute_dtype[0]} (weight-only {dtype})")
    assumptions += stack_note(acc, choice, "serving") + chip_note(acc, ctx.efficiency, "inference")
    assumptions += _trait_notes(rt, traits, input_tokens + output_tokens, bool(spec.moe))
    assumptions += _kv_copy_notes(spec, sizes[i], float(inf.kv_copies(M, H, cases)[i]), attention_dp)
    tps = float(res.tokens_per_s[i]) * (1 if feasible else 0)
    C = sizes[i]
    usd = (price.usd_per_chip_hour * C / (tps * SECONDS_PER_HOUR) * 1e6
           if feasible and price.usd_per_chip_hour is not None and tps > 0 else None)
    joules = watts.value * C / tps if feasible and watts.known and tps > 0 else None
    band = band_for(family_of(acc), rt, "inference")
    lo, hi = band.apply(tps / C) if feasible else (None, None)
    return InferenceEstimate(
        model=spec.id, accelerator=acc.id, feasible=feasible, reason=reason, chips=int(C),
        batch=int(res.batch[i]), dtype=dtype, compute_dtype=str(H.compute_dtype[0]), runtime=rt,
        input_tokens=input_tokens, output_tokens=output_tokens,
        ttft_s=_f(res.ttft_s[i]) if feasible else None, tpot_s=_f(res.tpot_s[i]) if feasible else None,
        output_tokens_per_s=tps, output_tokens_per_s_per_chip=tps / C,
        limit=str(inf.LIMITS[res.limit[i]]) if feasible else "-",
        min_chips=int(min_chips) if np.isfinite(min_chips) else None,
        offering=price.offering, usd_per_chip_hour=price.usd_per_chip_hour, usd_per_million_output_tokens=usd,
        watts_per_chip=watts.value, joules_per_output_token=joules,
        price_source=f"{price.source} [{price.status}]" if price.source else None,
        price_status=price.status or "unknown", assumptions=assumptions, runtime_default=choice.default,
        replicas=(system_chips // int(C)) if system_chips else 1,
        output_tokens_per_s_per_chip_low=lo, output_tokens_per_s_per_chip_high=hi,
        usd_per_million_output_tokens_low=usd / band.high if usd is not None and hi else None,
        usd_per_million_output_tokens_high=usd / band.low if usd is not None and lo else None,
        band=f"P10-P90 from {band.basis}" if feasible else "")


def _trait_notes(stack: str | None, traits: dict[str, bool], tokens: int, moe: bool) -> list[str]:
    """What the serving stack's traits (portability.STACK_TRAITS) change in this estimate, in words."""
    notes = []
    if traits["kv_reserve"]:
        notes.append(f"{stack} admits a sequence only with KV room for all {tokens} of its tokens (reserved to "
                     "completion), so memory holds fewer at once than an engine that grows the cache as it decodes")
    if traits["unfused_attention"]:
        notes.append(f"{stack} computes decode attention as separate matmul and softmax operations, not a fused "
                     "decode kernel, at a fitted share of the matmul rate")
    if traits["compiled_experts"] and moe:
        notes.append(f"{stack} has no expert kernels: the compiler builds the routed-expert matmuls, at a fitted "
                     "share of the dense matmul rate")
    return notes


def _kv_copy_notes(spec: ModelSpec, chips: int, copies: float, attention_dp: bool) -> list[str]:
    """How the replica holds its KV cache and weights: data-parallel attention, or each KV head held
    `copies` times (inference.kv_copies) where tensor-parallel ranks outnumber the heads."""
    if attention_dp and chips > 1:
        return [f"attention data-parallel over {chips} chips: each sequence's KV cache is held once, every chip "
                "holds the weights outside the routed experts whole, and a sequence's attention and dense layers "
                "(its prompt too) run on its own chip"]
    if copies <= 1:
        return []
    if spec.mla:
        return [f"MLA latent cache (one KV head every query head reads) held whole on each of {copies:g} "
                "tensor-parallel ranks (--attention-dp holds it once)"]
    return [f"{spec.kv_heads} KV heads over {spec.kv_heads * copies:g} tensor-parallel ranks: each head's cache is "
            f"held {copies:g} times (--attention-dp holds it once)"]


def _needs_more_chips(acc: Accelerator, min_chips: float, tried: int) -> str:
    """The way out of a memory shortfall: how many chips would hold the model."""
    if not np.isfinite(min_chips) or min_chips <= tried:
        return ""
    domain = int(acc.scaleup_chips.value or 1)
    if min_chips <= domain:
        return f"; needs at least {int(min_chips)} chips"
    return (f"; needs at least {int(min_chips)} chips, more than one {domain}-chip scale-up domain "
            "(try a smaller dtype or a chip with more memory)")


def _f(x) -> float | None:
    return float(x) if np.isfinite(x) else None


@dataclass
class TrainingEstimate:
    model: str
    accelerator: str
    feasible: bool
    reason: str
    chips: int
    min_chips: int | None
    seq_len: int
    tokens: float
    dtype: str
    runtime: str | None
    mfu: float
    flops_per_token: float
    tokens_per_s_per_chip: float
    days: float | None
    offering: str | None
    usd_per_chip_hour: float | None
    usd: float | None
    watts_per_chip: float | None
    megawatt_hours: float | None
    price_source: str | None = None
    price_status: str = "unknown"
    assumptions: list[str] = field(default_factory=list)
    runtime_default: bool = False
    tokens_per_s_per_chip_low: float | None = None
    tokens_per_s_per_chip_high: float | None = None
    days_low: float | None = None       # at the high end of throughput
    days_high: float | None = None
    band: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def estimate_training(model: str | ModelSpec, accelerator: str | Accelerator, chips: int, *, seq_len: int = 8192,
                      tokens: float = 1e12, dtype: str = "bf16", offering: str | None = None,
                      term: Term = "on_demand", runtimes: tuple[str, ...] = (), runtime: str | None = None,
                      ctx: Context | None = None) -> TrainingEstimate:
    """Tokens/s per chip, MFU, days, cost and energy of a training run on `chips` chips."""
    ctx = ctx or Context()
    spec, acc = ctx.model(model), ctx.accelerator(accelerator)
    if chips < 1:
        raise UserError("must be at least 1", field="--chips")
    if seq_len < 1 or tokens <= 0:
        raise UserError("sequence length and tokens must be positive", field="--seq-len/--tokens")
    choice = choose_stack(ctx.catalog, acc, "training", runtimes, runtime, ctx.efficiency)
    rt_eff, rt, rt_reason = choice.efficiency, choice.stack, choice.reason
    M = ModelArrays.build([(spec, "bf16", "bf16")])
    H = ChipArrays.build([(acc, dtype)], ctx.efficiency)
    state, act = recipe_arrays([ctx.catalog.runtime(rt).memory if rt else None])
    cases = tr.TrainingCases(model=np.zeros(1, int), chip=np.zeros(1, int), chips=np.array([float(chips)]),
                             seq_len=np.array([float(seq_len)]), runtime_eff=np.array([rt_eff or 1.0]),
                             state_bytes=state, act_layers=act)
    res = tr.estimate(M, H, cases)
    feasible = bool(res.feasible[0]) and rt_eff > 0
    reason = rt_reason if rt_eff == 0 else tr.REASONS[int(res.reason[0])]
    need = res.min_chips[0]
    if int(res.reason[0]) == tr.NO_FIT and np.isfinite(need):
        reason += f"; needs at least {int(need)} chips"
    tps = float(res.tokens_per_s_per_chip[0]) if feasible else 0.0
    seconds = tokens / (tps * chips) if tps > 0 else None
    price = pick_price(ctx, acc, offering, term)
    watts = it_watts_per_chip(acc)
    hours = seconds / SECONDS_PER_HOUR if seconds else None
    usd = price.usd_per_chip_hour * chips * hours if hours and price.usd_per_chip_hour is not None else None
    mwh = watts.value * chips * hours / 1e6 if hours and watts.known else None
    assumptions = [f"{acc.id} IT watts/chip {watts.value:g}: {watts.note}"] if watts.assumed and watts.known else []
    assumptions += stack_note(acc, choice, "training") + chip_note(acc, ctx.efficiency, "training")
    band = band_for(family_of(acc), rt, "training")
    lo, hi = band.apply(tps) if feasible else (None, None)
    return TrainingEstimate(
        model=spec.id, accelerator=acc.id, feasible=feasible, reason=reason, chips=chips,
        min_chips=int(need) if np.isfinite(need) else None, seq_len=seq_len, tokens=tokens,
        dtype=str(H.compute_dtype[0]), runtime=rt, mfu=float(res.mfu[0]),
        flops_per_token=float(res.flops_per_token[0]), tokens_per_s_per_chip=tps,
        days=seconds / 86400 if seconds else None, offering=price.offering,
        usd_per_chip_hour=price.usd_per_chip_hour, usd=usd, watts_per_chip=watts.value, megawatt_hours=mwh,
        price_source=f"{price.source} [{price.status}]" if price.source else None,
        price_status=price.status or "unknown", assumptions=assumptions, runtime_default=choice.default,
        tokens_per_s_per_chip_low=lo, tokens_per_s_per_chip_high=hi,
        days_low=tokens / (hi * chips) / 86400 if hi else None,
        days_high=tokens / (lo * chips) / 86400 if lo else None,
        band=f"P10-P90 from {band.basis}" if feasible else "")
