"""Training throughput of a model on N chips of one type.

tokens/s/chip = peak · MFU / FLOPs per token, with FLOPs per token = 6·N_active plus
causal attention, and MFU = the platform's calibrated value, lowered beyond one
scale-up slice, for mixture-of-experts models and by the runtime's portability factor.
Memory: weights, gradients and Adam state (14 bytes/parameter) are sharded over all
chips; each chip also holds one sequence's checkpointed activations (tensor-parallel
over up to 8 chips). Too few chips -> infeasible, with the minimum that fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import ChipArrays, ModelArrays

STATE_BYTES_PER_PARAM = 14.0   # fp32 master weights + Adam m, v (12) + bf16 gradients (2)
TP_MAX = 8

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


@dataclass(frozen=True)
class TrainingResult:
    feasible: np.ndarray
    reason: np.ndarray
    mfu: np.ndarray
    flops_per_token: np.ndarray
    tokens_per_s_per_chip: np.ndarray
    min_chips: np.ndarray


def mfu(M: ModelArrays, H: ChipArrays, c: TrainingCases, fill: np.ndarray) -> np.ndarray:
    m, h = c.model, c.chip
    slice_ = np.nan_to_num(H.max_slice[h], nan=1.0)
    scale = (np.maximum(c.chips, slice_) / slice_) ** (-H.scaleout_exponent[h])
    experts = M.experts[m]
    spread = np.minimum(1.0, np.nan_to_num(H.scaleup[h], nan=1.0) / np.maximum(experts, 1.0))
    moe = np.where(experts > 0, H.moe_factor[h] * spread ** H.moe_granularity[h], 1.0)
    pressure = 1.0 - H.memory_pressure[h] * np.clip(fill - 0.5, 0.0, 0.5)
    return H.mfu[h] * c.runtime_eff * scale * moe * pressure


def estimate(M: ModelArrays, H: ChipArrays, c: TrainingCases) -> TrainingResult:
    m, h = c.model, c.chip
    seq = c.seq_len.astype(float)
    fpt = M.training_flops_coeff[m] + M.att_train_coeff[m] * seq

    tp = np.minimum(np.nan_to_num(H.scaleup[h], nan=1.0), TP_MAX)
    act = seq * M.d_model[m] * (2.0 * M.layers[m] + 34.0) / tp
    usable = H.hbm_usable[h] * H.hbm_bytes[h]
    room = usable - act
    state = M.params_total[m] * STATE_BYTES_PER_PARAM
    need = np.where(room > 0, np.ceil(state / np.where(room > 0, room, 1.0) / tp) * tp, np.inf)
    fill = (state / np.maximum(c.chips, 1.0) + act) / usable
    u = mfu(M, H, c, fill)
    tps = H.peak_flops[h] * u / fpt

    unknown = ~np.isfinite(H.peak_flops[h] * H.hbm_bytes[h])
    reason = np.where(c.chips < need, NO_FIT, OK)
    reason = np.where(room <= 0, ACT_NO_FIT, reason)
    reason = np.where(unknown, UNKNOWN_FIGURE, reason)
    feasible = reason == OK
    return TrainingResult(feasible=feasible, reason=reason, mfu=u, flops_per_token=fpt,
                          tokens_per_s_per_chip=np.where(feasible, tps, 0.0), min_chips=need)
