"""Serving mixture-of-experts models: which expert rows an engine computes (routed, or NxD's
static-shape all-experts and blockwise passes), by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from roofline import context, ideal_data, step_parts

from polyfleet.perf import Context, estimate_inference
from polyfleet.perf.inference import expert_rows

DSV3 = dict(experts=256.0, top_k=8.0)


def rows(tokens, prefill, block=512.0, **moe):
    moe = moe or DSV3
    return float(expert_rows(np.array(tokens, float), np.array(moe["experts"]), np.array(moe["top_k"]),
                             np.array(block), prefill=prefill))


def test_routing_engines_compute_only_the_routed_rows():
    assert rows(4096, True, block=0.0) == 1.0 and rows(64, False, block=0.0) == 1.0


def test_nxd_decode_loads_only_the_chosen_experts_until_every_expert_is_touched():
    """DeepSeek-V3 (256 experts, top-8): batch 16 routes 128 rows < 256 experts, so only the chosen
    experts load; batch 32 routes 256 >= 256 and NxD runs all 256 experts on all 32 tokens: 8,192
    rows against 256 routed, 32x."""
    assert rows(16, False) == 1.0
    assert rows(32, False) == pytest.approx(32.0)


def test_nxd_prefill_all_experts_under_one_block_then_worst_case_blocks():
    """A 40-token prompt routes 320 rows: above the 256 experts, under the 512-row block, so every
    expert runs every token (256 / 8 = 32x). From one block on, NxD computes the blocks the worst
    routing would need, ceil((T·k - 255) / 512) + 255 (neuronx-distributed ExpertMLPsV2
    .forward_blockwise): a 256-token prompt routes 2,048 rows, ceil(1,793 / 512) = 4 blocks + 255 =
    259 blocks of 512, 132,608 rows, 64.75x; a 65,536-token prompt routes 524,288 rows,
    ceil(524,033 / 512) = 1,024 + 255 = 1,279 blocks, 654,848 rows, 1.249x (not 1x: the static
    shape cannot know the routing is even). At exactly one block (64 tokens, 512 rows): 1 + 255 =
    256 blocks, 256x. A 20-token prompt (160 rows) loads only the chosen experts."""
    assert rows(20, True) == 1.0
    assert rows(63, True) == pytest.approx(32.0)
    assert rows(64, True) == pytest.approx(256.0)
    assert rows(40, True) == pytest.approx(32.0)
    assert rows(256, True) == pytest.approx(132_608 / 2_048)
    assert rows(65536, True) == pytest.approx(654_848 / 524_288)


def test_nxd_blocks_never_exceed_one_row_per_routed_row_of_blocks():
    """The worst-case count is capped at T·k blocks: Qwen3-30B-A3B's 128 experts at top-8, a 70-token
    prompt routes 560 rows (over one 512 block): ceil(433 / 512) + 127 = 128 blocks, under 560, so
    128 x 512 / 560 rows per routed row. With 8 experts at top-2 and a 4,096-row block, a 2,100-token
    prompt routes 4,200 rows: ceil(4,193 / 4,096) + 7 = 9 blocks, 9 x 4,096 / 4,200."""
    q = dict(experts=128.0, top_k=8.0)
    assert rows(70, True, **q) == pytest.approx(128 * 512 / 560)
    m = dict(experts=8.0, top_k=2.0)
    assert rows(2100, True, block=4096.0, **m) == pytest.approx(9 * 4096 / 4200)


@given(tokens=st.integers(1, 200_000), experts=st.sampled_from([8, 64, 128, 256]), top_k=st.sampled_from([1, 2, 4, 8]),
       block=st.sampled_from([0, 128, 512]), prefill=st.booleans())
def test_rows_never_fall_below_the_routed_ones_nor_exceed_every_expert_or_worst_case_blocks(tokens, experts, top_k,
                                                                                             block, prefill):
    """An engine never skips a routed row; it never computes more than every expert on every token,
    or than the blocks of the worst routing (a partial block per expert beyond the routed rows')
    when that is more."""
    if top_k > experts:
        return
    r = rows(tokens, prefill, block=float(block), experts=float(experts), top_k=float(top_k))
    routed = tokens * top_k
    assert r >= 1.0
    assert r * routed <= max(experts * tokens, (np.ceil(routed / max(block, 1)) + experts) * block) + 1e-6


def _ideal_neuron(moe_block: int) -> Context:
    data = ideal_data(expert_efficiency=1.0, expert_shard_width=0.0, moe_block_rows=moe_block)
    data["platforms"]["neuron"]["training"].update(expert_imbalance=1.0, expert_gemm_width=0.0)
    return context(data)


def test_padded_blocks_lengthen_a_short_prompt_by_the_expert_share():
    """Qwen3-30B-A3B on one trn2 chip, a 256-token prompt: 2,048 routed rows over 128 experts; NxD
    sizes the pass for the worst routing, ceil((2,048 - 127) / 512) + 127 = 131 blocks of 512 rows,
    67,072 rows: 32.75x the routed expert matmuls. Routed, the prompt's pass is bound by reading the
    weights (61 GB over 2.9 TB/s, about 21 ms); in blocks, by its compute:
    2 x (active params + 31.75 x expert params per token) x 256 / peak, about 47 ms."""
    kw = dict(chips=1, batch=1, input_tokens=256, output_tokens=64, runtime="nxdi")
    routed = estimate_inference("qwen3-30b-a3b", "trn2", ctx=_ideal_neuron(0), **kw)
    blocked = estimate_inference("qwen3-30b-a3b", "trn2", ctx=_ideal_neuron(512), **kw)
    ctx = Context()
    spec, acc = ctx.model("qwen3-30b-a3b"), ctx.accelerator("trn2")
    expert_per_token = spec.expert_params * spec.moe.active / spec.moe.experts
    peak = acc.peak_tflops("bf16").value * 1e12
    compute = 2 * (spec.matmul_params_active + 31.75 * expert_per_token) * 256 / peak
    weights = spec.params_total * 2 / (acc.figure("hbm_tbps").value * 1e12)
    assert compute > weights
    assert blocked.tpot_s == pytest.approx(routed.tpot_s, rel=1e-9)     # batch 1 decodes 8 rows < 128 experts
    assert blocked.ttft_s - routed.ttft_s == pytest.approx(compute - weights, rel=0.01)


def _parts(ctx: Context, model: str, chip: str, batch: int, input_tokens: int, output_tokens: int):
    """The step's compute time and the prompt pass of one case on one chip, from the roofline's own arrays."""
    p = step_parts(ctx, model, chip, batch=batch, input_tokens=input_tokens, output_tokens=output_tokens)
    return p["compute"], p["prompt"]


def test_nxd_decode_runs_every_expert_once_the_batch_touches_them_all():
    """Qwen3-30B-A3B (128 experts, top-8) on one trn2, batch 16, prompts of 1 token and 1,000 out:
    16 x 8 = 128 routed rows reach the 128 experts, so NxD computes 16 x 128 = 2,048 rows, 16x.
    The step's compute grows by 2 x expert params per row x (2,048 - 128) / peak."""
    ctx = Context()
    spec, acc = ctx.model("qwen3-30b-a3b"), ctx.accelerator("trn2")
    per_row = spec.expert_params / spec.moe.experts
    peak = acc.peak_tflops("bf16").value * 1e12
    routed, _ = _parts(_ideal_neuron(0), "qwen3-30b-a3b", "trn2", 16, 1, 1000)
    blocked, _ = _parts(_ideal_neuron(512), "qwen3-30b-a3b", "trn2", 16, 1, 1000)
    assert blocked - routed == pytest.approx(2 * per_row * (2048 - 128) / peak, rel=1e-3)


def test_prompt_chunks_in_a_shared_step_pay_the_blocks_too():
    """Batch 2 carries the other sequences' prompts in its steps (I/O = 256/64 = 4 prompt tokens per
    sequence per step); on NxD each of those rows costs 64.75x (a 256-token prompt in 259 blocks of
    512 rows for its 2,048 routed rows), so the step's compute grows by
    2 sequences x 4 x 2 x expert params per token x 63.75 / peak."""
    ctx = Context()
    spec, acc = ctx.model("deepseek-v3"), ctx.accelerator("trn2")
    per_token = spec.expert_params * spec.moe.active / spec.moe.experts
    peak = acc.peak_tflops("bf16").value * 1e12
    routed, _ = _parts(_ideal_neuron(0), "deepseek-v3", "trn2", 2, 256, 64)
    blocked, _ = _parts(_ideal_neuron(512), "deepseek-v3", "trn2", 2, 256, 64)
    assert blocked - routed == pytest.approx(2 * 4 * 2 * per_token * 63.75 / peak, rel=1e-3)


def test_expert_efficiency_divides_only_the_expert_matmuls():
    """Halving the serving expert efficiency doubles the routed-expert part of a prompt's compute
    and leaves the rest: Qwen3-30B-A3B, a 16,384-token prompt on one trn2 (compute-bound), routed."""
    ctx = Context()
    spec, acc = ctx.model("qwen3-30b-a3b"), ctx.accelerator("trn2")
    per_token = spec.expert_params * spec.moe.active / spec.moe.experts
    peak = acc.peak_tflops("bf16").value * 1e12
    data = _ideal_neuron(0).efficiency.model_dump()
    data["platforms"]["neuron"]["inference"]["expert_efficiency"] = 0.5
    _, full = _parts(_ideal_neuron(0), "qwen3-30b-a3b", "trn2", 1, 16384, 16)
    _, half = _parts(context(data), "qwen3-30b-a3b", "trn2", 1, 16384, 16)
    assert half - full == pytest.approx(2 * per_token * 16384 / peak, rel=1e-3)


def _memory(ctx: Context, model: str, chip: str, batch: int, input_tokens: int, output_tokens: int) -> float:
    """The decode step's memory time of one case on 16 chips, from the roofline's own arrays."""
    return step_parts(ctx, model, chip, chips=16, batch=batch, input_tokens=input_tokens,
                      output_tokens=output_tokens)["memory"]


def test_nxd_selective_loading_reads_each_tokens_experts_again():
    """DeepSeek-V3 on 16 trn2, batch 8 (1-token prompts, 1,000 out: 8.008 tokens a step). NxD loads
    each token's 8 experts in its own pass, so the step reads 8.008 x 8 / 256 = 0.25025 of the routed
    experts' weights, repeats included; a routing engine reads each touched expert once,
    1 - (31/32)^8.008 = 0.22450 of them. The difference is 0.02575 x expert bytes / (16 x HBM)."""
    ctx = Context()
    spec, acc = ctx.model("deepseek-v3"), ctx.accelerator("trn2")
    hbm = acc.figure("hbm_tbps").value * 1e12
    routed = _memory(_ideal_neuron(0), "deepseek-v3", "trn2", 8, 1, 1000)
    static = _memory(_ideal_neuron(512), "deepseek-v3", "trn2", 8, 1, 1000)
    assert static - routed == pytest.approx((0.25025 - 0.22450) * spec.expert_params * 2 / (16 * hbm), rel=2e-3)
