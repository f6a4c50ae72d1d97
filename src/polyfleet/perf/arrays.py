"""Per-model and per-chip constants as numpy arrays, for vectorised performance models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..catalog.model import Accelerator
from ..workloads.models import BYTES, ModelSpec
from .efficiency import Efficiency

COMPUTE_FALLBACK = {"fp4": ("fp4", "fp8", "bf16"), "fp8": ("fp8", "bf16"), "int8": ("int8", "fp8", "bf16"),
                    "int4": ("int8", "fp8", "bf16"), "bf16": ("bf16",), "fp16": ("bf16",)}


@dataclass(frozen=True)
class ModelArrays:
    """One row per (model, weight dtype, KV dtype)."""

    matmul_params: np.ndarray
    weight_bytes: np.ndarray
    expert_bytes: np.ndarray        # routed-expert weights (read only where a token routes)
    active_share: np.ndarray        # active / total routed experts (1 for dense)
    kv_bytes_per_token: np.ndarray
    kv_heads: np.ndarray            # heads the KV cache splits over (1 for MLA: one latent every head reads)
    att_coeff: np.ndarray           # forward attention FLOPs per token per token of context
    att_decode_coeff: np.ndarray    # the same for a decoded token (MLA: absorbed, on the latent cache)
    layers: np.ndarray
    d_model: np.ndarray
    params_total: np.ndarray
    training_flops_coeff: np.ndarray  # 6 * matmul params
    att_train_coeff: np.ndarray       # training attention FLOPs per token per token of sequence
    experts: np.ndarray               # routed experts (0 for dense)
    top_k: np.ndarray                 # routed experts per token (0 for dense)
    moe_layers: np.ndarray            # layers with routed experts
    expert_ffn: np.ndarray            # width of one routed expert's FFN (0 for dense)
    expert_active_params: np.ndarray  # routed-expert matmul parameters one token passes through

    @classmethod
    def build(cls, rows: Sequence[tuple[ModelSpec, str, str]]) -> "ModelArrays":
        def col(f):
            return np.array([f(m, w, k) for m, w, k in rows], dtype=float)
        return cls(
            matmul_params=col(lambda m, w, k: m.matmul_params_active),
            weight_bytes=col(lambda m, w, k: m.params_total * BYTES[w]),
            expert_bytes=col(lambda m, w, k: m.expert_params * BYTES[w]),
            active_share=col(lambda m, w, k: m.moe.active / m.moe.experts if m.moe else 1.0),
            kv_bytes_per_token=col(lambda m, w, k: m.kv_bytes_per_token(k)),
            kv_heads=col(lambda m, w, k: 1.0 if m.mla else m.kv_heads),
            att_coeff=col(lambda m, w, k: m.attention_flops_per_token(1.0)),
            att_decode_coeff=col(lambda m, w, k: m.decode_attention_flops_per_token(1.0)),
            layers=col(lambda m, w, k: m.layers),
            d_model=col(lambda m, w, k: m.d_model),
            params_total=col(lambda m, w, k: m.params_total),
            training_flops_coeff=col(lambda m, w, k: 6.0 * m.matmul_params_active),
            att_train_coeff=col(lambda m, w, k: 1.5 * m.attention_flops_per_token(1.0)),
            experts=col(lambda m, w, k: m.moe.experts if m.moe else 0),
            top_k=col(lambda m, w, k: m.moe.active if m.moe else 0),
            moe_layers=col(lambda m, w, k: m.layers - m.moe.dense_layers if m.moe else 0),
            expert_ffn=col(lambda m, w, k: (m.moe.ffn or m.ffn) if m.moe else 0),
            expert_active_params=col(lambda m, w, k: m.expert_params * m.moe.active / m.moe.experts if m.moe else 0),
        )


@dataclass(frozen=True)
class ChipArrays:
    """One row per (accelerator, requested compute dtype); NaN where a figure is unknown."""

    peak_flops: np.ndarray
    peak_bf16: np.ndarray           # what attention runs at in training (FP8 recipes keep it in BF16)
    compute_dtype: np.ndarray       # dtype the matmuls run in (after fallback), as str
    hbm_bytes: np.ndarray
    hbm_bw: np.ndarray
    link_bw: np.ndarray
    scaleup: np.ndarray
    max_slice: np.ndarray
    eff_compute: np.ndarray
    eff_bw: np.ndarray
    eff_kv: np.ndarray
    overhead_s: np.ndarray
    per_seq_s: np.ndarray
    collective_s: np.ndarray
    hbm_usable: np.ndarray
    max_batch: np.ndarray
    mfu: np.ndarray
    scaleout_exponent: np.ndarray
    memory_pressure: np.ndarray
    attention_eff: np.ndarray
    unfused_attention_eff: np.ndarray   # decode attention on a stack that runs it unfused
    train_attention_eff: np.ndarray
    interference: np.ndarray
    allreduce_bw: np.ndarray        # link bandwidth a tensor-parallel all-reduce reaches (inference)
    a2a_eff: np.ndarray
    expert_imbalance: np.ndarray
    expert_gemm_width: np.ndarray
    expert_eff: np.ndarray          # inference: routed-expert matmuls' share of the dense compute efficiency
    compiled_expert_eff: np.ndarray # inference: the same on a stack without expert kernels
    moe_block: np.ndarray           # inference: 0 = the engine routes tokens to experts; >0 = NxD blockwise rows
    expert_shard_width: np.ndarray  # inference: 0 = whole experts per chip; >0 = experts sharded over the cores
    ranks_per_chip: np.ndarray      # tensor-parallel ranks per chip (Neuron cores / logical core size)
    torus_dims: np.ndarray          # 0 = switched fabric (NVSwitch, NeuronSwitch)
    scaleout_bw: np.ndarray         # bytes/s per chip beyond the scale-up domain

    @classmethod
    def build(cls, rows: Sequence[tuple[Accelerator, str]], eff: Efficiency) -> "ChipArrays":
        out: dict[str, list] = {k: [] for k in cls.__dataclass_fields__}
        for acc, dtype in rows:
            peak, used = np.nan, dtype
            for cand in COMPUTE_FALLBACK.get(dtype, (dtype,)):
                fig = acc.peak_tflops(cand)
                if fig.known:
                    peak, used = fig.value * 1e12, cand
                    break
            bf16 = acc.peak_tflops("bf16")
            plat = eff[acc.platform]
            inf, tr = plat.inference, plat.training
            link = acc.figure("link_gbytes_per_s")
            vals = {
                "peak_flops": peak, "compute_dtype": used,
                "peak_bf16": min(bf16.value * 1e12, peak) if bf16.known else peak,
                "hbm_bytes": _val(acc.figure("hbm_gb")) * 1e9,
                "hbm_bw": _val(acc.figure("hbm_tbps")) * 1e12,
                "link_bw": _val(link) * 1e9,
                "scaleup": _val(acc.figure("scaleup_chips")),
                "max_slice": _val(acc.figure("max_slice_chips")),
                "eff_compute": inf.compute_for(used) * eff.chip_factor(acc.id, "inference"), "eff_bw": inf.bandwidth, "eff_kv": inf.kv_bandwidth,
                "overhead_s": inf.overhead_ms / 1e3, "per_seq_s": inf.per_sequence_us / 1e6, "collective_s": inf.collective_us / 1e6,
                "hbm_usable": inf.hbm_usable, "max_batch": inf.max_batch,
                "mfu": tr.mfu_for(used) * eff.chip_factor(acc.id, "training") * float(eff.intensity_factor(peak / (_val(acc.figure("hbm_tbps")) * 1e12))), "scaleout_exponent": tr.scaleout_exponent,
                "memory_pressure": tr.memory_pressure, "attention_eff": inf.attention_efficiency,
                "unfused_attention_eff": inf.unfused_attention_efficiency or inf.attention_efficiency,
                "train_attention_eff": tr.attention_efficiency,
                "interference": inf.interference,
                "allreduce_bw": _val(link) * 1e9 * inf.allreduce_efficiency, "a2a_eff": tr.a2a_efficiency,
                "expert_imbalance": tr.expert_imbalance, "expert_gemm_width": tr.expert_gemm_width,
                "expert_eff": inf.expert_efficiency,
                "compiled_expert_eff": inf.compiled_expert_efficiency or inf.expert_efficiency,
                "moe_block": float(inf.moe_block_rows),
                "expert_shard_width": inf.expert_shard_width, "ranks_per_chip": acc.ranks_per_chip,
                "torus_dims": float(acc.torus_dims), "scaleout_bw": _val(acc.figure("scaleout_gbytes_per_s")) * 1e9,
            }
            for k, v in vals.items():
                out[k].append(v)
        arrays = {k: np.array(v, dtype=object if k == "compute_dtype" else float) for k, v in out.items()}
        return cls(**arrays)


def _val(fig) -> float:
    return float(fig.value) if fig.value is not None else np.nan
