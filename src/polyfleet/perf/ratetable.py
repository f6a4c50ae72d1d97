"""The rate table: useful work per chip-hour for every workload class x offering.

`perf/` builds it; `plan/`, `place/` and `sim/` only read it. Rates are modelled per
(workload, accelerator) in bulk and broadcast to every offering of that accelerator;
a measured figure replaces a modelled cell and the table marks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..catalog import TERMS, Catalog
from ..errors import UnknownNameError, UserError
from ..workloads.models import ModelLibrary
from ..workloads.workload import InferenceService, TrainingRun
from . import inference as inf
from . import training as tr
from .arrays import ChipArrays, ModelArrays
from .estimate import Context, chip_candidates, family_of
from .portability import STACK_TRAITS, choose_stack, matmul_dtype, stack_traits
from .power import it_watts_per_chip
from .recipes import recipe_arrays
from .uncertainty import band_for

FLAGS = (*STACK_TRAITS, "attention_dp")   # the 0/1 case fields a service's block carries, in this order


@dataclass(frozen=True)
class RateTable:
    """Labelled arrays: axis 0 = workloads, axis 1 = offerings."""

    workloads: tuple[str, ...]
    kinds: tuple[str, ...]                 # "inference" | "training"
    offerings: tuple[str, ...]
    accelerator: tuple[str, ...]           # per offering
    vendor: tuple[str, ...]
    family: tuple[str, ...]
    provider: tuple[str, ...]
    region: tuple[str, ...]
    unit_chips: np.ndarray                 # [o] chips per purchasable unit
    rate: np.ndarray                       # [w, o] tokens per chip-hour (output tokens / training tokens)
    feasible: np.ndarray                   # [w, o]
    reason: np.ndarray                     # [w, o] str, "" where feasible
    chips_per_unit: np.ndarray             # [w, o] chips per replica / per training run
    usd_per_chip_hour: np.ndarray          # [o, term] NaN = unknown; terms in TERMS order
    watts_per_chip: np.ndarray             # [o] IT watts (before PUE), NaN = unknown
    measured: np.ndarray                   # [w, o] bool
    watts_assumed: np.ndarray              # [o] bool: the power figure rests on an assumption
    rate_low: np.ndarray | None = None     # [w, o] P10 of the rate from held-out calibration error
    rate_high: np.ndarray | None = None    # [w, o] P90
    stack: np.ndarray | None = None        # [w, o] str: the software stack assumed ("" where none runs)

    def __post_init__(self) -> None:
        shape = self.rate.shape
        for name, fill in (("rate_low", None), ("rate_high", None), ("stack", "")):
            if getattr(self, name) is None:
                value = self.rate.copy() if fill is None else np.full(shape, fill, dtype=object)
                object.__setattr__(self, name, value)

    def pessimistic(self) -> "RateTable":
        """The same table at the low end of each modelled cell's band (P10 of held-out error), for
        plans that must hold if the model is optimistic; measured cells keep their rate."""
        low = np.where(self.measured, self.rate, np.minimum(self.rate_low, self.rate))
        return replace(self, rate=low, rate_high=self.rate.copy(), feasible=self.feasible & (low > 0))

    def w(self, workload: str) -> int:
        try:
            return self.workloads.index(workload)
        except ValueError:
            raise UnknownNameError("workload", workload, self.workloads) from None

    def o(self, offering: str) -> int:
        try:
            return self.offerings.index(offering)
        except ValueError:
            raise UnknownNameError("offering", offering, self.offerings) from None

    def price(self, term: str = "on_demand") -> np.ndarray:
        return self.usd_per_chip_hour[:, TERMS.index(term)]

    def usd_per_million_tokens(self, term: str = "on_demand") -> np.ndarray:
        """[w, o] USD per million tokens; inf where infeasible, NaN where the price is unknown."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self.price(term)[None, :] / self.rate * 1e6
        return np.where(self.feasible, out, np.inf)

    def subset(self, workloads: Sequence[str] | None = None, offerings: Sequence[str] | None = None) -> "RateTable":
        wi = [self.w(x) for x in workloads] if workloads is not None else list(range(len(self.workloads)))
        oi = [self.o(x) for x in offerings] if offerings is not None else list(range(len(self.offerings)))
        pick_o = lambda t: tuple(t[i] for i in oi)  # noqa: E731
        return RateTable(
            workloads=tuple(self.workloads[i] for i in wi), kinds=tuple(self.kinds[i] for i in wi),
            offerings=pick_o(self.offerings), accelerator=pick_o(self.accelerator), vendor=pick_o(self.vendor),
            family=pick_o(self.family), provider=pick_o(self.provider), region=pick_o(self.region),
            unit_chips=self.unit_chips[oi], rate=self.rate[np.ix_(wi, oi)], feasible=self.feasible[np.ix_(wi, oi)],
            reason=self.reason[np.ix_(wi, oi)], chips_per_unit=self.chips_per_unit[np.ix_(wi, oi)],
            usd_per_chip_hour=self.usd_per_chip_hour[oi], watts_per_chip=self.watts_per_chip[oi],
            measured=self.measured[np.ix_(wi, oi)], watts_assumed=self.watts_assumed[oi],
            rate_low=self.rate_low[np.ix_(wi, oi)], rate_high=self.rate_high[np.ix_(wi, oi)],
            stack=self.stack[np.ix_(wi, oi)])

    def with_measured(self, workload: str, rate_per_chip_hour: float, *, offering: str | None = None,
                      accelerator: str | None = None) -> "RateTable":
        """A copy where a measured rate replaces the modelled cells of one offering or one accelerator."""
        if rate_per_chip_hour < 0:
            raise UserError("a measured rate cannot be negative", field="rate")
        wi = self.w(workload)
        if offering is not None:
            cols = [self.o(offering)]
        elif accelerator is not None:
            cols = [i for i, a in enumerate(self.accelerator) if a == accelerator]
            if not cols:
                raise UnknownNameError("accelerator", accelerator, set(self.accelerator))
        else:
            raise UserError("a measurement names an offering or an accelerator")
        rate, feas, reason, meas = self.rate.copy(), self.feasible.copy(), self.reason.copy(), self.measured.copy()
        low, high = self.rate_low.copy(), self.rate_high.copy()
        rate[wi, cols] = low[wi, cols] = high[wi, cols] = rate_per_chip_hour
        feas[wi, cols] = rate_per_chip_hour > 0
        reason[wi, cols] = "" if rate_per_chip_hour > 0 else "measured rate is zero"
        meas[wi, cols] = True
        return replace(self, rate=rate, feasible=feas, reason=reason, measured=meas, rate_low=low, rate_high=high)

    def rows(self) -> list[dict]:
        """One dict per cell, for CSV/JSON output."""
        out = []
        price = self.price("on_demand")
        for i, wl in enumerate(self.workloads):
            for j, off in enumerate(self.offerings):
                out.append({"workload": wl, "kind": self.kinds[i], "offering": off,
                            "accelerator": self.accelerator[j], "feasible": bool(self.feasible[i, j]),
                            "reason": self.reason[i, j], "tokens_per_chip_hour": float(self.rate[i, j]),
                            "chips_per_unit": int(self.chips_per_unit[i, j]),
                            "usd_per_chip_hour": _num(price[j]), "watts_per_chip": _num(self.watts_per_chip[j]),
                            "measured": bool(self.measured[i, j]),
                            "tokens_per_chip_hour_low": float(self.rate_low[i, j]),
                            "tokens_per_chip_hour_high": float(self.rate_high[i, j]),
                            "stack": self.stack[i, j]})
        return out


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def build_rate_table(services: Sequence[InferenceService] = (), trainings: Sequence[TrainingRun] = (),
                     ctx: Context | None = None, offerings: Sequence[str] | None = None) -> RateTable:
    """Model every (workload, accelerator) pair in bulk and spread it over the offerings."""
    ctx = ctx or Context()
    cat: Catalog = ctx.catalog
    offs = [cat.offering(o) for o in offerings] if offerings is not None else list(cat.offerings.values())
    accs = sorted({o.accelerator for o in offs})
    acc_objs = [cat.accelerator(a) for a in accs]
    a_index = {a: i for i, a in enumerate(accs)}
    workloads = [s.id for s in services] + [t.id for t in trainings]
    if len(set(workloads)) != len(workloads):
        dup = next(w for w in workloads if workloads.count(w) > 1)
        raise UserError(f"workload id '{dup}' is used twice", field="workloads")
    rate_wa = np.zeros((len(workloads), len(accs)))
    chips_wa = np.zeros((len(workloads), len(accs)), dtype=int)
    reason_wa = np.full((len(workloads), len(accs)), "", dtype=object)
    stack_wa = np.full((len(workloads), len(accs)), "", dtype=object)
    ns = len(services)
    if services:
        _inference_block(services, acc_objs, ctx, rate_wa[:ns], chips_wa[:ns], reason_wa[:ns], stack_wa[:ns])
    if trainings:
        _training_block(trainings, acc_objs, ctx, rate_wa[ns:], chips_wa[ns:], reason_wa[ns:], stack_wa[ns:])
    low_wa, high_wa = _bands(rate_wa, stack_wa, acc_objs, ns)

    col = np.array([a_index[o.accelerator] for o in offs], dtype=int)
    watts = [it_watts_per_chip(cat.accelerators[o.accelerator]) for o in offs]
    prices = np.array([[o.price(t).value if o.price(t).known else np.nan for t in TERMS] for o in offs], dtype=float)
    rate = rate_wa[:, col]
    return RateTable(
        workloads=tuple(workloads), kinds=("inference",) * len(services) + ("training",) * len(trainings),
        offerings=tuple(o.id for o in offs), accelerator=tuple(o.accelerator for o in offs),
        vendor=tuple(cat.accelerators[o.accelerator].vendor for o in offs),
        family=tuple(cat.accelerators[o.accelerator].family for o in offs),
        provider=tuple(o.provider for o in offs), region=tuple(o.region for o in offs),
        unit_chips=np.array([o.unit_chips for o in offs], dtype=int),
        rate=rate, feasible=rate > 0, reason=reason_wa[:, col], chips_per_unit=chips_wa[:, col],
        usd_per_chip_hour=prices.reshape(len(offs), len(TERMS)),
        watts_per_chip=np.array([w.value if w.known else np.nan for w in watts], dtype=float),
        measured=np.zeros(rate.shape, dtype=bool), watts_assumed=np.array([w.assumed for w in watts], dtype=bool),
        rate_low=low_wa[:, col], rate_high=high_wa[:, col], stack=stack_wa[:, col])


