"""Training throughput of a model on N chips of one type.

Dense: tokens/s/chip = peak · MFU / FLOPs per token, with FLOPs per token = 6·N_active plus
causal attention and MFU the platform's calibrated value, lowered beyond one scale-up slice,
under memory pressure and by the stack's factor.

Mixture of experts, per token: the dense part runs at that MFU; the routed experts' matmuls
run at ffn / (ffn + expert_gemm_width) of it (narrow experts make small GEMMs) and wait for
the busiest expert (expert_imbalance); and each MoE layer sends the token's activations to
its top-k experts and back, forward and backward (8 · k · d_model bytes per layer in bf16),
over the interconnect: a switched fabric (NVLink, NeuronSwitch) gives each chip its link
bandwidth, a d-dimensional torus of E chips about 4 / (d · E^(1/d)) of it (bisection); experts
spread over several scale-up domains also send each token once to every other domain that holds
one of its experts, over the scale-out network (hierarchical dispatch). Those times add. The
experts spread over min(experts, chips, scale-up domain) chips unless a published layout says
otherwise (`expert_parallel`).

Memory, per the stack's recipe: weights, gradients and optimizer state (state_bytes_per_param)
are sharded over all chips; each chip also holds its activations: one sequence's layer inputs
(full recomputation), twice that (selective), or none (offloaded to host), plus one layer's
working set, tensor-parallel over up to 8 chips. Too few chips -> infeasible, with the minimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import ChipArrays, ModelArrays

DEFAULT_STATE_BYTES = 16.0      # bf16 weights + gradients, fp32 main weights + Adam moments
TP_MAX = 8
A2A_BYTES_PER_LAYER_AND_EXPERT = 8.0   # 2 bytes (bf16) x dispatch + combine x forward + backward
ACTIVATION_LAYERS = {"full-remat": 2.0, "selective": 4.0, "offload": 0.0}   # bytes per token per layer / d_model

OK, NO_FIT, ACT_NO_FIT, UNKNOWN_FIGURE = range(4)
REASONS = {
    OK: "",
    NO_FIT: "model state does not fit on this many chips",
    ACT_NO_FIT: "one sequence's activations do not fit in a chip at this sequence length",
    UNKNOWN_FIGURE: "a needed chip figure is unknown (peak or HBM)",
}


@dataclass(frozen=True)
class TrainingCases:
    model: np.ndarray
    chip: np.ndarray
    chips: np.ndarray
    seq_len: np.ndarray
    runtime_eff: np.ndarray
    state_bytes: np.ndarray | None = None      # per parameter (default DEFAULT_STATE_BYTES)
    act_layers: np.ndarray | None = None       # activation bytes per token per layer / d_model (default 2)
    expert_parallel: np.ndarray | None = None  # experts spread over this many chips (0 = the default rule)


@dataclass(frozen=True)
class TrainingResult:
    feasible: np.ndarray
    reason: np.ndarray
    mfu: np.ndarray
    flops_per_token: np.ndarray
    tokens_per_s_per_chip: np.ndarray
    min_chips: np.ndarray


def dense_mfu(H: ChipArrays, c: TrainingCases, fill: np.ndarray) -> np.ndarray:
    """The calibrated MFU with scale-out, memory pressure and the stack's factor."""
    h = c.chip
    slice_ = np.nan_to_num(H.max_slice[h], nan=1.0)
    scale = (np.maximum(c.chips, slice_) / slice_) ** (-H.scaleout_exponent[h])
    pressure = 1.0 - H.memory_pressure[h] * np.clip(fill - 0.5, 0.0, 0.5)
    return H.mfu[h] * c.runtime_eff * scale * pressure


