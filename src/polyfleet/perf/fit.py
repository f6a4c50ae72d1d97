"""Fitting the efficiency factors to published results, and judging them on results held out.

The fit is bounded least squares (scipy, soft-L1 loss) on log(predicted / published
throughput) over a small set of physically meaningful factors per platform and stack (FIT_PARAMS):
no factor belongs to one point. The fit pools: each platform's factor is pulled toward the mean
of the same factor on the other platforms, and each stack's factor toward the catalog's prior,
so a family with few published setups (AMD, Trainium) borrows strength instead of resting on
two or three of them. Training factors are fitted first, on training points, then inference
ones (which read the MoE GEMM factors training fitted).

`cross_validate` splits the points into k folds within each chip family, keeping every
measurement of one setup (model, chip, stack) in one fold so near-duplicates never sit on both
sides; it fits on k-1 folds and predicts the one left out, so a point is never in the fit that
scores it, nor is its twin.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from .calibration import TIME_METRICS, Calibration, Point, family_of, load_calibration, predict_inference, \
    predict_training
from .efficiency import Efficiency
from .estimate import Context
from .portability import stack_factor

# (path into the efficiency data, lower, upper). Paths with "*" set the same value on every
# platform (one shared factor). Stack factors are relative to the platform's reference stack.
FIT_PARAMS: tuple[tuple[str, float, float], ...] = (
    ("platforms.cuda.inference.compute.bf16", 0.2, 0.9),
    ("platforms.cuda.inference.compute.fp8", 0.2, 0.9),
    ("platforms.cuda.inference.compute.fp4", 0.1, 0.9),
    ("platforms.cuda.inference.kv_bandwidth", 0.3, 0.95),
    ("platforms.cuda.inference.bandwidth", 0.5, 0.95),
    ("platforms.cuda.inference.overhead_ms", 0.5, 10.0),
    ("platforms.cuda.inference.per_sequence_us", 0.1, 50.0),
    ("platforms.rocm.inference.compute.bf16", 0.1, 0.9),    # no published point: pooled to the others' mean
    ("platforms.rocm.inference.compute.fp8", 0.1, 0.9),
    ("platforms.rocm.inference.compute.fp4", 0.1, 0.9),
    ("platforms.rocm.inference.kv_bandwidth", 0.2, 0.95),
    ("platforms.rocm.inference.overhead_ms", 0.5, 20.0),
    ("platforms.rocm.inference.per_sequence_us", 0.1, 100.0),
    ("platforms.rocm.inference.collective_us", 5.0, 200.0),
    ("platforms.tpu.inference.compute.bf16", 0.2, 0.9),
    ("platforms.tpu.inference.kv_bandwidth", 0.2, 0.95),
    ("platforms.tpu.inference.overhead_ms", 0.5, 20.0),
    ("platforms.neuron.inference.compute.bf16", 0.05, 0.9),
    ("platforms.neuron.inference.bandwidth", 0.3, 0.95),
    ("platforms.neuron.inference.collective_us", 5.0, 200.0),
    ("platforms.neuron.inference.overhead_ms", 0.5, 20.0),
    *((f"platforms.{plat}.inference.attention_efficiency", 0.05, 1.0) for plat in ("cuda", "rocm", "tpu", "neuron")),
    *((f"platforms.{plat}.inference.interference", 0.01, 1.0) for plat in ("cuda", "rocm", "tpu", "neuron")),
    ("platforms.neuron.inference.expert_shard_width", 8.0, 4096.0),
    ("platforms.neuron.inference.unfused_attention_efficiency", 1e-3, 1.0),   # Transformers NeuronX
    ("platforms.neuron.inference.compiled_expert_efficiency", 0.01, 1.0),     # Optimum Neuron
    ("platforms.cuda.inference.allreduce_efficiency", 0.1, 1.0),
    ("platforms.rocm.inference.allreduce_efficiency", 0.1, 1.0),
    ("platforms.cuda.training.mfu.fp8", 0.2, 0.8),
    ("platforms.cuda.training.mfu.bf16", 0.3, 0.55),   # Megatron-LM reports up to 47% on H100
    ("platforms.tpu.training.mfu.bf16", 0.2, 0.9),
    ("platforms.tpu.training.mfu.fp8", 0.2, 0.9),
    ("platforms.neuron.training.mfu.bf16", 0.05, 0.8),
    ("platforms.rocm.training.mfu.bf16", 0.1, 0.8),
    ("platforms.rocm.training.mfu.fp8", 0.1, 0.8),
    ("platforms.cuda.training.a2a_efficiency", 0.05, 1.0),
    ("platforms.tpu.training.a2a_efficiency", 0.05, 1.0),
    ("platforms.*.training.expert_imbalance", 1.0, 1.6),
    ("platforms.*.training.attention_efficiency", 0.2, 1.0),
    ("platforms.*.training.expert_gemm_width", 0.0, 8000.0),
    ("intensity_scale", 200.0, 5000.0),
    ("stacks.cuda.torchtitan.training", 0.3, 1.2),
    ("stacks.cuda.nemo-automodel.training", 0.2, 2.0),
    ("stacks.cuda.maxtext.training", 0.3, 1.5),
    ("stacks.cuda.vllm.inference", 0.3, 1.5),
    ("stacks.cuda.sglang.inference", 0.3, 1.5),
    ("stacks.neuron.vllm.inference", 0.3, 1.5),
    ("stacks.neuron.optimum-neuron.inference", 0.3, 1.5),
    ("stacks.tpu.jetstream.inference", 0.3, 1.5),
    ("stacks.neuron.tnx.inference", 0.3, 1.5),
    ("stacks.neuron.neuronx-nemo.training", 0.2, 1.2),
    ("harness.mlperf", 0.7, 2.0),
)
CHIP_BOUNDS = (0.4, 2.5)
MAX_ITERATIONS = 60
# weight of the pull toward the other platforms' value of a factor and toward a stack's prior
# (log scale, against residuals of log error): chosen by held-out error over 0.1-4 (1.0 best)
POOLING = 1.0
NAN_PENALTY = 3.0     # residual for a point the model calls infeasible (log error of ~20x)


def _set(d: dict, path: str, value: float) -> None:
    head, _, last = path.rpartition(".")
    keys = head.split(".") if head else []
    if keys and keys[0] == "platforms" and len(keys) > 1 and keys[1] == "*":
        for plat in d["platforms"].values():
            node = plat
            for k in keys[2:]:
                node = node[k]
            node[last] = float(value)
        return
    node = d
    for k in keys:
        node = node.setdefault(k, {})
    node[last] = float(value)


def _get(d: dict, path: str, default: float) -> float:
    keys = path.split(".")
    if len(keys) > 1 and keys[1] == "*":
        keys[1] = next(iter(d["platforms"]))
    node = d
    for k in keys:
        if not isinstance(node, dict) or node.get(k) is None:
            return default
        node = node[k]
    return float(node)


def efficiency_from(x: Sequence[float], base: dict, params=FIT_PARAMS) -> Efficiency:
    data = copy.deepcopy(base)
    for (path, _, _), v in zip(params, x):
        _set(data, path, v)
    return Efficiency.model_validate(data)


def log_errors(points: Sequence[tuple[str, Point]], ctx: Context) -> np.ndarray:
    """log(predicted / published throughput) per point (a time metric inverted); NaN if infeasible."""
    inf_pts = [p for k, p in points if k == "inference"]
    tr_pts = [p for k, p in points if k == "training"]
    pred = {id(p): v for p, v in zip(inf_pts, predict_inference(inf_pts, ctx))}
    pred.update({id(p): v for p, v in zip(tr_pts, predict_training(tr_pts, ctx))})
    out = np.empty(len(points))
    for i, (_, p) in enumerate(points):
        v = pred[id(p)]
        r = np.log(v / p.published) if np.isfinite(v) and v > 0 else np.nan
        out[i] = -r if p.metric in TIME_METRICS else r
    return out


def use_of(path: str) -> str:
    """Which points a fitted factor acts on: "training" or "inference" (the two sets share none)."""
    return "training" if ".training" in path or path.startswith("intensity_") else "inference"


# factors with a value the hardware gives, pulled toward it as stacks are toward theirs: the width a
# rank's expert slice needs is the NeuronCore tensor engine's array, 128 columns of processing elements
# (aws-neuron-sdk nki/api/nki/isa/__init__.py @ 81ce03ae, nc_matmul). Without it, points whose experts
# also run at compiled_expert_efficiency (Optimum Neuron) pin only the two factors' ratio.
HARDWARE_PRIORS = {"platforms.neuron.inference.expert_shard_width": 128.0}


def prior_rows(params, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Rows pulling each fitted stack or chip factor toward its prior (log scale):
    a stack with few published setups stays near what its support matrix says, a chip's
    factor near 1 (its platform's efficiency) unless several setups on it say otherwise, and
    a factor the hardware gives near that value (`HARDWARE_PRIORS`)."""
    rows, target = [], []
    for i, (path, _, _) in enumerate(params):
        keys = path.split(".")
        if keys[0] == "chips":      # a chip's factor against its platform: pulled toward 1
            prior = 1.0
        elif keys[0] == "stacks":
            prior, _ = stack_factor(ctx.catalog, None, keys[2], keys[1], keys[3])
        elif path in HARDWARE_PRIORS:
            prior = HARDWARE_PRIORS[path]
        else:
            continue
        if prior > 0:
            row = np.zeros(len(params))
            row[i] = 1.0
            rows.append(row)
            target.append(np.log(prior))
    return np.array(rows).reshape(len(rows), len(params)), np.array(target)