def _bands(rate, stack, accs, n_services: int) -> tuple[np.ndarray, np.ndarray]:
    """Low and high rates per (workload, accelerator) from the held-out error of its family and stack."""
    low, high = rate.copy(), rate.copy()
    cache: dict[tuple, tuple[float, float]] = {}
    for (w, a), r in np.ndenumerate(rate):
        if r <= 0:
            continue
        key = (family_of(accs[a]), stack[w, a], "inference" if w < n_services else "training")
        if key not in cache:
            b = band_for(*key)
            cache[key] = (b.low, b.high) if np.isfinite(b.low) else (1.0, 1.0)
        low[w, a], high[w, a] = r * cache[key][0], r * cache[key][1]
    return low, high


def _inference_block(services, accs, ctx: Context, rate, chips_out, reason, stack) -> None:
    """All (service, bucket, accelerator, replica size) cases in one vectorised evaluation."""
    lib: ModelLibrary = ctx.models
    mrows, mkey, crows, ckey = [], {}, [], {}
    rt_cache: dict[tuple, tuple[float, str]] = {}
    blocks = []   # per (service, accelerator): arrays of bucket x size cases
    sizes = [np.asarray(chip_candidates(acc), dtype=float) for acc in accs]
    for si, svc in enumerate(services):
        spec = lib.get(svc.model)
        kv = svc.kv_dtype or ("fp8" if svc.dtype in ("fp8", "fp4") else svc.dtype)
        mi = mkey.setdefault((spec.id, svc.dtype, kv), len(mkey))
        if mi == len(mrows):
            mrows.append((spec, svc.dtype, kv))
        buckets = svc.mix.buckets
        b_in = np.array([b.input_tokens for b in buckets], dtype=float)
        b_out = np.array([b.output_tokens for b in buckets], dtype=float)
        share = svc.mix.output_token_shares()
        for ai, acc in enumerate(accs):
            key = (svc.runtimes, svc.runtime, acc.id)
            if key not in rt_cache:
                c = choose_stack(ctx.catalog, acc, "inference", svc.runtimes, svc.runtime, ctx.efficiency)
                rt_cache[key] = (c.efficiency, c.reason, c.stack or "")
            eff, why, stack[si, ai] = rt_cache[key]
            if eff == 0:
                reason[si, ai] = why
                continue
            mm = matmul_dtype(ctx.catalog, stack[si, ai], svc.dtype)
            hi = ckey.setdefault((acc.id, mm), len(ckey))
            if hi == len(crows):
                crows.append((acc, mm))
            blocks.append((si, ai, mi, hi, eff, b_in, b_out, share, sizes[ai],
                           svc.ttft_s or np.inf, svc.tpot_s or np.inf,
                           (*stack_traits(ctx.catalog, stack[si, ai]), svc.attention_dp_on(acc.platform))))
    if not blocks:
        return
    counts = np.array([len(b[5]) * len(b[8]) for b in blocks])
    rep = lambda k: np.repeat([b[k] for b in blocks], counts)  # noqa: E731
    S, A, MI, HI, RT, TT, TP = (rep(k) for k in (0, 1, 2, 3, 4, 9, 10))
    flags = np.repeat(np.array([b[11] for b in blocks], bool), counts, axis=0)   # (n, FLAGS)
    grid = lambda k: np.concatenate([np.repeat(b[k], len(b[8])) for b in blocks])  # noqa: E731
    I, O, SH = grid(5), grid(6), grid(7)
    C = np.concatenate([np.tile(b[8], len(b[5])) for b in blocks])
    M = ModelArrays.build(mrows)
    H = ChipArrays.build(crows, ctx.efficiency)
    n = len(S)
    cases = inf.InferenceCases(model=MI.astype(int), chip=HI.astype(int), chips=C, input_tokens=I,
                               output_tokens=O, ttft_slo_s=TT.astype(float), tpot_slo_s=TP.astype(float),
                               batch=np.zeros(n), runtime_eff=RT.astype(float),
                               **{k: flags[:, j] for j, k in enumerate(FLAGS)})
    res = inf.estimate(M, H, cases)
    # a replica size serves the whole mix: its rate is the harmonic mean over buckets,
    # weighted by each bucket's share of output tokens
    per_chip_hour = res.tokens_per_s_per_chip * 3600.0
    cost = np.where(res.feasible & (per_chip_hour > 0), SH / np.where(per_chip_hour > 0, per_chip_hour, 1.0), np.inf)
    group = (S.astype(np.int64) * len(accs) + A.astype(np.int64)) * 4096 + C.astype(np.int64)
    uniq, inv = np.unique(group, return_inverse=True)
    tot = np.zeros(len(uniq))
    np.add.at(tot, inv, cost)
    mix_rate = np.where(np.isfinite(tot), 1.0 / np.where(tot > 0, tot, 1.0), 0.0)
    sa = uniq // 4096
    order = np.lexsort((-mix_rate, sa))            # best size first within each (service, accelerator)
    first = np.ones(len(order), dtype=bool)
    first[1:] = sa[order][1:] != sa[order][:-1]
    best = order[first]
    s_b, a_b = sa[best] // len(accs), sa[best] % len(accs)
    ok = mix_rate[best] > 0
    rate[s_b[ok], a_b[ok]] = mix_rate[best][ok]
    chips_out[s_b[ok], a_b[ok]] = (uniq[best] % 4096)[ok]
    # where nothing fits, say why (the largest replica size's reason)
    bad = (rate == 0) & (reason == "")
    if bad.any():
        fail = np.flatnonzero(~res.feasible)
        for idx in fail[np.argsort(C[fail], kind="stable")]:
            s, a = int(S[idx]), int(A[idx])
            if bad[s, a]:
                reason[s, a] = inf.REASONS[int(res.reason[idx])]


