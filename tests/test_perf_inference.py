"""The inference roofline: hand-derived cases, SLO and memory invariants, infeasibility with a way out."""

from __future__ import annotations

import pytest
import roofline
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet.perf import Context, estimate_inference


@pytest.fixture(scope="module")
def ideal() -> Context:
    """Every efficiency 1, no overheads or interference, every stack at its platform's efficiency: the pure roofline."""
    return roofline.ideal()


def test_batch_one_decode_is_weight_bandwidth_bound(ideal):
    """Llama-2-7B BF16 on one H100, batch 1: each token reads all 13.477 GB of weights over
    3.35 TB/s = 4.0229 ms; the KV cache (1.5 tokens x 512 KiB) adds 0.23 us and compute is
    ~100x smaller, so TPOT = 4.023 ms. Alone in the engine, the request also waits for its prompt's
    pass (another read of the weights, 4.0229 ms) before its one output token: 1 / 8.046 ms =
    124.3 tokens/s."""
    e = estimate_inference("llama-2-7b", "h100", chips=1, batch=1, input_tokens=1, output_tokens=1, runtime="trtllm",
                           ctx=ideal)
    assert e.feasible and e.limit == "fixed batch"
    assert e.tpot_s == pytest.approx(4.0232e-3, rel=1e-3)
    assert e.output_tokens_per_s == pytest.approx(1 / (4.0232e-3 + 4.0229e-3), rel=1e-3)


def test_largest_batch_is_kv_capacity_bound(ideal):
    """Llama-3.1-8B FP8 on one H100, 1,000 tokens in and out, no SLO. Memory: 0.9 x 85.52 GB (the
    81,559 MiB an "80 GB" H100 holds) less 8.03 GB of weights leaves 68.94 GB. TensorRT-LLM admits a
    sequence only with room for all its 2,000 tokens, 64 KiB each = 131.1 MB, so at most 525
    sequences; the batch grid's largest point below is 499. A step reads the weights and each
    sequence's cache at its mean context (1,500 tokens, 98.3 MB): 8.03 GB + 499 x 98.3 MB = 57.08 GB
    at 3.35 TB/s = 17.04 ms, more than its compute: 499 / 17.04 ms = 29,284 tokens/s, limited by KV
    capacity. (An engine that grows the cache as it decodes holds 701 at the mean context; see
    test_perf_serving_memory.)"""
    e = estimate_inference("llama-3.1-8b", "h100", chips=1, dtype="fp8", runtime="trtllm", ctx=ideal)
    assert e.feasible and e.batch == 499 and e.limit == "KV capacity"
    assert e.tpot_s == pytest.approx(17.04e-3, rel=2e-3)
    assert e.output_tokens_per_s == pytest.approx(29_284, rel=2e-3)


def test_model_that_does_not_fit_says_what_would(ctx):
    """Llama-3.1-405B BF16 (812 GB) cannot fit one H100; the answer says how many chips would."""
    e = estimate_inference("llama-3.1-405b", "h100", chips=1, ctx=ctx)
    assert not e.feasible and "do not fit" in e.reason
    assert e.min_chips is not None and e.min_chips > 8          # more than one HGX box: no single-replica fit
    e8 = estimate_inference("llama-3.1-405b", "h100", chips=8, dtype="fp8", ctx=ctx)
    assert e8.feasible                                          # in FP8 it fits 8 GPUs


def test_unreachable_slo_is_infeasible_with_reason(ctx):
    e = estimate_inference("llama-3.1-70b", "tpu-v5e", chips=16, tpot_s=0.001, ctx=ctx)
    assert not e.feasible and "TPOT" in e.reason


def test_runtime_portability_blocks_other_platforms(ctx):
    e = estimate_inference("llama-3.1-8b", "tpu-v6e", runtimes=("trt-llm",), ctx=ctx)
    assert not e.feasible and "no runtime" in e.reason
    assert estimate_inference("llama-3.1-8b", "h100", runtimes=("trt-llm",), ctx=ctx).feasible


def test_cost_and_energy_follow_from_throughput(ctx):
    e = estimate_inference("llama-3.1-70b", "h100", chips=4, offering="aws/p5.48xlarge/us-east-1", ctx=ctx)
    per_hour = e.output_tokens_per_s * 3600
    assert e.usd_per_million_output_tokens == pytest.approx(6.88 * 4 / per_hour * 1e6)
    assert e.joules_per_output_token == pytest.approx(1275 * 4 / e.output_tokens_per_s)


