"""Workload classes: training runs and inference services, with request-size mixes."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import UserError


class Bucket(BaseModel):
    """A request size class: prompt and generated tokens, and its share of requests."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    input_tokens: int = Field(gt=0)
    output_tokens: int = Field(gt=0)
    weight: float = Field(default=1.0, gt=0)


class RequestMix(BaseModel):
    """A distribution of request sizes as weighted buckets (Mélange-style)."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    buckets: tuple[Bucket, ...] = Field(min_length=1)

    @classmethod
    def single(cls, input_tokens: int, output_tokens: int) -> "RequestMix":
        return cls(buckets=(Bucket(input_tokens=input_tokens, output_tokens=output_tokens),))

    @property
    def shares(self) -> np.ndarray:
        w = np.array([b.weight for b in self.buckets], dtype=float)
        return w / w.sum()

    @property
    def mean_input_tokens(self) -> float:
        return float(self.shares @ [b.input_tokens for b in self.buckets])

    @property
    def mean_output_tokens(self) -> float:
        return float(self.shares @ [b.output_tokens for b in self.buckets])

    def output_token_shares(self) -> np.ndarray:
        """Share of output tokens each bucket generates (what capacity is sized on)."""
        w = self.shares * np.array([b.output_tokens for b in self.buckets], dtype=float)
        return w / w.sum()

    @classmethod
    def from_trace(cls, path: str | Path, edges_in: tuple[int, ...] = (256, 1024, 4096),
                   edges_out: tuple[int, ...] = (64, 256, 1024)) -> "RequestMix":
        """Bucket a trace CSV with prompt/generated token columns (Azure LLM trace format:
        TIMESTAMP,ContextTokens,GeneratedTokens) into a mix; each bucket takes its mean sizes."""
        path = Path(path)
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                cols = reader.fieldnames or []
                cin = next((c for c in cols if c.lower() in ("contexttokens", "input_tokens", "prompt_tokens")), None)
                cout = next((c for c in cols if c.lower() in ("generatedtokens", "output_tokens", "completion_tokens")), None)
                if cin is None or cout is None:
                    raise UserError("needs prompt and generated token columns", where=f"{path}:1",
                                    allowed="ContextTokens/GeneratedTokens or input_tokens/output_tokens")
                rows = [(row[cin], row[cout]) for row in reader]
        except FileNotFoundError:
            raise UserError("file not found", where=str(path)) from None
        try:
            arr = np.array(rows, dtype=float)
        except ValueError:
            raise UserError("token counts must be numbers", where=str(path)) from None
        if arr.size == 0:
            raise UserError("no requests in the trace", where=str(path))
        arr = np.maximum(arr, 1.0)
        bi = np.searchsorted(edges_in, arr[:, 0])
        bo = np.searchsorted(edges_out, arr[:, 1])
        buckets = []
        for key in np.unique(bi * 100 + bo):
            sel = (bi * 100 + bo) == key
            buckets.append(Bucket(input_tokens=int(round(arr[sel, 0].mean())),
                                  output_tokens=int(round(arr[sel, 1].mean())), weight=float(sel.sum())))
        return cls(buckets=tuple(buckets))


class InferenceService(BaseModel):
    """An LLM endpoint: model, precision, request mix, latency SLOs and the runtimes it is built on."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    model: str
    dtype: str = "bf16"
    kv_dtype: str | None = None
    mix: RequestMix = RequestMix.single(1000, 1000)
    # SLOs bound the mean: TPOT a steady batch's step, TTFT its prompt pass and first step (a P99 limit
    # needs headroom; in MLPerf Server logs P99 TPOT runs 1.1-1.6x the mean)
    ttft_s: float | None = Field(default=None, gt=0)
    tpot_s: float | None = Field(default=None, gt=0)
    runtimes: tuple[str, ...] = ()
    runtime: str | None = None      # the serving stack; None = each platform's default
    # attention data-parallel over each replica's chips (else tensor-parallel): everywhere, or on these platforms
    attention_dp: bool | tuple[str, ...] = False

    def attention_dp_on(self, platform: str) -> bool:
        """Whether a replica on this platform (cuda, rocm, tpu, neuron) runs attention data-parallel."""
        return self.attention_dp if isinstance(self.attention_dp, bool) else platform in self.attention_dp

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        from .models import BYTES
        if v not in BYTES:
            raise ValueError(f"unknown dtype '{v}' (allowed: {', '.join(BYTES)})")
        return v


class TrainingRun(BaseModel):
    """A pre-training or fine-tuning run: model, tokens, sequence length, runtimes, deadline."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    model: str
    tokens: float = Field(gt=0)
    seq_len: int = Field(default=8192, gt=0)
    dtype: str = "bf16"
    runtimes: tuple[str, ...] = ()
    runtime: str | None = None      # the training stack; None = each platform's default
    deadline_days: float | None = Field(default=None, gt=0)
    chips: int | None = Field(default=None, gt=0, description="chips per run; default: the fewest that hold "
                              "it, or more where the deadline needs them")

    @model_validator(mode="after")
    def _check(self) -> "TrainingRun":
        if self.dtype not in ("bf16", "fp8"):
            raise ValueError("training dtype must be bf16 or fp8")
        return self
