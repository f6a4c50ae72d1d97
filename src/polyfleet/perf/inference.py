"""Inference performance of one replica (C chips, tensor-parallel in one scale-up domain).

A roofline model of continuous batching with chunked prefill, vectorised over cases
and candidate batch sizes. Per engine step, B sequences each emit one token and, in
steady state, B·I/O prompt tokens are prefilled, so

    step(B) = max(compute, memory) + interference · min(compute, memory) + collectives + overhead
              + B · per-sequence cost
    compute = 2·N_active·B·(1 + I/O) / (C · peak · eff_compute) + attention FLOPs / (that · eff_attention)
    memory  = weights read / (C · HBM BW · eff_bw) + B · KV bytes/token · (I + O/2) / (C · HBM BW · eff_kv)
    collectives = 2 · layers · (latency + ring all-reduce of the step's activations at the
                  share of link bandwidth an all-reduce reaches)

TPOT = step(B); TTFT = prefill(I) + step(B); memory holds weights and B KV caches, each at the
mean context I + O/2, or the whole I + O where the engine reserves it on admission (TensorRT-LLM).
MLA decodes in the absorbed form (more FLOPs per token of its small latent cache).
A batch of one has no other sequence's prompt to carry: its steps decode only, and its
throughput pays its own prompt once, O / (prefill(I) + O · step(1)). Routed-expert matmuls
cost what `expert_rows` says the engine computes (NxD's static-shape MoE runs every expert, or
padded per-expert blocks, where routing engines run only the routed rows; where it runs every
expert, a step reads every expert's weights). An engine that shards every expert over its
tensor-parallel ranks (NxD: a rank is a logical NeuronCore) gives each a slice ffn / (chips ·
ranks per chip) wide, and a slice narrower than the width a rank's matmul needs
(`expert_shard_width`, fitted) runs no faster than one that fills it. A static-shape engine
compiled for a batch (`compiled_batch`) decodes all its slots each step, served or padding:
their compute, KV reads and expert rows count, and it serves at most that batch. An engine that
runs decode attention unfused (separate matmul and softmax operations, one query row per sequence
and head: Transformers NeuronX) reaches `unfused_attention_efficiency` of the matmul rate on it.
A tensor-parallel engine gives every rank at least one KV head, so with more ranks than KV heads
each head's cache is held (and read) ranks / heads times (`kv_copies`); attention run data-parallel
(TensorRT-LLM DEP) holds each sequence's cache once, on its chip, but every chip holds and reads
the weights outside the routed experts whole (`dense_copies`), and its collectives are each MoE
layer's all-to-all (a chip's own tokens out to their experts' chips and back, `remote_chips`)
instead of two all-reduces per layer. A sequence's attention and dense layers run on its chip alone:
a step waits for the chip with the most sequences, ceil(B / C), and a lone prompt runs them at one
chip's rate, all its tokens leaving that chip for their experts (tensor-parallel, a prompt's compute
and traffic are spread over the chips). An MLA latent cache is one KV head every query head reads,
so a tensor-parallel replica holds it whole on every rank (vLLM counts one KV head per GPU for MLA)
and only attention data-parallel splits it.
The batch is the largest on a grid that meets the SLOs, or the one given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import ChipArrays, ModelArrays

BATCH_GRID = np.unique(np.round(np.geomspace(1, 4096, 80)).astype(int)).astype(float)

# reason codes, shared with the rate table
(OK, NO_FIT, KV_NO_FIT, TPOT_UNREACHABLE, TTFT_UNREACHABLE, UNKNOWN_FIGURE, TOO_MANY_CHIPS, COMPILED_NO_FIT,
 BATCH_NO_FIT, BATCH_OVER_ENGINE) = range(10)
REASONS = {
    OK: "",
    NO_FIT: "model weights do not fit in the replica's memory",
    KV_NO_FIT: "no room for even one sequence's KV cache",
    TPOT_UNREACHABLE: "TPOT SLO unreachable at any batch",
    TTFT_UNREACHABLE: "TTFT SLO unreachable at any batch",
    UNKNOWN_FIGURE: "a needed chip figure is unknown (peak, HBM or bandwidth)",
    TOO_MANY_CHIPS: "replica larger than the chip's scale-up domain",
    COMPILED_NO_FIT: "the compiled batch's KV caches do not fit in the replica's memory",
    BATCH_NO_FIT: "the given batch's KV caches do not fit in the replica's memory",
    BATCH_OVER_ENGINE: "the given batch is larger than the serving engine runs",
}
LIMITS = np.array(["compute", "memory bandwidth", "collectives", "KV capacity", "TPOT SLO", "TTFT SLO",
                   "max batch", "fixed batch", "-"], dtype=object)
L_COMPUTE, L_BANDWIDTH, L_COLLECTIVES, L_KV, L_TPOT, L_TTFT, L_MAXBATCH, L_FIXED, L_NONE = range(9)


@dataclass(frozen=True)
class InferenceCases:
    """Flat arrays of length n: which model row, which chip row, and the request."""

    model: np.ndarray       # index into ModelArrays
    chip: np.ndarray        # index into ChipArrays
    chips: np.ndarray       # C, chips per replica
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    ttft_slo_s: np.ndarray  # inf = no SLO
    tpot_slo_s: np.ndarray
    batch: np.ndarray       # 0 = choose the best; >0 = fixed
    runtime_eff: np.ndarray # share of the platform's calibrated efficiency the runtime reaches
    compiled_batch: np.ndarray | None = None  # a static engine's batch (0 or None: the engine batches what it has)
    kv_reserve: np.ndarray | None = None      # 1 where the engine admits a sequence only with KV room for I + O
    unfused_attention: np.ndarray | None = None  # 1 where the engine runs decode attention as separate matmul ops
    compiled_experts: np.ndarray | None = None   # 1 where the engine has no expert kernels (compiler-built matmuls)
    attention_dp: np.ndarray | None = None       # 1 where attention runs data-parallel over the replica's chips

    def sub(self, idx: np.ndarray) -> "InferenceCases":
        """The cases at `idx`."""
        return InferenceCases(**{k: None if (v := getattr(self, k)) is None else v[idx]
                                 for k in self.__dataclass_fields__})

    def admitted_context(self) -> np.ndarray:
        """Tokens of KV a sequence holds in the engine's memory budget: the mean context I + O/2 where
        the cache grows as it decodes, the whole I + O where admission reserves it to completion."""
        I, O = self.input_tokens.astype(float), self.output_tokens.astype(float)
        full = self.flag("kv_reserve")
        return I + np.where(full, O, O / 2.0)

    def flag(self, name: str) -> np.ndarray:
        """One of the optional 0/1 fields (kv_reserve, unfused_attention, compiled_experts, attention_dp)
        as bools per case; all False where it was not given."""
        v = getattr(self, name)
        return np.zeros(len(self.model), bool) if v is None else v.astype(bool)

    def padded(self) -> np.ndarray:
        """Decode slots a step computes at least: the compiled batch of a static-shape engine, else 0."""
        return np.zeros(len(self.model)) if self.compiled_batch is None else self.compiled_batch.astype(float)


@dataclass(frozen=True)
class InferenceResult:
    feasible: np.ndarray
    reason: np.ndarray          # codes (REASONS)
    limit: np.ndarray           # codes into LIMITS
    batch: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    tokens_per_s: np.ndarray    # output tokens/s of the replica
    tokens_per_s_per_chip: np.ndarray
    min_chips: np.ndarray       # smallest power-of-two replica the weights fit in
    max_batch_memory: np.ndarray
    max_batch_engine: np.ndarray  # the most the engine runs: its compiled batch, else the platform's largest


def _timing(M: ModelArrays, H: ChipArrays, c: InferenceCases, B: np.ndarray):
    """Step time, TTFT and the step's compute/memory/collective parts, for batch B (n, k).

    Everything but the MoE expert reads is linear in B, so each case's coefficients are
    formed once (n values) and the (n, k) grid costs a few passes."""
    m, h = c.model, c.chip
    C = c.chips.astype(float)
    I, O = c.input_tokens.astype(float), c.output_tokens.astype(float)
    rt = c.runtime_eff
    flops_rate = C * H.peak_flops[h] * H.eff_compute[h] * rt
    bw_rate = C * H.hbm_bw[h] * H.eff_bw[h] * rt
    kv_rate = C * H.hbm_bw[h] * H.eff_kv[h] * rt
    att_rate = flops_rate * H.attention_eff[h]
    unfused = c.flag("unfused_attention")
    decode_att_rate = flops_rate * np.where(unfused, H.unfused_attention_eff[h], H.attention_eff[h])
    ctx = I + O / 2.0
    col = lambda x: x[:, None]  # noqa: E731
    dp = c.flag("attention_dp")
    # attention data-parallel: a sequence's attention and dense layers run on its own chip, so `busiest` is the
    # busiest chip's ceil(B / C) sequences, C x that at the replica's rate; a lone prompt runs on one chip
    own = np.where(dp, C, 1.0)
    busiest = lambda b: np.ceil(b / col(own)) * col(own)  # noqa: E731
    # a batch of one (per chip, data-parallel) decodes alone: its prompt runs before its first token, not
    # inside later steps; larger batches carry the others' prefill chunks in every step (I/O tokens a sequence)
    mixed = (busiest(B) > col(own)).astype(float)
    # routed experts' matmuls run narrow GEMMs and wait for the busiest expert (as in training)
    expert = M.expert_active_params[m]
    ffn = np.maximum(M.expert_ffn[m], 1.0)
    # narrow experts run small GEMMs: a whole expert pays training's width; one sharded over the replica's
    # tensor-parallel ranks runs a slice ffn / ranks wide, and a slice narrower than a rank's matmul needs
    # takes as long as one that fills it
    shard_w = H.expert_shard_width[h]
    shard = ffn / (C * H.ranks_per_chip[h])
    narrow = np.where(shard_w > 0, np.maximum(shard_w / shard, 1.0), (ffn + H.expert_gemm_width[h]) / ffn)
    compiled = c.flag("compiled_experts")
    expert_eff = np.where(compiled, H.compiled_expert_eff[h], H.expert_eff[h])
    expert_cost = expert * H.expert_imbalance[h] * narrow / expert_eff
    dense = 2.0 * (M.matmul_params[m] - expert)
    expert_flops = 2.0 * expert_cost
    E, k, block = M.experts[m], np.maximum(M.top_k[m], 1.0), H.moe_block[h]
    rows_pre = expert_rows(I, E, k, block, prefill=True)          # a request's prompt in one pass
    decode_own = dense / flops_rate + M.att_decode_coeff[m] * ctx / decode_att_rate
    pre_own = dense * I / flops_rate + M.att_coeff[m] * I * I / 2.0 / att_rate
    pre_expert = expert_flops * rows_pre * I / flops_rate
    kv_per_seq = M.kv_bytes_per_token[m] * kv_copies(M, H, c) * ctx / kv_rate
    multi = C > 1
    ring = 2.0 * (C - 1) / C
    act_bytes = 2.0 * M.d_model[m]
    lat = H.collective_s[h]
    with np.errstate(invalid="ignore", divide="ignore"):
        # tensor-parallel: two all-reduces of every token's activations per layer; data-parallel attention:
        # none, but each MoE layer sends a chip's own tokens to the chips holding their experts and back
        collectives = np.where(dp, M.moe_layers[m], M.layers[m])
        coll_fixed = np.where(multi, 2.0 * collectives * lat, 0.0)
        tp_bytes = 2.0 * M.layers[m] * ring * act_bytes
        a2a_bytes = 2.0 * M.moe_layers[m] * remote_chips(C, k) * act_bytes / C
        coll_per_token = np.where(multi, np.where(dp, a2a_bytes, tp_bytes) / H.allreduce_bw[h], 0.0)
    coll_per_token = np.nan_to_num(coll_per_token, nan=np.inf)
    fixed = (M.weight_bytes[m] - M.expert_bytes[m]) * dense_copies(c) / bw_rate

    # a static-shape engine decodes every compiled slot, served or not (padding computes and reads its KV)
    Bd = np.maximum(B, col(c.padded()))
    Bown, Bpre = busiest(Bd), busiest(B) * mixed           # the busiest chip's sequences, at the replica's rate
    step_tokens = Bd + B * mixed * col(I / O)              # tokens one step computes (the experts take them all)
    # a sequence's prompt is spread over its O steps; its attention and dense layers on its own chip
    t_compute = (Bown * col(decode_own) + Bd * col(expert_flops / flops_rate)
                 + Bpre * col(pre_own / O) + B * mixed * col(pre_expert / O))
    blockwise = np.flatnonzero((block > 0) & (E > 0))
    if blockwise.size:   # the decode step's expert rows beyond the routed ones (all experts once B·k >= E)
        Bb = Bd[blockwise]
        rows_dec = expert_rows(Bb, col(E[blockwise]), col(k[blockwise]), col(block[blockwise]), prefill=False)
        t_compute[blockwise] += Bb * col(expert_flops[blockwise] / flops_rate[blockwise]) * (rows_dec - 1.0)
    t_memory = col(fixed) + Bown * col(kv_per_seq)
    moe = np.flatnonzero(M.expert_bytes[m] > 0)
    if moe.size:   # distinct experts a step touches: 1 - (1 - k/E)^tokens of their weights; a static-shape
        mm = m[moe]  # engine loads each token's k experts in its own pass (tokens·k/E, repeats read again)
        static = col(block[moe]) > 0   # until the routed rows reach E, then runs every expert (all weights)
        touched = -np.expm1(step_tokens[moe] * col(np.log1p(-M.active_share[mm])))
        share = np.where(static, np.minimum(step_tokens[moe] * col(M.active_share[mm]), 1.0), touched)
        t_memory[moe] += col(M.expert_bytes[mm] / bw_rate[moe]) * share
    t_coll = col(coll_fixed) + (Bown + Bpre * col(I / O)) * col(coll_per_token)   # the busiest chip's tokens
    # compute and memory overlap in one step, except the share `interference` of the shorter
    # (prefill chunks and decode tokens contend for the same step)
    hi_part, lo_part = np.maximum(t_compute, t_memory), np.minimum(t_compute, t_memory)
    step = hi_part + col(H.interference[h]) * lo_part + t_coll + col(H.overhead_s[h]) + B * col(H.per_seq_s[h])
    with np.errstate(invalid="ignore"):
        t_pre = (np.maximum(pre_own * own + pre_expert, M.expert_bytes[m] / bw_rate + fixed)
                 + coll_fixed + I * coll_per_token * own
                 + H.overhead_s[h])
    t_pre = np.nan_to_num(t_pre, nan=np.inf)
    per_token = step + (1.0 - mixed) * col(t_pre / O)       # a lone sequence also waits for its prompt
    return step, col(t_pre) + step, per_token, t_compute, t_memory, t_coll


def kv_copies(M: ModelArrays, H: ChipArrays, c: InferenceCases) -> np.ndarray:
    """Copies of each KV head a replica holds: a tensor-parallel engine gives every rank at least one
    KV head, so with more ranks (chips x ranks per chip) than KV heads each head is replicated
    ranks / heads times (vLLM num_kv_head_replicas, TensorRT-LLM, NxD GQA replication). MLA's latent
    cache counts as one head (vllm/config/model.py get_num_kv_heads: "When using MLA during decode it
    becomes MQA"), held on every rank."""
    ranks = c.chips.astype(float) * H.ranks_per_chip[c.chip]
    return np.where(c.flag("attention_dp"), 1.0, np.maximum(ranks / M.kv_heads[c.model], 1.0))


def remote_chips(chips: np.ndarray, top_k: np.ndarray) -> np.ndarray:
    """Other chips a token's top-k experts sit on, expected, with the experts spread evenly over the
    chips: (C - 1) x (1 - (1 - 1/C)^k); 0 on one chip."""
    C = np.maximum(chips, 1.0)
    with np.errstate(divide="ignore"):          # one chip: log1p(-1) = -inf, and no other chip
        return (C - 1.0) * -np.expm1(top_k * np.log1p(-1.0 / C))


def dense_copies(c: InferenceCases) -> np.ndarray:
    """Copies of the weights outside the routed experts a replica holds and reads: one, split over its
    chips; one per chip where attention runs data-parallel (each chip runs every token of its own
    sequences through the attention and dense layers, the experts staying split)."""
    return np.where(c.flag("attention_dp"), c.chips.astype(float), 1.0)


def expert_rows(tokens, experts, top_k, block, prefill: bool):
    """Expert-matmul rows an engine computes per routed row (tokens x top_k) for `tokens` tokens in
    one pass. 1 for engines that route (block 0). NxD's static-shape MoE (block > 0): a pass that
    touches fewer rows than there are experts loads only the chosen experts; otherwise decode runs
    every expert on every token; a prompt under one block does the same, and a longer one is
    grouped per expert into blocks of `block` rows, as many blocks as the worst routing needs
    (neuronx-distributed ExpertMLPs.forward)."""
    routed = tokens * top_k
    with np.errstate(invalid="ignore", divide="ignore"):
        every = experts / top_k
        if prefill:
            # NxD sizes the pass for the worst routing: E - 1 experts with one row each, the rest on one
            # expert, ceil((T·k - (E - 1)) / block) + E - 1 blocks (at most T·k), every one computed
            n_blocks = np.minimum(np.ceil((routed - (experts - 1.0)) / np.maximum(block, 1.0)) + experts - 1.0, routed)
            blocks = n_blocks * block / np.maximum(routed, 1.0)
            every = np.where(routed < block, every, blocks)
        rows = np.where(routed < experts, 1.0, every)
    return np.where((block > 0) & (experts > 0), np.maximum(rows, 1.0), 1.0)


def estimate(M: ModelArrays, H: ChipArrays, c: InferenceCases) -> InferenceResult:
    """Evaluate every case on the batch grid (or its fixed batch) and pick the best batch."""
    n = len(c.model)
    m, h = c.model, c.chip
    C = c.chips.astype(float)
    I, O = c.input_tokens.astype(float), c.output_tokens.astype(float)

    usable = H.hbm_usable[h] * C * H.hbm_bytes[h]
    free = usable - M.expert_bytes[m] - (M.weight_bytes[m] - M.expert_bytes[m]) * dense_copies(c)
    copies = kv_copies(M, H, c)
    kv_seq_held = M.kv_bytes_per_token[m] * copies * c.admitted_context()
    kv_seq_max = M.kv_bytes_per_token[m] * copies * (I + O)
    # only where weights leave room and a sequence has a KV cache (a 0-byte cache is not divided by)
    room = (free > 0) & (kv_seq_held > 0)
    b_mem = np.floor(np.divide(free, kv_seq_held, out=np.zeros_like(free), where=room))
    b_mem = np.where((free > 0) & (kv_seq_held <= 0), np.inf, b_mem)
    padded = c.padded()
    # a static engine serves at most its compiled batch, and must hold every slot's KV to run at all
    engine_cap = np.where(padded > 0, padded, H.max_batch[h])
    b_cap = np.where(padded > b_mem, 0.0, np.minimum(b_mem, engine_cap))

    per_chip_usable = H.hbm_usable[h] * H.hbm_bytes[h]
    need = np.ceil((M.weight_bytes[m] + kv_seq_max) / per_chip_usable)
    min_chips = np.where(np.isfinite(need), 2.0 ** np.ceil(np.log2(np.maximum(need, 1))), np.nan)

    fixed = c.batch > 0
    grid = np.where(fixed[:, None], c.batch[:, None].astype(float), BATCH_GRID[None, :])
    grid = np.where(padded[:, None] > 0, np.minimum(grid, padded[:, None]), grid)   # the compiled batch is on it
    # only cases whose weights and one sequence fit need timing on the grid
    live = np.flatnonzero(kv_seq_max < free)
    step = np.full(grid.shape, np.inf)
    ttft, per_token, t_c, t_m, t_x = step.copy(), step.copy(), step.copy(), step.copy(), step.copy()
    if live.size:
        parts = _timing(M, H, c.sub(live), grid[live])
        for full, part in zip((step, ttft, per_token, t_c, t_m, t_x), parts):
            full[live] = part
    ok_mem = grid <= b_cap[:, None]
    ok_tpot = step <= c.tpot_slo_s[:, None]
    ok_ttft = ttft <= c.ttft_slo_s[:, None]
    good = ok_mem & ok_tpot & ok_ttft & np.isfinite(step)
    thr = np.where(good, grid / per_token, -1.0)
    k = np.argmax(thr, axis=1)
    rows = np.arange(n)
    any_good = good[rows, k]

    unknown = ~np.isfinite(H.peak_flops[h] * H.hbm_bytes[h] * H.hbm_bw[h]) | ((C > 1) & ~np.isfinite(H.allreduce_bw[h]))
    too_big = C > H.scaleup[h]
    fail = ~any_good
    reason = np.where(fail, KV_NO_FIT, OK)
    reason = np.where(fail & ~ok_ttft[:, 0], TTFT_UNREACHABLE, reason)
    reason = np.where(fail & ~ok_tpot[:, 0], TPOT_UNREACHABLE, reason)
    # a given batch the memory or the engine cannot hold fails for that, whatever its latency would be
    reason = np.where(fixed & (c.batch > engine_cap), BATCH_OVER_ENGINE, reason)
    reason = np.where(fixed & (c.batch > b_mem), BATCH_NO_FIT, reason)
    reason = np.where(padded > b_mem, COMPILED_NO_FIT, reason)
    reason = np.where(kv_seq_max > np.maximum(free, 0), KV_NO_FIT, reason)
    reason = np.where(free <= 0, NO_FIT, reason)
    reason = np.where(too_big, TOO_MANY_CHIPS, reason)
    reason = np.where(unknown, UNKNOWN_FIGURE, reason)
    feasible = reason == OK

    B = np.where(feasible, grid[rows, k], 0.0)
    s = step[rows, k]
    tps = np.where(feasible, B / per_token[rows, k], 0.0)

    limit = _limits(grid, k, rows, b_cap, engine_cap, ok_tpot, ok_ttft, fixed,
                    t_c[rows, k], t_m[rows, k], t_x[rows, k])
    limit = np.where(feasible, limit, L_NONE)
    return InferenceResult(
        feasible=feasible, reason=reason, limit=limit, batch=B,
        ttft_s=np.where(feasible, ttft[rows, k], np.nan), tpot_s=np.where(feasible, s, np.nan),
        tokens_per_s=tps, tokens_per_s_per_chip=tps / C, min_chips=min_chips, max_batch_memory=b_mem,
        max_batch_engine=engine_cap)


def _limits(grid, k, rows, b_cap, max_batch, ok_tpot, ok_ttft, fixed, t_c, t_m, t_x) -> np.ndarray:
    """What stops a larger batch: an SLO, KV capacity or the engine's cap; else the bound at this batch."""
    nxt = np.minimum(k + 1, grid.shape[1] - 1)
    at_end = (k + 1) >= grid.shape[1]
    B_next = grid[rows, nxt]
    capped = (B_next > b_cap) | (B_next <= grid[rows, k])     # the next batch is over the cap, or the grid stops
    bound = np.where(t_x > np.maximum(t_c, t_m), L_COLLECTIVES, np.where(t_c >= t_m, L_COMPUTE, L_BANDWIDTH))
    out = bound.copy()
    out = np.where(~at_end & capped, np.where(b_cap >= max_batch, L_MAXBATCH, L_KV), out)
    out = np.where(~at_end & ~ok_ttft[rows, nxt], L_TTFT, out)
    out = np.where(~at_end & ~ok_tpot[rows, nxt], L_TPOT, out)
    return np.where(fixed, L_FIXED, out)