# factors each platform keeps to itself: the host-side scheduling work per sequence and step is the
# serving engine's (TensorRT-LLM's C++ scheduler, vLLM's Python one), not a property platforms share
UNPOOLED = ("per_sequence_us",)


def pooling_matrix(params) -> np.ndarray:
    """Rows that pull each platform's factor toward the mean over platforms of the same factor
    (log scale): partial pooling, so a platform with few published setups borrows from the
    others instead of resting on two or three points. UNPOOLED factors are left out."""
    groups: dict[str, list[int]] = {}
    for i, (path, _, _) in enumerate(params):
        keys = path.split(".")
        if keys[0] == "platforms" and keys[1] != "*" and keys[-1] not in UNPOOLED:
            groups.setdefault(".".join(keys[2:]), []).append(i)
    rows = []
    for idx in groups.values():
        if len(idx) < 2:
            continue
        for i in idx:
            row = np.zeros(len(params))
            row[idx] -= 1.0 / len(idx)
            row[i] += 1.0
            rows.append(row)
    return np.array(rows).reshape(len(rows), len(params))


def chip_params(points: Sequence[tuple[str, Point]], ctx: Context) -> tuple[tuple[str, float, float], ...]:
    """A factor per (chip, use) with published points, on a platform with more than one such chip
    (a platform's only chip is its platform factor)."""
    seen = sorted({(ctx.accelerator(p.accelerator).id, kind) for kind, p in points})
    per_platform: dict[tuple[str, str], int] = {}
    for acc, kind in seen:
        key = (ctx.accelerator(acc).platform, kind)
        per_platform[key] = per_platform.get(key, 0) + 1
    return tuple((f"chips.{acc}.{kind}", *CHIP_BOUNDS) for acc, kind in seen
                 if per_platform[(ctx.accelerator(acc).platform, kind)] > 1)


