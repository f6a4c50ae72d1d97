"""Typed catalog objects: accelerators, runtimes, providers, regions, offerings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .figures import Figure

Family = Literal["tpu", "trainium", "gpu"]
Platform = Literal["tpu", "neuron", "cuda", "rocm"]
Use = Literal["training", "inference"]
Term = Literal["on_demand", "spot", "commit_1y", "commit_3y"]

FAMILIES: tuple[str, ...] = ("tpu", "trainium", "gpu")
TERMS: tuple[Term, ...] = ("on_demand", "spot", "commit_1y", "commit_3y")
DTYPES: tuple[str, ...] = ("bf16", "fp8", "int8", "fp4")
BYTES_PER_ELEMENT: dict[str, float] = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0,
                                       "fp4": 0.5, "int4": 0.5}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Accelerator(_Frozen):
    """One chip type. Peak rates are dense (no structured sparsity), per chip."""

    id: str
    name: str
    vendor: Literal["google", "aws", "nvidia", "amd"]
    family: Family
    platform: Platform
    year: int
    aliases: tuple[str, ...] = ()
    uses: tuple[Use, ...] = ("training", "inference")
    bf16_tflops: Figure
    fp8_tflops: Figure = Figure()
    int8_tops: Figure = Figure()
    fp4_tflops: Figure = Figure()
    hbm_gb: Figure
    hbm_tbps: Figure
    scaleup_chips: Figure
    link_gbytes_per_s: Figure = Figure()
    topology: str = ""
    torus_dims: int = Field(0, ge=0, le=4, description="dimensions of the scale-up torus (0 = switched fabric)")
    cores_per_chip: int = Field(1, ge=1, le=64, description="compute cores per chip (NeuronCores; 1 for a GPU or "
                                "TPU, which software drives as one device)")
    cores_per_rank: int = Field(1, ge=1, le=8, description="cores one tensor-parallel rank spans in the chip's "
                                "default configuration (Neuron's logical core size, LNC)")
    scaleout_gbytes_per_s: Figure = Figure()
    max_slice_chips: Figure = Figure()
    tdp_watts: Figure = Figure()
    system_watts_per_chip: Figure = Figure()
    assumed: dict[str, Figure] = Field(default_factory=dict)
    note: str | None = None

    @property
    def ranks_per_chip(self) -> float:
        """Tensor-parallel ranks one chip holds by default: trn2 has eight cores in four ranks at LNC 2."""
        return self.cores_per_chip / self.cores_per_rank

    def figure(self, field: str, *, allow_assumed: bool = True) -> Figure:
        """The catalog figure, or the labelled assumption where the catalog has none."""
        fig: Figure = getattr(self, field)
        if not fig.known and allow_assumed and field in self.assumed:
            return self.assumed[field]
        return fig

    def peak_tflops(self, dtype: str) -> Figure:
        """Dense peak for a compute dtype; int8 reads the TOP/s figure, fp16 the bf16 one."""
        key = {"bf16": "bf16_tflops", "fp16": "bf16_tflops", "fp8": "fp8_tflops", "int8": "int8_tops",
               "fp4": "fp4_tflops"}.get(dtype)
        if key is None:
            raise KeyError(dtype)
        return getattr(self, key)


class MemoryRecipe(_Frozen):
    """How a training stack holds model state and activations: it decides the minimum chips."""

    state_bytes_per_param: float = Field(gt=0, description="weights + gradients + optimizer state per parameter")
    activations: Literal["full-remat", "selective", "offload"] = Field(
        "full-remat", description="full-remat keeps each layer's input; selective also keeps attention "
        "outputs; offload moves layer inputs to host memory")
    note: str = ""


class Runtime(_Frozen):
    """A software stack (vLLM, MaxText, Megatron, ...) or a framework a workload is written in (JAX,
    PyTorch/XLA, ...). A stack lists the platforms it runs on with the share of the platform's
    calibrated efficiency it reaches there (1.0 = the platform's reference stack), and the
    frameworks whose code it runs; a framework is only a name workloads list for portability."""

    id: str
    name: str
    kind: Literal["stack", "framework"] = "stack"
    aliases: tuple[str, ...] = ()
    uses: tuple[Use, ...] = ("training", "inference")
    frameworks: tuple[str, ...] = ()
    platforms: dict[str, Figure] = Field(default_factory=dict)
    memory: MemoryRecipe | None = None
    kv_admission: Literal["on-demand", "reserve"] = Field(
        "on-demand", description="how a serving stack admits a sequence: on-demand grows its KV cache as it "
        "decodes (pre-empting when full), so a batch holds the mean context; reserve admits it only with KV "
        "room for its whole prompt and output, so a batch holds the full context")
    decode_attention: Literal["kernel", "unfused"] = Field(
        "kernel", description="how a serving stack computes a decode step's attention: kernel runs a fused "
        "decode-attention kernel (paged or flash decoding) bound by reading the KV cache; unfused runs separate "
        "matmul and softmax operations, one query row per sequence and head against its cache, which leave a "
        "matmul array nearly idle (`unfused_attention_efficiency`)")
    expert_matmuls: Literal["kernel", "compiled"] = Field(
        "kernel", description="how a serving stack computes routed-expert matmuls: kernel runs hand-written "
        "expert kernels (grouped GEMM, NKI blockwise and token-generation MLP kernels); compiled leaves them to "
        "the graph compiler as ordinary gathers and matmuls (`compiled_expert_efficiency`)")
    quantized_matmuls: Literal["native", "weight-only"] = Field(
        "native", description="how a serving stack runs an int8 or int4 checkpoint: native multiplies in that "
        "type where the chip has it (activations quantized too); weight-only stores the weights in it and "
        "multiplies in bf16 (each weight converted as it is read), so only the bytes read shrink")
    note: str = ""

    def provides(self, names: set[str]) -> bool:
        """Whether a workload that lists `names` (stacks or frameworks) can run on this stack."""
        return bool(names & {self.id, *self.aliases, *self.frameworks})


class Region(_Frozen):
    id: str
    provider: str
    location: str = ""
    geo: Literal["us", "eu", "asia", "other"] = "other"


class Provider(_Frozen):
    id: str
    name: str
    kind: Literal["hyperscaler", "neocloud", "private"] = "hyperscaler"
    regions: tuple[str, ...] = ()


class Offering(_Frozen):
    """A way to rent one accelerator type from one provider in one region.

    Prices are per chip-hour. `unit_chips` is the smallest unit sold (instance or slice).
    """

    id: str
    provider: str
    region: str
    accelerator: str
    instance: str
    unit_chips: int = Field(gt=0)
    on_demand: Figure = Figure()
    spot: Figure = Figure()
    commit_1y: Figure = Figure()
    commit_3y: Figure = Figure()

    def price(self, term: Term) -> Figure:
        return getattr(self, term)
