"""Calibration points (published results) and the model's prediction for each, in bulk.

Every point names its setup (model, chip, chips, dtype, lengths or sequence length), the stack
it ran and where it was published. Predictions for all points come from one vectorised pass
of the inference and training engines, so a fit can evaluate them thousands of times.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..datafile import DataFile, validate
from . import inference as inf
from . import training as tr
from .arrays import ChipArrays, ModelArrays
from .estimate import Context, chip_candidates
from .portability import STACK_TRAITS, matmul_dtype, stack_factor, stack_traits
from .recipes import recipe_arrays

FAMILIES = ("tpu", "trainium", "nvidia", "amd")
TIME_METRICS = ("tpot_s", "ttft_s")
Metric = Literal["output_tokens_per_s", "output_tokens_per_s_per_chip", "tpot_s", "ttft_s", "tokens_per_s_per_chip"]


class Point(BaseModel):
    """One published result. Inference: `chips` chips in the measured system, run as replicas of
    `replica_chips` (default: one replica of all of them; `choose_replica: true` lets the model
    pick the size, as a submitter would)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    model: str
    accelerator: str
    chips: int = Field(gt=0)
    stack: str
    dtype: str = "bf16"
    published: float = Field(gt=0)
    tolerance: float = Field(gt=0, lt=1)
    source: str
    note: str = ""
    metric: Metric | None = None
    harness: Literal["mlperf"] | None = None   # published from a benchmark harness, not the public stack
    # inference
    input_tokens: int | None = Field(default=None, gt=0)
    output_tokens: int | None = Field(default=None, gt=0)
    batch: int | None = Field(default=None, gt=0)
    replica_chips: int | None = Field(default=None, gt=0)
    choose_replica: bool = False
    ttft_slo_s: float | None = Field(default=None, gt=0, description="the run's mean time to first token, from "
                                     "its log (MLPerf Server, Interactive): the model's latencies are means")
    tpot_slo_s: float | None = Field(default=None, gt=0, description="the run's mean time per output token")
    compiled_batch: int | None = Field(default=None, gt=0, description="batch a static-shape engine (Neuron) was "
                                       "compiled for, when the run served fewer sequences than that")
    attention_dp: bool = Field(default=False, description="the run's attention was data-parallel over the replica "
                               "(TensorRT-LLM DEP: each rank serves its own sequences and holds the attention "
                               "weights whole)")
    # training
    seq_len: int | None = Field(default=None, gt=0)
    ep: int | None = Field(default=None, gt=0, description="expert parallelism of the published layout")

    @model_validator(mode="after")
    def _check(self) -> "Point":
        if self.replica_chips and self.chips % self.replica_chips:
            raise ValueError("chips must be a multiple of replica_chips")
        if self.compiled_batch and (self.batch or 0) > self.compiled_batch:
            raise ValueError("batch cannot exceed compiled_batch (a static engine serves at most its compiled batch)")
        return self


class Calibration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sources: dict[str, dict]
    inference: tuple[Point, ...]
    training: tuple[Point, ...]

    def source_ref(self, key: str) -> str:
        return self.sources.get(key, {}).get("ref", key)

    def held_apart(self, p: Point) -> str:
        """Why a point is kept out of the fit and the held-out figures ("" if it is not): its source
        ran software the model has no input for, or contradicts its own table (it is scored apart,
        against a fit on the rest)."""
        return str(self.sources.get(p.source, {}).get("held_apart", ""))

    def points(self, apart: bool = False) -> list[tuple[str, Point]]:
        """The points the model is fitted to and judged on; with `apart`, the ones held apart."""
        every = [("inference", p) for p in self.inference] + [("training", p) for p in self.training]
        return [(k, p) for k, p in every if bool(self.held_apart(p)) == apart]


@dataclass(frozen=True)
class Check:
    point: Point
    kind: str
    metric: str
    predicted: float
    error: float          # predicted / published - 1
    family: str = ""
    held_apart: str = ""  # why the point is not in the fit ("" if it is)

    @property
    def within(self) -> bool:
        return abs(self.error) <= self.point.tolerance

    @property
    def log_throughput_error(self) -> float:
        """log(predicted / published throughput): a time metric's error counts inverted."""
        r = self.predicted / self.point.published
        if not np.isfinite(r) or r <= 0:
            return float("nan")
        return float(-np.log(r) if self.metric in TIME_METRICS else np.log(r))


@lru_cache(maxsize=1)
def load_calibration() -> Calibration:
    text = (resources.files("polyfleet.perf") / "data" / "calibration.yaml").read_text(encoding="utf-8")
    doc = DataFile(text, "built-in calibration.yaml")
    return validate(Calibration, doc.data, doc.name, doc)


def family_of(ctx: Context, accelerator: str) -> str:
    acc = ctx.catalog.accelerator(accelerator)
    return {"google": "tpu", "aws": "trainium"}.get(acc.vendor, acc.vendor)


def _stack_eff(ctx: Context, p: Point, acc, use: str) -> float:
    factor, _ = stack_factor(ctx.catalog, ctx.efficiency, p.stack, acc.platform, use)
    return factor * (ctx.efficiency.harness.get(p.harness, 1.0) if p.harness else 1.0)