@settings(max_examples=25, deadline=None)
@given(tpot_ms=st.floats(10, 200), extra_ms=st.floats(0, 200), ttft_ms=st.floats(200, 5000),
       inp=st.integers(16, 8000), out=st.integers(16, 2000),
       acc=st.sampled_from(["h100", "b200", "tpu-v6e", "trn2", "mi300x"]))
def test_slo_invariants(ctx, tpot_ms, extra_ms, ttft_ms, inp, out, acc):
    """The chosen batch meets both SLOs and fits memory; relaxing the TPOT SLO never lowers throughput."""
    tight = estimate_inference("llama-3.1-8b", acc, chips=1, input_tokens=inp, output_tokens=out,
                               tpot_s=tpot_ms / 1e3, ttft_s=ttft_ms / 1e3, ctx=ctx)
    loose = estimate_inference("llama-3.1-8b", acc, chips=1, input_tokens=inp, output_tokens=out,
                               tpot_s=(tpot_ms + extra_ms) / 1e3, ttft_s=ttft_ms / 1e3, ctx=ctx)
    if tight.feasible:
        assert tight.tpot_s <= tpot_ms / 1e3 + 1e-12
        assert tight.ttft_s <= ttft_ms / 1e3 + 1e-12
        assert loose.feasible
    assert loose.output_tokens_per_s >= tight.output_tokens_per_s - 1e-6


def test_best_size_is_at_least_as_cheap_as_any_fixed_size(ctx):
    best = estimate_inference("llama-3.1-70b", "h200", ctx=ctx)
    for c in (1, 2, 4, 8):
        fixed = estimate_inference("llama-3.1-70b", "h200", chips=c, ctx=ctx)
        assert best.output_tokens_per_s_per_chip >= fixed.output_tokens_per_s_per_chip - 1e-9


def test_long_prompt_attention_costs_what_its_efficiency_says():
    """A 20,000-token prompt to Llama-3.1-8B (FP8, one H100) is compute-bound. Its attention is
    att_coeff x I^2 / 2 FLOPs (att_coeff = 2 x 32 layers x 32 heads x 256 = 524,288 per token pair):
    1.0486e14 FLOPs. At attention efficiency 0.4 instead of 1 it takes 1.0486e14 x (1/0.4 - 1) /
    1,978.9e12 = 79.5 ms longer to the first token; the matmul part is unchanged."""
    kw = dict(chips=1, dtype="fp8", batch=1, input_tokens=20000, output_tokens=100, runtime="trtllm")
    full = estimate_inference("llama-3.1-8b", "h100", ctx=roofline.ideal(attention_efficiency=1.0), **kw)
    slow = estimate_inference("llama-3.1-8b", "h100", ctx=roofline.ideal(attention_efficiency=0.4), **kw)
    att = 2 * 32 * 32 * 256 * 20000 ** 2 / 2
    extra_prefill = att * (1 / 0.4 - 1) / 1978.9e12
    extra_step = slow.tpot_s - full.tpot_s
    assert slow.ttft_s - full.ttft_s == pytest.approx(extra_prefill + extra_step, rel=1e-6)
    assert extra_prefill == pytest.approx(0.0795, rel=2e-3)


def test_interference_adds_the_shorter_of_compute_and_memory():
    """With interference 1 a step costs compute + memory instead of the longer of the two."""
    kw = dict(chips=1, dtype="fp8", batch=64, input_tokens=4000, output_tokens=400, runtime="trtllm")
    overlap = estimate_inference("llama-3.1-8b", "h100", ctx=roofline.ideal(interference=0.0), **kw)
    serial = estimate_inference("llama-3.1-8b", "h100", ctx=roofline.ideal(interference=1.0), **kw)
    half = estimate_inference("llama-3.1-8b", "h100", ctx=roofline.ideal(interference=0.5), **kw)
    assert serial.tpot_s > overlap.tpot_s
    assert half.tpot_s == pytest.approx((serial.tpot_s + overlap.tpot_s) / 2, rel=1e-9)