def _training_block(trainings, accs, ctx: Context, rate, chips_out, reason, stack) -> None:
    lib = ctx.models
    M = ModelArrays.build([(lib.get(t.model), "bf16", "bf16") for t in trainings])
    H = ChipArrays.build([(a, t.dtype) for t in trainings for a in accs], ctx.efficiency)
    nt, na = len(trainings), len(accs)
    rt_eff = np.zeros((nt, na))
    recipes = []
    for ti, t in enumerate(trainings):
        for ai, acc in enumerate(accs):
            c = choose_stack(ctx.catalog, acc, "training", t.runtimes, t.runtime, ctx.efficiency)
            rt_eff[ti, ai], reason[ti, ai], stack[ti, ai] = c.efficiency, c.reason, c.stack or ""
            recipes.append(ctx.catalog.runtime(c.stack).memory if c.stack else None)
    state, act = recipe_arrays(recipes)
    mi = np.repeat(np.arange(nt), na)
    hi = np.arange(nt * na)
    seq = np.repeat([float(t.seq_len) for t in trainings], na)
    # first pass at the minimum size, then at the size the run uses
    probe = tr.estimate(M, H, tr.TrainingCases(mi, hi, np.full(nt * na, 1.0), seq, rt_eff.ravel(), state, act))
    need = np.where(np.isfinite(probe.min_chips), probe.min_chips, 0.0)
    size = np.array([t.chips or 0 for t in trainings for _ in accs], dtype=float)
    base_rate = tr.estimate(M, H, tr.TrainingCases(mi, hi, np.maximum(need, 1.0), seq, rt_eff.ravel(), state, act))
    deadline = np.array([(t.tokens / (t.deadline_days * 86400.0)) if t.deadline_days else 0.0
                         for t in trainings for _ in accs])
    with np.errstate(divide="ignore", invalid="ignore"):
        by_deadline = np.where(base_rate.tokens_per_s_per_chip > 0,
                               np.ceil(deadline / base_rate.tokens_per_s_per_chip), 0.0)
    size = np.where(size > 0, size, np.maximum(need, by_deadline))
    size = np.maximum(size, 1.0)
    res = tr.estimate(M, H, tr.TrainingCases(mi, hi, size, seq, rt_eff.ravel(), state, act))
    ok = res.feasible & (rt_eff.ravel() > 0)
    rate[:] = np.where(ok, res.tokens_per_s_per_chip * 3600.0, 0.0).reshape(nt, na)
    chips_out[:] = np.where(ok, size, 0).reshape(nt, na).astype(int)
    codes = res.reason.reshape(nt, na)
    for ti in range(nt):
        for ai in range(na):
            if not ok.reshape(nt, na)[ti, ai] and not reason[ti, ai]:
                reason[ti, ai] = tr.REASONS[int(codes[ti, ai])]