def predict_inference(points: list[Point], ctx: Context) -> np.ndarray:
    """Predicted metric of every inference point, in one vectorised pass."""
    if not points:
        return np.zeros(0)
    mrows, mkey, crows, ckey = [], {}, [], {}
    owner, sizes, fields, slos = [], [], [], []
    for i, p in enumerate(points):
        spec, acc = ctx.model(p.model), ctx.accelerator(p.accelerator)
        kv = "fp8" if p.dtype in ("fp8", "fp4") else p.dtype
        mi = mkey.setdefault((spec.id, p.dtype, kv), len(mkey))
        if mi == len(mrows):
            mrows.append((spec, p.dtype, kv))
        mm = matmul_dtype(ctx.catalog, p.stack, p.dtype)
        hi = ckey.setdefault((acc.id, mm), len(ckey))
        if hi == len(crows):
            crows.append((acc, mm))
        if p.choose_replica:
            cand = [c for c in chip_candidates(acc) if p.chips % c == 0]
        else:
            cand = [p.replica_chips or p.chips]
        rt, traits = _stack_eff(ctx, p, acc, "inference"), stack_traits(ctx.catalog, p.stack)
        for c in cand:
            owner.append(i)
            sizes.append(c)
            fields.append((mi, hi, p.input_tokens or 1000, p.output_tokens or 1000, p.batch or 0, rt,
                           p.compiled_batch or 0, p.attention_dp, *traits))
            slos.append((p.ttft_slo_s or np.inf, p.tpot_slo_s or np.inf))
    f = np.array(fields, dtype=float)
    slo = np.array(slos, dtype=float)
    cases = inf.InferenceCases(model=f[:, 0].astype(int), chip=f[:, 1].astype(int), chips=np.array(sizes, float),
                               input_tokens=f[:, 2], output_tokens=f[:, 3], ttft_slo_s=slo[:, 0],
                               tpot_slo_s=slo[:, 1], batch=f[:, 4], runtime_eff=f[:, 5],
                               compiled_batch=f[:, 6], attention_dp=f[:, 7],
                               **{k: f[:, 8 + j] for j, k in enumerate(STACK_TRAITS)})
    res = inf.estimate(ModelArrays.build(mrows), ChipArrays.build(crows, ctx.efficiency), cases)
    owner_a = np.array(owner)
    per_chip = np.where(res.feasible & (f[:, 5] > 0), res.tokens_per_s_per_chip, -1.0)
    out = np.full(len(points), np.nan)
    for i, p in enumerate(points):
        idx = np.flatnonzero(owner_a == i)
        k = idx[np.argmax(per_chip[idx])]
        if per_chip[k] < 0:
            continue
        metric = p.metric or "output_tokens_per_s"
        out[i] = {"output_tokens_per_s": per_chip[k] * p.chips, "output_tokens_per_s_per_chip": per_chip[k],
                  "tpot_s": res.tpot_s[k], "ttft_s": res.ttft_s[k]}[metric]
    return out


def predict_training(points: list[Point], ctx: Context) -> np.ndarray:
    """Predicted tokens/s per chip of every training point, in one vectorised pass."""
    if not points:
        return np.zeros(0)
    mrows, mkey = [], {}
    crows, mi_l, rt_l, recipes = [], [], [], []
    for p in points:
        spec, acc = ctx.model(p.model), ctx.accelerator(p.accelerator)
        mi = mkey.setdefault(spec.id, len(mkey))
        if mi == len(mrows):
            mrows.append((spec, "bf16", "bf16"))
        mi_l.append(mi)
        crows.append((acc, p.dtype))
        rt_l.append(_stack_eff(ctx, p, acc, "training"))
        recipes.append(ctx.catalog.runtime(p.stack).memory)
    state, act = recipe_arrays(recipes)
    rt_eff = np.array(rt_l)
    cases = tr.TrainingCases(model=np.array(mi_l), chip=np.arange(len(points)),
                             chips=np.array([float(p.chips) for p in points]),
                             seq_len=np.array([float(p.seq_len or 8192) for p in points]),
                             runtime_eff=rt_eff, state_bytes=state, act_layers=act,
                             expert_parallel=np.array([float(p.ep or 0) for p in points]))
    res = tr.estimate(ModelArrays.build(mrows), ChipArrays.build(crows, ctx.efficiency), cases)
    return np.where(res.feasible & (rt_eff > 0), res.tokens_per_s_per_chip, np.nan)


def check_all(ctx: Context | None = None, calibration: Calibration | None = None) -> list[Check]:
    """Predict every calibration point and compare with the published figure."""
    ctx = ctx or Context()
    cal = calibration or load_calibration()
    out = []
    for kind, points, pred in (("inference", list(cal.inference), predict_inference(list(cal.inference), ctx)),
                               ("training", list(cal.training), predict_training(list(cal.training), ctx))):
        for p, value in zip(points, pred):
            metric = p.metric or ("tokens_per_s_per_chip" if kind == "training" else "output_tokens_per_s")
            out.append(Check(point=p, kind=kind, metric=metric, predicted=float(value),
                             error=float(value) / p.published - 1.0, family=family_of(ctx, p.accelerator),
                             held_apart=cal.held_apart(p)))
    return out
