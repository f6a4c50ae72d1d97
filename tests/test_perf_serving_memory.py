"""What a serving engine holds and computes per sequence: KV admission (on-demand or reserved to
completion) and MLA's absorbed decode attention, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet.perf import Context, estimate_inference
from polyfleet.perf import inference as inf
from polyfleet.perf.arrays import ChipArrays, ModelArrays


def _cases(n, I, O, reserve, batch=0.0):
    one = lambda v: np.full(n, float(v))  # noqa: E731
    return inf.InferenceCases(model=np.zeros(n, int), chip=np.zeros(n, int), chips=one(1), input_tokens=one(I),
                              output_tokens=one(O), ttft_slo_s=one(np.inf), tpot_slo_s=one(np.inf), batch=one(batch),
                              runtime_eff=one(1.0), kv_reserve=np.full(n, reserve))


def _arrays(model="llama-3.1-8b", chip="h100"):
    ctx = Context()
    spec, acc = ctx.model(model), ctx.accelerator(chip)
    return spec, acc, ModelArrays.build([(spec, "bf16", "bf16")]), ChipArrays.build([(acc, "bf16")], ctx.efficiency)


def test_reserving_admission_holds_the_whole_context_per_sequence():
    """Llama-3.1-8B on one H100, 1,000 in / 3,000 out. Weights 16.1 GB; the engine's KV budget is
    the usable HBM less them. On demand a sequence holds its mean context, 1,000 + 1,500 = 2,500
    tokens of 131,072 bytes; reserved to completion, all 4,000: the batch the memory allows falls
    to 2,500 / 4,000 of it (rounded down each way)."""
    spec, acc, M, H = _arrays()
    free = float(H.hbm_usable[0] * H.hbm_bytes[0] - M.weight_bytes[0])
    kv = spec.kv_bytes_per_token("bf16")
    assert kv == 131_072
    grows = inf.estimate(M, H, _cases(1, 1000, 3000, False))
    reserves = inf.estimate(M, H, _cases(1, 1000, 3000, True))
    assert grows.max_batch_memory[0] == math.floor(free / (kv * 2500))
    assert reserves.max_batch_memory[0] == math.floor(free / (kv * 4000))


def test_a_kv_bound_engine_that_reserves_serves_fewer_at_once():
    """With no SLO the batch is the largest the memory holds: TensorRT-LLM (reserve) runs a smaller
    batch than vLLM at 1,000 / 3,000 on one H100, and says KV capacity stops it."""
    trt = estimate_inference("llama-3.1-8b", "h100", chips=1, input_tokens=1000, output_tokens=3000, runtime="trtllm")
    vllm = estimate_inference("llama-3.1-8b", "h100", chips=1, input_tokens=1000, output_tokens=3000, runtime="vllm")
    assert trt.limit == vllm.limit == "KV capacity"
    assert trt.batch < vllm.batch
    assert trt.batch / vllm.batch == pytest.approx(2500 / 4000, rel=0.1)    # both on the batch grid
    assert any("reserved to completion" in a for a in trt.assumptions)
    assert not any("reserved" in a for a in vllm.assumptions)


def test_the_catalog_names_each_serving_stacks_admission():
    cat = Context().catalog
    assert cat.runtime("trtllm").kv_admission == "reserve"
    assert {cat.runtime(s).kv_admission for s in ("vllm", "sglang", "jetstream")} == {"on-demand"}


@settings(max_examples=40, deadline=None)
@given(I=st.integers(1, 30_000), O=st.integers(1, 30_000))
def test_reserving_never_lets_more_sequences_in_and_times_a_step_alike(I, O):
    """Admission changes what the memory holds, never what a step at a given batch costs."""
    _, _, M, H = _arrays()
    grows = inf.estimate(M, H, _cases(1, I, O, False))
    reserves = inf.estimate(M, H, _cases(1, I, O, True))
    assert reserves.max_batch_memory[0] <= grows.max_batch_memory[0]
    fixed = [inf.estimate(M, H, _cases(1, I, O, r, batch=1.0)) for r in (False, True)]
    if fixed[0].feasible[0]:
        assert fixed[1].tpot_s[0] == pytest.approx(fixed[0].tpot_s[0], rel=1e-12)


def test_mla_decodes_in_the_absorbed_form():
    """DeepSeek-V3 (61 layers, 128 heads, latent 512 + rope 64): a decoded token scores the 576-wide
    latent and sums the 512-wide latent values per head, 2 x 61 x 128 x 1,088 FLOPs per token of
    context, against the prompt pass's 2 x 61 x 128 x (192 + 128). Grouped-query attention decodes
    as its forward pass."""
    ctx = Context()
    ds, llama = ctx.model("deepseek-v3"), ctx.model("llama-3.1-70b")
    assert ds.decode_attention_flops_per_token(1.0) == 2 * 61 * 128 * 1088
    assert ds.attention_flops_per_token(1.0) == 2 * 61 * 128 * 320
    assert llama.decode_attention_flops_per_token(1000.0) == llama.attention_flops_per_token(1000.0)


def test_absorbed_attention_is_what_a_long_mla_decode_step_computes():
    """DeepSeek-V3 on 8 H200 at batch 64, 16,000 in / 2,000 out (fp8): against a step timed with the
    forward-pass attention, the absorbed form adds 64 x (1,088 - 320) x 2 x 61 x 128 FLOPs per token
    of the mean context (17,000) over the attention rate, and nothing else moves."""
    from dataclasses import replace
    ctx = Context()
    spec, acc = ctx.model("deepseek-v3"), ctx.accelerator("h200")
    M = ModelArrays.build([(spec, "fp8", "fp8")])
    H = ChipArrays.build([(acc, "fp8")], ctx.efficiency)
    c = replace(_cases(1, 16_000, 2_000, False, batch=64.0), chips=np.array([8.0]))
    B = np.array([[64.0]])
    absorbed = inf._timing(M, H, c, B)[3][0, 0]
    forward = inf._timing(replace(M, att_decode_coeff=M.att_coeff), H, c, B)[3][0, 0]
    rate = 8 * H.peak_flops[0] * H.eff_compute[0] * H.attention_eff[0]
    assert absorbed - forward == pytest.approx(64 * 2 * 61 * 128 * (1088 - 320) * 17_000 / rate, rel=1e-9)