def test_a_box_serves_as_several_replicas(ctx):
    """An 8-GPU H200 box serving Llama-3.1-70B in FP8: the replica size divides 8 and the box holds
    8 / size replicas; a 3-chip box can only be one 3-chip replica or three 1-chip ones."""
    e = estimate_inference("llama-3.1-70b", "h200", dtype="fp8", system_chips=8, ctx=ctx)
    assert e.feasible and 8 % e.chips == 0 and e.replicas * e.chips == 8
    best = max((estimate_inference("llama-3.1-70b", "h200", dtype="fp8", chips=c, ctx=ctx) for c in (1, 2, 4, 8)),
               key=lambda x: x.output_tokens_per_s_per_chip)
    assert e.output_tokens_per_s_per_chip == pytest.approx(best.output_tokens_per_s_per_chip)
    odd = estimate_inference("llama-3.1-8b", "h200", dtype="fp8", system_chips=3, ctx=ctx)
    assert odd.chips in (1, 3) and odd.replicas * odd.chips == 3


def test_a_lone_request_decodes_without_prefill_in_its_steps(ideal):
    """Batch 1: nothing else is in the engine, so a 2,000-token prompt runs before the first token
    and no prefill chunk rides in later steps. Llama-2-7B BF16 on one H100: its TPOT grows over a
    10-token prompt's only by reading 1,990 more tokens of KV cache (512 KiB each over 3.35 TB/s =
    0.3115 ms); its throughput also pays the prompt's pass once per request."""
    kw = dict(chips=1, batch=1, output_tokens=100, runtime="trtllm", ctx=ideal)
    short = estimate_inference("llama-2-7b", "h100", input_tokens=10, **kw)
    long = estimate_inference("llama-2-7b", "h100", input_tokens=2000, **kw)
    assert long.tpot_s - short.tpot_s == pytest.approx(1990 * 524288 / 3.35e12, rel=1e-3)
    prompt = long.ttft_s - long.tpot_s
    assert long.output_tokens_per_s == pytest.approx(100 / (prompt + 100 * long.tpot_s), rel=1e-9)


def test_a_given_batch_the_memory_cannot_hold_fails_for_memory_whatever_its_latency(ideal):
    """Llama-3.1-8B BF16 on one H100, 8,000 tokens in and 2,000 out, served by TensorRT-LLM (which
    reserves a sequence's whole 10,000 tokens of KV, 131,072 B each = 1.311 GB): 0.9 x 85.52 GB less
    16.06 GB of weights leaves 60.91 GB, room for 46 sequences. A given batch of 47 fails for memory,
    and says how many fit, even under a TTFT limit it could not meet either; 46 runs. A batch of 2,049
    short requests fits in memory but not in the engine (at most 2,048)."""
    def run(batch, **kw):
        return estimate_inference("llama-3.1-8b", "h100", chips=1, batch=batch, runtime="trtllm", ctx=ideal, **kw)

    over = run(47, input_tokens=8000, output_tokens=2000, ttft_s=1e-3)
    assert not over.feasible and over.reason.startswith("the given batch's KV caches do not fit") \
        and "(room for 46)" in over.reason
    assert run(46, input_tokens=8000, output_tokens=2000).feasible
    engine = run(2049, input_tokens=10, output_tokens=10)
    assert not engine.feasible and "larger than the serving engine runs (at most 2,048)" in engine.reason
    assert run(2048, input_tokens=10, output_tokens=10).feasible


def test_the_smallest_replica_holds_the_weights_and_one_whole_sequence(ideal):
    """Llama-3.1-70B BF16 (141.1 GB) on H100s holding 0.9 x 85.52 = 76.97 GB each: with 1,000 + 1,000
    tokens (0.66 GB of KV) it needs ceil(141.8 / 76.97) = 2 chips; with 120,000 + 8,000 (41.9 GB) it
    needs ceil(183.0 / 76.97) = 3, so the smallest power-of-two replica is 4."""
    def smallest(i, o):
        e = estimate_inference("llama-3.1-70b", "h100", chips=8, input_tokens=i, output_tokens=o, ctx=ideal)
        return e.min_chips

    assert smallest(1000, 1000) == 2
    assert smallest(120_000, 8000) == 4


def test_an_unknown_kv_dtype_names_the_option_and_the_dtypes_allowed(ctx):
    from polyfleet.errors import UserError
    with pytest.raises(UserError) as err:
        estimate_inference("llama-3.1-8b", "h100", chips=1, kv_dtype="fp6", ctx=ctx)
    assert err.value.field == "--kv-dtype" and "unknown kv dtype 'fp6'" in str(err.value)
    assert "fp8" in err.value.allowed and "bf16" in err.value.allowed
