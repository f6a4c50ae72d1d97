"""Calibration points (published results) and how close the model lands to each."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..datafile import DataFile, validate
from .estimate import Context, estimate_inference, estimate_training


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    model: str
    accelerator: str
    chips: int = Field(gt=0)
    dtype: str = "bf16"
    published: float = Field(gt=0)
    tolerance: float = Field(gt=0, lt=1)
    source: str
    note: str = ""
    # inference
    input_tokens: int | None = None
    output_tokens: int | None = None
    batch: int | None = None
    metric: Literal["output_tokens_per_s", "output_tokens_per_s_per_chip", "tpot_s", "ttft_s",
                    "tokens_per_s_per_chip"] | None = None
    # training
    seq_len: int | None = None


class Calibration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sources: dict[str, dict]
    inference: tuple[Point, ...]
    training: tuple[Point, ...]

    def source_ref(self, key: str) -> str:
        return self.sources.get(key, {}).get("ref", key)


@dataclass(frozen=True)
class Check:
    point: Point
    kind: str
    metric: str
    predicted: float
    error: float          # predicted / published - 1

    @property
    def within(self) -> bool:
        return abs(self.error) <= self.point.tolerance


@lru_cache(maxsize=1)
def load_calibration() -> Calibration:
    text = (resources.files("polyfleet.perf") / "data" / "calibration.yaml").read_text(encoding="utf-8")
    doc = DataFile(text, "built-in calibration.yaml")
    return validate(Calibration, doc.data, doc.name, doc)


def predict(point: Point, kind: str, ctx: Context) -> tuple[str, float]:
    if kind == "training":
        est = estimate_training(point.model, point.accelerator, point.chips, seq_len=point.seq_len or 8192,
                                dtype=point.dtype, ctx=ctx)
        return "tokens_per_s_per_chip", est.tokens_per_s_per_chip
    est = estimate_inference(point.model, point.accelerator, chips=point.chips, dtype=point.dtype,
                             input_tokens=point.input_tokens or 1000, output_tokens=point.output_tokens or 1000,
                             batch=point.batch, ctx=ctx)
    metric = point.metric or "output_tokens_per_s"
    value = {"output_tokens_per_s": est.output_tokens_per_s,
             "output_tokens_per_s_per_chip": est.output_tokens_per_s_per_chip,
             "tpot_s": est.tpot_s, "ttft_s": est.ttft_s}[metric]
    return metric, float(value) if value is not None else float("nan")


def check_all(ctx: Context | None = None, calibration: Calibration | None = None) -> list[Check]:
    """Predict every calibration point and compare with the published figure."""
    ctx = ctx or Context()
    cal = calibration or load_calibration()
    out = []
    for kind, points in (("inference", cal.inference), ("training", cal.training)):
        for p in points:
            metric, value = predict(p, kind, ctx)
            out.append(Check(point=p, kind=kind, metric=metric, predicted=value, error=value / p.published - 1.0))
    return out
