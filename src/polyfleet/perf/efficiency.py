"""Efficiency factors per platform: the share of peak a real stack reaches.

They are fitted to the published points in `calibration.yaml` (see
`benchmarks/fit_efficiency.py`) and kept as data, each with its status.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..datafile import DataFile, validate


class InferenceEfficiency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    compute: dict[str, float] = Field(description="share of dense peak reached by matmuls, per compute dtype")
    bandwidth: float = Field(gt=0, le=1, description="share of HBM bandwidth reached when streaming weights")
    kv_bandwidth: float = Field(gt=0, le=1, description="share of HBM bandwidth reached by attention reading the "
                                "KV cache (paged, scattered reads)")
    overhead_ms: float = Field(ge=0, description="fixed cost of one engine step (scheduling, sampling, launch)")
    per_sequence_us: float = Field(ge=0, description="host-side cost per running sequence per step "
                                   "(scheduling, sampling); what limits very large batches")
    collective_us: float = Field(ge=0, description="latency of one tensor-parallel all-reduce")
    hbm_usable: float = Field(gt=0, le=1, description="share of HBM available to weights and KV cache")
    max_batch: int = Field(gt=0, description="largest batch the serving engine runs")
    attention_efficiency: float = Field(1.0, gt=0, le=1.5, description="attention kernels' share of the matmul "
                                        "compute efficiency (flash attention at long context reaches less)")
    unfused_attention_efficiency: float = Field(0.0, ge=0, le=1.5, description="decode attention's share of "
                                                "the matmul compute efficiency on a stack that runs it unfused "
                                                "(runtimes.yaml decode_attention): matrix-vector work per sequence "
                                                "and head; 0 where no such stack is fitted (attention_efficiency)")
    compiled_expert_efficiency: float = Field(0.0, ge=0, le=2, description="routed-expert matmuls' share of the "
                                              "dense compute efficiency on a stack that leaves them to the compiler "
                                              "(runtimes.yaml expert_matmuls); 0 where no such stack is fitted "
                                              "(expert_efficiency)")
    allreduce_efficiency: float = Field(1.0, gt=0, le=1, description="share of the scale-up link bandwidth a "
                                        "tensor-parallel all-reduce reaches (ring over the chip's links)")
    interference: float = Field(0.0, ge=0, le=1, description="share of the shorter of a mixed step's compute and "
                                "memory time that does not overlap the longer (chunked-prefill interference)")
    expert_efficiency: float = Field(1.0, gt=0, le=2, description="routed-expert matmuls' share of the dense "
                                     "compute efficiency in serving (beyond the narrow-GEMM and imbalance costs "
                                     "training fits): how well the stack's MoE kernels route and group tokens")
    moe_block_rows: int = Field(0, ge=0, description="0: the engine routes each token to its experts; >0: static-"
                                "shape MoE (NxD): decode runs every expert once batch x top-k reaches the expert "
                                "count, and a prompt runs in per-expert blocks of this many rows, padded")
    expert_shard_width: float = Field(0.0, ge=0, le=4096, description="0: a chip holds whole experts and their "
                                      "matmuls pay training's narrow-GEMM width; >0: the engine shards every expert "
                                      "over the replica's tensor-parallel cores (NxD), and a core's expert matmul "
                                      "runs at min(1, shard / this) of the dense rate, shard = expert ffn / (chips x "
                                      "ranks per chip); fitted, so an effective width rather than the array's")

    def compute_for(self, dtype: str) -> float:
        if dtype in self.compute:
            return self.compute[dtype]
        return self.compute.get("bf16", min(self.compute.values()))


class TrainingEfficiency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mfu: dict[str, float] = Field(description="model FLOPs utilisation of dense peak, per compute dtype")
    scaleout_exponent: float = Field(ge=0, description="MFU falls as (chips / slice)^-x beyond one scale-up slice")
    memory_pressure: float = Field(ge=0, description="MFU falls by this x (HBM fill - 0.5) when model state and "
                                   "activations fill more than half of a chip (more recomputation, smaller batches)")
    a2a_efficiency: float = Field(0.5, gt=0, le=1, description="share of the interconnect's per-chip bandwidth a "
                                  "mixture-of-experts all-to-all reaches (after what overlaps compute)")
    expert_imbalance: float = Field(1.0, ge=1, le=2, description="busiest expert's tokens / the mean: expert "
                                    "matmuls wait for the busiest")
    attention_efficiency: float = Field(1.0, gt=0, le=1, description="attention kernels' (flash attention, "
                                        "forward and backward) share of the matmul MFU")
    expert_gemm_width: float = Field(0.0, ge=0, le=20000, description="expert matmuls reach ffn / (ffn + this) of "
                                     "the dense efficiency: narrow (fine-grained) experts run smaller, slower GEMMs")

    def mfu_for(self, dtype: str) -> float:
        if dtype in self.mfu:
            return self.mfu[dtype]
        return self.mfu.get("bf16", min(self.mfu.values()))


class PlatformEfficiency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    status: str
    note: str = ""
    inference: InferenceEfficiency
    training: TrainingEfficiency


class Efficiency(BaseModel):
    """Efficiency factors for every platform (tpu, neuron, cuda, rocm).

    Training MFU also falls with a chip's arithmetic intensity (peak FLOP/s per byte/s
    of HBM): the memory-bound share of a step grows on chips with more FLOPs per byte.
    `mfu` values are for a chip at `intensity_reference`; a chip at intensity I gets
    mfu * (1 + reference/scale) / (1 + I/scale).

    `chips` holds a factor per chip on its platform's compute efficiency and MFU, fitted where
    published results pin it and pulled toward 1 (partial pooling): MI325X runs the MI300X's die
    at 1,000 W instead of 750 W and serves 24-30% more in MLPerf at the same catalogued peak.
    """
    model_config = ConfigDict(extra="forbid", frozen=True)
    intensity_reference: float = Field(gt=0, description="FLOP per byte at which `mfu` is quoted")
    intensity_scale: float = Field(gt=0, description="FLOP per byte at which MFU has halved from its ideal")
    platforms: dict[str, PlatformEfficiency]
    chips: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="accelerator -> use (inference, training) -> fitted factor on its "
        "platform's compute efficiency or MFU: what one chip sustains against the platform's other chips (a "
        "power limit that lowers its clock, a different die); chips not listed use 1")
    stacks: dict[str, dict[str, dict[str, float]]] = Field(
        default_factory=dict, description="platform -> stack -> use -> fitted factor relative to the platform's "
        "reference stack; stacks not listed use the catalog's prior")

    harness: dict[str, float] = Field(
        default_factory=dict, description="benchmark harness -> fitted factor on the stack's efficiency for results "
        "published from it (an MLPerf submission is a tuned build of its stack); calibration only, never applied "
        "to an estimate")

    def stack_factor(self, platform: str, stack: str, use: str) -> float | None:
        """The fitted factor for a stack on a platform, or None when no published result pins it."""
        return self.stacks.get(platform, {}).get(stack, {}).get(use)

    def chip_factor(self, accelerator: str, use: str) -> float:
        """The fitted factor of one chip against its platform (1 where no published result pins it)."""
        return float(self.chips.get(accelerator, {}).get(use, 1.0))

    def intensity_factor(self, intensity):
        return (1.0 + self.intensity_reference / self.intensity_scale) / (1.0 + intensity / self.intensity_scale)

    def __getitem__(self, platform: str) -> PlatformEfficiency:
        return self.platforms[platform]


@lru_cache(maxsize=1)
def default_efficiency() -> Efficiency:
    text = (resources.files("polyfleet.perf") / "data" / "efficiency.yaml").read_text(encoding="utf-8")
    doc = DataFile(text, "built-in efficiency.yaml")
    return validate(Efficiency, doc.data, doc.name, doc)


def load_efficiency(path: str | Path | None = None) -> Efficiency:
    if path is None:
        return default_efficiency()
    doc = DataFile.read(path)
    return validate(Efficiency, doc.data, doc.name, doc)