def fit(points: Sequence[tuple[str, Point]], ctx: Context, base: Efficiency | None = None,
        params=None, from_prior: bool = False) -> Efficiency:
    """The efficiency factors that best explain `points` (bounded, robust least squares).
    Training and inference factors are fitted separately, each on its own points (no factor
    acts on both, so one joint problem would only slow both). `from_prior` starts every fitted
    factor at the middle of its bounds (a chip factor at 1) and drops the stored chip factors:
    the stored values were fitted to every point, and a held-out fit must not start there. A factor
    nothing in the block depends on (`unpinned`, and no pooling or prior row) stays at its start, and
    the optimiser works in units of each factor's bounds, so its step and stop tests weigh factors of
    very different scales alike. `params` defaults to FIT_PARAMS plus a factor per chip the points pin
    (`chip_params`)."""
    params = (FIT_PARAMS + chip_params(points, ctx)) if params is None else params
    base_d = (base or ctx.efficiency).model_dump()
    if from_prior:
        base_d["chips"] = {}      # chips the points do not pin start (and stay) at 1
    work = Context(catalog=ctx.catalog, models=ctx.models, efficiency=ctx.efficiency)
    for use in ("training", "inference"):   # inference reads the MoE GEMM factors training fits
        block = [p for p in params if use_of(p[0]) == use]
        pts = [pt for pt in points if pt[0] == use]
        if not block or not pts:
            continue
        lo = np.array([p[1] for p in block])
        hi = np.array([p[2] for p in block])
        neutral = np.array([1.0 if p[0].startswith("chips.") else (p[1] + p[2]) / 2 for p in block])
        x0 = neutral if from_prior else np.clip([_get(base_d, p[0], n) for p, n in zip(block, neutral)], lo, hi)

        pool = pooling_matrix(block)
        priors, prior_at = prior_rows(block, ctx)
        # a factor nothing here depends on stays where it starts: the optimiser would otherwise carry it
        # toward a bound along a flat direction (a held-out fold may hold every point that pins it)
        tied = (pool != 0).any(axis=0) | (priors != 0).any(axis=0)
        free = tied | ~unpinned(block, x0, lo, hi, pts, base_d, work, among=~tied)
        x_at, span = x0.copy(), hi - lo

        def residuals(zf, block=block, pts=pts, pool=pool, priors=priors, prior_at=prior_at, free=free, x_at=x_at,
                      lo=lo, span=span):
            x = x_at.copy()
            x[free] = lo[free] + zf * span[free]
            work.efficiency = efficiency_from(x, base_d, block)
            r = log_errors(pts, work)
            logx = np.log(np.maximum(x, 1e-9))       # pooled factors have positive lower bounds
            return np.concatenate([np.where(np.isfinite(r), r, NAN_PENALTY), POOLING * (pool @ logx),
                                   POOLING * (priors @ logx - prior_at)])

        # in units of each factor's bounds (0 at the lower, 1 at the upper): the step and termination tests
        # then weigh an efficiency of 0.3 and a width of 1,500 alike
        if free.any():   # a block with nothing to move is left as it starts
            z0 = (x0[free] - lo[free]) / span[free]
            res = least_squares(residuals, z0, bounds=(0.0, 1.0), loss="soft_l1", f_scale=0.2,
                                diff_step=1e-3, ftol=1e-4, xtol=1e-4, max_nfev=MAX_ITERATIONS)
            x_at[free] = lo[free] + res.x * span[free]
        base_d = efficiency_from(x_at, base_d, block).model_dump()
    return Efficiency.model_validate(base_d)


