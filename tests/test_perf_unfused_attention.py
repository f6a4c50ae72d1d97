"""Decode attention run unfused (Transformers NeuronX): separate matmul and softmax operations, one
query row per sequence and head against its cache, reach `unfused_attention_efficiency` of the matmul
rate instead of the attention kernels' share. By hand on an ideal roofline (every efficiency 1, no
overheads or interference), so each difference between two estimates is that one term."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from roofline import context, ideal_data

from polyfleet.catalog import load_catalog
from polyfleet.errors import UserError
from polyfleet.perf import Context, estimate_inference
from polyfleet.perf.arrays import ModelArrays
from polyfleet.perf.portability import stack_factor

CHIPS, BATCH, PROMPT, OUTPUT = 12, 8, 1000, 1000


def _ideal(unfused: float) -> Context:
    return context(ideal_data(unfused_attention_efficiency=unfused))


def _tpot(unfused: float, runtime: str = "tnx") -> float:
    return estimate_inference("llama-2-7b", "inf2", chips=CHIPS, batch=BATCH, input_tokens=PROMPT,
                              output_tokens=OUTPUT, runtime=runtime, ctx=_ideal(unfused)).tpot_s


def test_unfused_decode_attention_costs_its_flops_at_the_unfused_rate():
    """Llama-2-7B (32 layers, 32 heads of 128: d_model 4,096) decodes one token against c cached
    tokens with 2 x 2 x 4,096 x 32 = 524,288 FLOPs per cached token (QK^T and PV). A step of 8
    sequences at the mean context 1,000 + 1,000 / 2 = 1,500 holds 8 x 524,288 x 1,500 = 6.29 GFLOP
    of decode attention. On 12 inf2 (190 TFLOP/s each) at the tnx stack's factor 0.9 and an unfused
    efficiency of 0.001 that is 6.29e9 / (12 x 190e12 x 0.9 x 0.001) = 3.07 ms, which makes the step
    compute-bound (the weights and KV read in about 2.3 ms); halving the efficiency doubles the
    term, so the step grows by exactly 3.07 ms."""
    ctx = _ideal(0.001)
    spec = ctx.model("llama-2-7b")
    assert (spec.layers, spec.d_model) == (32, 4096)
    per_cached_token = float(ModelArrays.build([(spec, "bf16", "bf16")]).att_decode_coeff[0])
    assert per_cached_token == pytest.approx(4 * 4096 * 32, rel=1e-9)
    peak = ctx.accelerator("inf2").peak_tflops("bf16").value * 1e12
    assert peak == pytest.approx(190e12)
    rt, _ = stack_factor(ctx.catalog, ctx.efficiency, "tnx", "neuron", "inference")
    assert rt == pytest.approx(0.9)
    term = BATCH * per_cached_token * (PROMPT + OUTPUT / 2) / (CHIPS * peak * rt * 0.001)
    assert term == pytest.approx(3.066e-3, rel=1e-3)
    assert _tpot(0.0005) - _tpot(0.001) == pytest.approx(term, rel=1e-6)


def test_a_stack_with_a_decode_attention_kernel_does_not_pay_the_unfused_rate():
    """NxD Inference runs a decode-attention kernel: its step is the same whatever the unfused
    efficiency, while tnx at an unfused efficiency of 0.0005 takes more than twice as long (its
    decode attention alone is about 6 ms, the whole nxdi step under 3 ms)."""
    assert _tpot(0.0005, "nxdi") == pytest.approx(_tpot(1.0, "nxdi"), rel=1e-12)
    assert _tpot(0.0005, "tnx") > 2.0 * _tpot(0.0005, "nxdi")


def test_zero_means_no_unfused_stack_was_fitted_and_the_kernels_share_applies():
    """A platform without a fitted unfused efficiency (0) runs unfused attention at its attention
    kernels' share: the same step as an efficiency equal to that share."""
    assert _tpot(0.0) == pytest.approx(_tpot(1.0), rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(low=st.floats(1e-3, 0.5), ratio=st.floats(1.01, 2.0))
def test_a_lower_unfused_efficiency_never_speeds_a_step_and_never_touches_a_kernel_stack(low, ratio):
    assert _tpot(low) >= _tpot(min(1.0, low * ratio))
    assert _tpot(low, "nxdi") == pytest.approx(_tpot(min(1.0, low * ratio), "nxdi"), rel=1e-12)


def test_the_fitted_unfused_rate_is_far_below_the_kernels_share():
    """The fit to the Transformers NeuronX tables puts unfused decode attention at a few per cent of
    the attention kernels' share on Neuron (matrix-vector work leaves a 128-row matmul array nearly
    idle); a value near the kernels' share would mean the mechanism explains nothing."""
    inf = Context().efficiency["neuron"].inference
    assert 0.0 < inf.unfused_attention_efficiency < 0.25 * inf.attention_efficiency


def test_the_catalog_marks_transformers_neuronx_unfused_and_refuses_an_unknown_form(tmp_path):
    cat = load_catalog()
    assert cat.runtime("tnx").decode_attention == "unfused"
    assert {cat.runtime(s).decode_attention for s in ("nxdi", "vllm", "trtllm", "optimum-neuron")} == {"kernel"}
    f = tmp_path / "stacks.yaml"
    f.write_text("runtimes:\n  - id: my-engine\n    name: My engine\n    uses: [inference]\n"
                 "    source: our tests\n    platforms: {neuron: 0.8}\n    decode_attention: flash\n")
    with pytest.raises(UserError) as err:
        load_catalog(f)
    msg = str(err.value)
    assert "stacks.yaml" in msg and "decode_attention" in msg and "'kernel'" in msg and "'unfused'" in msg


def test_the_rate_table_runs_the_same_unfused_model_as_the_estimate():
    """A Transformers NeuronX service in the bulk rate table gets the one-off estimate's rate at the
    same replica size: the unfused decode attention reaches the planner, not just `perf`."""
    from polyfleet.perf import build_rate_table
    from polyfleet.workloads import Bucket, InferenceService, RequestMix
    ctx = Context()
    svc = InferenceService(id="long", model="mistral-7b", runtime="tnx",
                           mix=RequestMix(buckets=(Bucket(input_tokens=4096, output_tokens=4096),)))
    t = build_rate_table([svc], ctx=ctx, offerings=["aws/inf2.48xlarge/us-east-1"])
    c = int(t.chips_per_unit[0, 0])
    e = estimate_inference("mistral-7b", "inf2", chips=c, input_tokens=4096, output_tokens=4096, runtime="tnx",
                           ctx=ctx)
    assert t.stack[0, 0] == "tnx" and t.rate[0, 0] == pytest.approx(e.output_tokens_per_s_per_chip * 3600)
    kernel = estimate_inference("mistral-7b", "inf2", chips=c, input_tokens=4096, output_tokens=4096,
                                runtime="nxdi", ctx=ctx)
    assert e.tpot_s > kernel.tpot_s
