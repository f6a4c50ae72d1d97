"""Scenario sections about *what* is planned: horizon, workloads with demand, tenants, fleet, offerings.

Each section is one pydantic class with its defaults documented on the field. The
policy sections (supply, power, money, risk) live in `policy.py`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..catalog.model import Family, Platform, Term
from ..workloads.workload import InferenceService, RequestMix, TrainingRun
from .series import Month, Series

# dtypes the perf engine models: weights (with the matmul dtype each falls back to), KV cache, training
WeightDtype = Literal["bf16", "fp16", "fp8", "int8", "fp4", "int4"]
KvDtype = Literal["fp32", "bf16", "fp16", "fp8", "int8", "fp4", "int4"]
TrainingDtype = Literal["bf16", "fp8"]
Share = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
MAX_CHIPS = 10_000_000      # chips in one run, pool or fleet entry: more than any cluster built
MAX_TOKENS_PER_REQUEST = 10_000_000   # beyond every model's context
CHIPS_WHY = {"why": "10 million chips is more than any cluster built"}


class Section(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are immutable, and no number
    is NaN or infinite (a NaN passes every `x < lo or x > hi` check)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _names(v: Any) -> tuple[str, ...] | None:
    """A name or a list of names; anything else (a number, a mapping) is refused, not stringified."""
    if v is None:
        return None
    if isinstance(v, str):
        return (v,)
    if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
        return tuple(v)
    raise ValueError(f"expected a name or a list of names, not {v!r}")


class Selector(Section):
    """Picks offerings. Every field given must match (AND); a list means any of its names (OR).

    `region` is `provider/region` (e.g. `gcp/us-east5`) or a bare region id (any provider's).
    `accelerator` accepts catalog aliases (`ironwood`, `trainium2`).
    """

    offering: tuple[str, ...] | None = None
    accelerator: tuple[str, ...] | None = None
    vendor: tuple[str, ...] | None = None
    family: tuple[str, ...] | None = None
    provider: tuple[str, ...] | None = None
    region: tuple[str, ...] | None = None

    SELECTOR_FIELDS: ClassVar[tuple[str, ...]] = ("offering", "accelerator", "vendor", "family", "provider",
                                                  "region")

    @field_validator("offering", "accelerator", "vendor", "family", "provider", "region", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> tuple[str, ...] | None:
        return _names(v)

    def selector_items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(k, getattr(self, k)) for k in self.SELECTOR_FIELDS if getattr(self, k) is not None]

    def describe(self) -> str:
        """`vendor=nvidia, region=gcp/us-east5` (or `all offerings`)."""
        items = self.selector_items()
        return ", ".join(f"{k}={'|'.join(v)}" for k, v in items) or "all offerings"


class Horizon(Section):
    """The months planned: `months` months from `start` (default 2026-01, 24 months)."""

    start: Month = "2026-01"
    months: int = Field(default=24, ge=1, le=120)
    hours_per_month: float = Field(default=730.0, ge=672, le=744, description="hours billed per month (8760 / 12)",
                                   json_schema_extra={"why": "a calendar month has 672 to 744 hours"})


class Workload(Section):
    """What every workload carries besides its performance description."""

    priority: str = Field(default="standard", description="priority class of the demand no tenant claims "
                          "(see risk.classes); training defaults to batch")
    runs_on: tuple[Family, ...] | None = Field(default=None, description="families this workload already runs "
                                                "on; moving it to another costs money.porting_usd (default: all)")


class ServiceSpec(Workload):
    """An inference service with its demand forecast in output tokens per second (monthly average)."""

    id: str
    model: str
    dtype: WeightDtype = "bf16"
    kv_dtype: KvDtype | None = None
    mix: RequestMix | None = None
    input_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS_PER_REQUEST,
                                     description="shorthand for a one-bucket mix")
    output_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS_PER_REQUEST)
    ttft_s: float | None = Field(default=None, gt=0)
    tpot_s: float | None = Field(default=None, gt=0)
    runtimes: tuple[str, ...] = ()
    runtime: str | None = Field(default=None, description="the serving stack it runs (vllm, sglang, trtllm, "
                                "jetstream, nxdi, ...); default: each platform's most common one")
    attention_dp: bool | tuple[Platform, ...] = Field(
        default=False, description="attention runs data-parallel over each replica's chips (TensorRT-LLM DEP, "
        "SGLang DP attention): one copy of the KV cache, the weights outside the routed experts on every chip, "
        "MoE all-to-all instead of all-reduces; true for every chip, or the platforms whose stacks serve it so "
        "([cuda, rocm]); default: tensor-parallel")
    tokens_per_s: Series = Field(description="output tokens per second, monthly average")
    peak_factor: float = Field(default=1.0, ge=1.0, description="capacity is sized on tokens_per_s x this")

    @model_validator(mode="after")
    def _mix(self) -> "ServiceSpec":
        if self.mix is not None and (self.input_tokens or self.output_tokens):
            raise ValueError("give mix or input_tokens/output_tokens, not both")
        if self.mix is not None and not all(math.isfinite(b.weight) for b in self.mix.buckets):
            raise ValueError("mix bucket weights must be finite numbers")
        return self

    def service(self) -> InferenceService:
        """The performance description the rate table needs."""
        mix = self.mix or RequestMix.single(self.input_tokens or 1000, self.output_tokens or 1000)
        return InferenceService(id=self.id, model=self.model, dtype=self.dtype, kv_dtype=self.kv_dtype, mix=mix,
                                ttft_s=self.ttft_s, tpot_s=self.tpot_s, runtimes=self.runtimes,
                                runtime=self.runtime, attention_dp=self.attention_dp)


class RunWindow(Section):
    """A training run with a deadline: `tokens` training tokens between `start` and `deadline` (inclusive)."""

    tokens: float = Field(gt=0)
    start: Month
    deadline: Month


class TrainingSpec(Workload):
    """A training workload: a steady flow (`tokens_per_month`) or one run with a deadline (`run`)."""

    id: str
    model: str
    seq_len: int = Field(default=8192, gt=0, le=MAX_TOKENS_PER_REQUEST)
    dtype: TrainingDtype = "bf16"
    runtimes: tuple[str, ...] = ()
    runtime: str | None = Field(default=None, description="the training stack it runs (maxtext, megatron, "
                                "torchtitan, nxdt, ...); default: each platform's most common one")
    chips: int | None = Field(default=None, gt=0, le=MAX_CHIPS, json_schema_extra=CHIPS_WHY,
                              description="chips per run (sets the modelled MFU); "
                              "default: the minimum that fits")
    priority: str = "batch"
    tokens_per_month: Series | None = None
    run: RunWindow | None = None
    cluster: tuple[str, ...] | None = Field(default=None, description="a run's cluster id, or a list of allowed "
                                            "ones (default: any cluster that can carry it)")
    goodput: float | None = Field(default=None, gt=0, le=1, description="share of a run's chip-hours that makes "
                                  "progress (default: its cluster's, else 0.9, an assumption)")
    off_peak: bool = Field(default=False, description="a steady flow that may also use the inference chips idle "
                           "below the services' peak")
    off_peak_goodput: float | None = Field(default=None, gt=0, le=1, description="share of off-peak chip-hours "
                                           "that makes progress (default 0.8, an assumption: preempted at the peak)")

    @field_validator("cluster", mode="before")
    @classmethod
    def _clusters(cls, v: Any) -> tuple[str, ...] | None:
        return _names(v)

    @model_validator(mode="after")
    def _one(self) -> "TrainingSpec":
        if (self.tokens_per_month is None) == (self.run is None):
            raise ValueError("give exactly one of tokens_per_month or run")
        if self.off_peak and self.run is not None:
            raise ValueError("off_peak applies to a steady flow (tokens_per_month), not a run with a window")
        return self

    def training(self) -> TrainingRun:
        tokens = self.run.tokens if self.run else 1e12
        return TrainingRun(id=self.id, model=self.model, tokens=tokens, seq_len=self.seq_len, dtype=self.dtype,
                           runtimes=self.runtimes, runtime=self.runtime, chips=self.chips)


class Workloads(Section):
    """The demand: inference services and training workloads (at least one in all)."""

    services: tuple[ServiceSpec, ...] = ()
    training: tuple[TrainingSpec, ...] = ()

    @model_validator(mode="after")
    def _some(self) -> "Workloads":
        if not self.services and not self.training:
            raise ValueError("needs at least one service or training workload")
        ids = [w.id for w in (*self.services, *self.training)]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"workload id '{sorted(dup)[0]}' is used twice")
        return self

    def all(self) -> list[ServiceSpec | TrainingSpec]:
        return [*self.services, *self.training]


class Tenant(Section):
    """A customer tier: a share of services' traffic with its own survivability requirement.

    `share` is one number (the same share of every service) or a mapping service id -> share
    (`default:` for the rest); a share may be a series (`{points: {2026-01: 0.3, 2027-12: 0.5}}`) so
    that a tier's growth against the others can be stated. `customers` is a count or a series too. The
    tier is a priority class named by its id.
    """

    id: str
    description: str = ""
    customers: int | Series | None = Field(default=None, description="accounts in the tier (a count, or a series "
                                           "by month)")
    share: Share | Series | dict[str, Share | Series] = Field(default=0.0)
    survive: float = Field(default=0.0, ge=0, le=1, description="share of this tier's demand that must still "
                           "be served after any single failure set")
    loss_usd_per_million_tokens: float | None = Field(default=None, ge=0, description="value of its unserved "
                                                      "demand (CVaR scenarios); default: risk's")

    @field_validator("customers")
    @classmethod
    def _customers(cls, v: int | Series | None) -> int | Series | None:
        if isinstance(v, int) and not 0 <= v <= MAX_CUSTOMERS:
            raise ValueError(f"customers must be 0 .. {MAX_CUSTOMERS:,} (the simulator draws every account one by one)")
        return v

    def share_series(self, service: str) -> Share | Series:
        """This tier's share of a service: a number or a series."""
        if not isinstance(self.share, dict):
            return self.share
        return self.share.get(service, self.share.get("default", 0.0))


MAX_CUSTOMERS = 1_000_000


class FleetEntry(Section):
    """Units already held when the horizon starts (the placement engine reads this too)."""

    offering: str
    units: int = Field(ge=0, le=MAX_CHIPS, json_schema_extra=CHIPS_WHY)
    term: Term = "on_demand"
    months_left: int | None = Field(default=None, ge=0, le=36, json_schema_extra={"why": "the longest commitment "
                                    "is 3 years"}, description="for commitments: months still to run "
                                    "(default: the whole term)")
    usd_per_chip_hour: float | None = Field(default=None, ge=0, description="contract price (default: catalog)")


class OfferingFilter(Section):
    """Which catalog offerings the planner may use. Default: every offering with a known price."""

    include: tuple[Selector, ...] = ()
    exclude: tuple[Selector, ...] = ()


class RateOverride(Section):
    """A measured rate replacing the modelled cell(s) of the rate table."""

    workload: str
    offering: str | None = None
    accelerator: str | None = None
    tokens_per_chip_hour: float = Field(ge=0)
    source: str = "scenario (measured)"

    @model_validator(mode="after")
    def _target(self) -> "RateOverride":
        if (self.offering is None) == (self.accelerator is None):
            raise ValueError("name exactly one of offering or accelerator")
        return self