def seconds_per_token(M: ModelArrays, H: ChipArrays, c: TrainingCases, fpt: np.ndarray,
                      u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(seconds per token per chip, of which all-to-all) at dense MFU u. Attention's own
    matmuls (scores and values) run in BF16 whatever the recipe's matmul dtype, at a share of
    the MFU (flash attention's kernels reach less of peak than the GEMMs)."""
    m, h = c.model, c.chip
    rate = H.peak_flops[h] * u
    expert = 6.0 * M.expert_active_params[m]
    attention = M.att_train_coeff[m] * c.seq_len
    ffn = np.maximum(M.expert_ffn[m], 1.0)
    gemm = ffn / (ffn + H.expert_gemm_width[h])
    t_compute = ((fpt - expert - attention) / rate + attention / (H.peak_bf16[h] * u * H.train_attention_eff[h])
                 + expert * H.expert_imbalance[h] / (rate * gemm))
    scaleup = np.nan_to_num(H.scaleup[h], nan=1.0)
    ep = np.minimum(np.maximum(M.experts[m], 1.0), np.where(scaleup >= 8, np.minimum(c.chips, scaleup), c.chips))
    if c.expert_parallel is not None:     # a published layout's expert parallelism (may cross scale-out)
        ep = np.where(c.expert_parallel > 0, np.minimum(c.expert_parallel, np.maximum(M.experts[m], 1.0)), ep)
    ep = np.maximum(ep, 1.0)
    dims = H.torus_dims[h]
    topo = np.where(dims > 0, np.minimum(1.0, 4.0 / (np.maximum(dims, 1.0) * ep ** (1.0 / np.maximum(dims, 1.0)))), 1.0)
    bw_in = np.nan_to_num(H.link_bw[h], nan=0.0) * topo * H.a2a_eff[h]
    bw_out = np.nan_to_num(H.scaleout_bw[h], nan=0.0) * H.a2a_eff[h]
    # copies of a token's activations: to each of its k experts not on its own chip, over the
    # scale-up fabric (delivering within a domain); and, when experts span several scale-up
    # domains, once to each other domain holding one of its experts (hierarchical dispatch, as
    # DeepEP and Megatron's flex dispatcher do), over the scale-out network
    k = M.top_k[m]
    copies_in = k * (ep - 1.0) / ep
    domains = np.maximum(ep / scaleup, 1.0)
    copies_out = (domains - 1.0) * -np.expm1(k * np.log1p(-1.0 / np.maximum(domains, 1.0 + 1e-9)))
    per_copy = A2A_BYTES_PER_LAYER_AND_EXPERT * M.moe_layers[m] * M.d_model[m]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_in = np.where(copies_in > 0, per_copy * copies_in / bw_in, 0.0)
        t_out = np.where(copies_out > 1e-9, per_copy * copies_out / bw_out, 0.0)
        t_a2a = np.where(per_copy * k > 0, t_in + t_out, 0.0)
    return t_compute + t_a2a, t_a2a


def estimate(M: ModelArrays, H: ChipArrays, c: TrainingCases) -> TrainingResult:
    m, h = c.model, c.chip
    n = len(m)
    seq = c.seq_len.astype(float)
    fpt = M.training_flops_coeff[m] + M.att_train_coeff[m] * seq
    state_b = c.state_bytes if c.state_bytes is not None else np.full(n, DEFAULT_STATE_BYTES)
    act_l = c.act_layers if c.act_layers is not None else np.full(n, 2.0)

    tp = np.minimum(np.nan_to_num(H.scaleup[h], nan=1.0), TP_MAX)
    act = seq * M.d_model[m] * (act_l * M.layers[m] + 34.0) / tp
    usable = H.hbm_usable[h] * H.hbm_bytes[h]
    room = usable - act
    state = M.params_total[m] * state_b
    need = np.where(room > 0, np.ceil(state / np.where(room > 0, room, 1.0) / tp) * tp, np.inf)
    fill = (state / np.maximum(c.chips, 1.0) + act) / usable
    u = dense_mfu(H, c, fill)
    with np.errstate(divide="ignore", invalid="ignore"):
        t, _ = seconds_per_token(M, H, c, fpt, u)
        tps = np.where(t > 0, 1.0 / t, 0.0)
        mfu = fpt * tps / H.peak_flops[h]

    unknown = ~np.isfinite(H.peak_flops[h] * H.hbm_bytes[h])
    reason = np.where(c.chips < need, NO_FIT, OK)
    reason = np.where(room <= 0, ACT_NO_FIT, reason)
    reason = np.where(unknown, UNKNOWN_FIGURE, reason)
    feasible = (reason == OK) & np.isfinite(tps)
    return TrainingResult(feasible=feasible, reason=reason, mfu=np.nan_to_num(mfu), flops_per_token=fpt,
                          tokens_per_s_per_chip=np.where(feasible, tps, 0.0), min_chips=need)