def unpinned(block, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, pts: Sequence[tuple[str, Point]],
             base_d: dict, work: Context, among: np.ndarray | None = None) -> np.ndarray:
    """Which factors of `block` leave every point's error unchanged when moved from `x0` to a tenth of
    the way in from either bound (no point here runs on the platform, stack, chip or mechanism). Only
    the factors `among` marks are probed (the others come back False): two error passes each."""
    def errors(x):
        work.efficiency = efficiency_from(x, base_d, block)
        return log_errors(pts, work)
    at = errors(x0)
    probe = np.ones(len(block), dtype=bool) if among is None else np.asarray(among, dtype=bool)
    out = probe.copy()
    for i in np.flatnonzero(probe):
        for v in (lo[i] + 0.1 * (hi[i] - lo[i]), hi[i] - 0.1 * (hi[i] - lo[i])):
            x = x0.copy()
            x[i] = v
            if not np.allclose(errors(x), at, rtol=0.0, atol=1e-12, equal_nan=True):
                out[i] = False
                break
    return out


@dataclass(frozen=True)
class HeldOut:
    point: Point
    kind: str
    family: str
    fold: int
    log_error: float          # held-out log(predicted / published throughput); NaN = called infeasible

    @property
    def error(self) -> float:
        """predicted / published throughput - 1."""
        return float(np.exp(self.log_error) - 1.0) if np.isfinite(self.log_error) else float("nan")


GROUPINGS = ("setup", "source")


def group_of(kind: str, p: Point, grouping: str = "setup") -> str:
    """The unit a fold keeps whole. "setup": one model on one chip with one stack (every
    published measurement of it, whatever its lengths, batch or metric, and from any
    publication: a TPOT and a throughput of the same run, or two MLPerf rounds of the same
    system, are near-duplicates). "source": one publication (leave-publication-out)."""
    if grouping == "source":
        return p.source
    if grouping != "setup":
        raise ValueError(f"grouping must be one of {GROUPINGS}")
    return f"{kind}:{p.model}:{p.accelerator}:{p.stack}"


def folds_for(points: Sequence[tuple[str, Point]], ctx: Context, k: int, seed: int,
              grouping: str = "setup") -> np.ndarray:
    """Fold of each point. Within each family the groups (`group_of`) are shuffled with `seed`
    and each, largest first, goes to the fold holding fewest of the family's points so far: a
    group is never split between a fold's training and test points."""
    fams = np.array([family_of(ctx, p.accelerator) for _, p in points])
    groups = np.array([group_of(kind, p, grouping) for kind, p in points])
    fold = np.empty(len(points), dtype=int)
    for fam in np.unique(fams):
        rng = np.random.default_rng([seed, zlib.crc32(fam.encode())])   # a family's folds ignore the others' points
        names, sizes = np.unique(groups[fams == fam], return_counts=True)
        order = rng.permutation(len(names))
        order = order[np.argsort(-sizes[order], kind="stable")]
        load = np.zeros(k, dtype=int)
        for g in order:
            f = int(np.argmin(load + rng.random(k) * 0.5))   # ties broken by the seed
            fold[(fams == fam) & (groups == names[g])] = f
            load[f] += sizes[g]
    return fold


def cross_validate(ctx: Context | None = None, calibration: Calibration | None = None, k: int = 5, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None, grouping: str = "setup") -> list[HeldOut]:
    """k-fold cross-validated error of every point (fit on the other folds, predict this one);
    folds keep each group (`group_of`) whole."""
    ctx = ctx or Context()
    points = (calibration or load_calibration()).points()
    fold = folds_for(points, ctx, k, seed, grouping)
    out: list[HeldOut | None] = [None] * len(points)
    for f in range(k):
        train = [pt for pt, g in zip(points, fold) if g != f]
        test_idx = np.flatnonzero(fold == f)
        fitted = fit(train, ctx, from_prior=True)
        scored = log_errors([points[i] for i in test_idx], Context(catalog=ctx.catalog, models=ctx.models,
                                                                   efficiency=fitted))
        for i, e in zip(test_idx, scored):
            kind, p = points[i]
            out[i] = HeldOut(point=p, kind=kind, family=family_of(ctx, p.accelerator), fold=f, log_error=float(e))
        if progress:
            progress(f + 1, k)
    return [h for h in out if h is not None]


@dataclass(frozen=True)
class Summary:
    group: str
    n: int
    median_abs_error: float     # median |predicted / published - 1| (infeasible counts as 100%)
    within_25: float            # share of points within 25%
    p10: float                  # log-error percentiles (for bands)
    p90: float

    def meets_goal(self) -> bool:
        return self.median_abs_error < 0.12 and self.within_25 >= 0.85


def summarise(group: str, log_errors_: Sequence[float]) -> Summary:
    e = np.asarray(log_errors_, dtype=float)
    ok = np.isfinite(e)
    abs_err = np.where(ok, np.abs(np.expm1(np.where(ok, e, 0.0))), 1.0)
    finite = e[ok] if ok.any() else np.array([np.nan])
    return Summary(group=group, n=len(e), median_abs_error=float(np.median(abs_err)) if len(e) else float("nan"),
                   within_25=float(np.mean(abs_err <= 0.25)) if len(e) else float("nan"),
                   p10=float(np.percentile(finite, 10)), p90=float(np.percentile(finite, 90)))
