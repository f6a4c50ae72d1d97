"""Routed-expert matmuls left to the graph compiler (Optimum Neuron: no expert kernels) reach
`compiled_expert_efficiency` of the dense matmul rate instead of `expert_efficiency`. By hand on an
ideal roofline (every efficiency 1, no overheads, no imbalance or narrow shards), so each difference
between two estimates is that one term."""

from __future__ import annotations

import pytest
from roofline import context, ideal_data

from polyfleet.catalog import load_catalog
from polyfleet.perf import Context, estimate_inference
from polyfleet.perf.arrays import ModelArrays
from polyfleet.perf.portability import STACK_TRAITS, stack_factor, stack_traits

PROMPT = 2000


def _ideal(compiled: float) -> Context:
    data = ideal_data(expert_efficiency=1.0, expert_shard_width=0.0, compiled_expert_efficiency=compiled)
    data["platforms"]["neuron"]["training"].update(expert_imbalance=1.0, expert_gemm_width=0.0)
    return context(data)


def _ttft(compiled: float, runtime: str, model: str = "qwen3-30b-a3b") -> float:
    e = estimate_inference(model, "trn2", chips=1, batch=1, input_tokens=PROMPT, output_tokens=100,
                           runtime=runtime, ctx=_ideal(compiled))
    assert e.feasible
    return e.ttft_s


def test_the_catalog_says_which_stacks_build_expert_matmuls_in_the_compiler():
    """Optimum Neuron's MoE model code drops NxD Inference's expert kernels; NxD Inference keeps them."""
    cat = load_catalog()
    traits = {s: dict(zip(STACK_TRAITS, stack_traits(cat, s))) for s in ("optimum-neuron", "nxdi", "vllm", "tnx")}
    assert traits["optimum-neuron"]["compiled_experts"]
    assert not any(traits[s]["compiled_experts"] for s in ("nxdi", "vllm", "tnx"))
    assert "AGENTS.md" in cat.runtime("optimum-neuron").note
    assert stack_traits(cat, None) == (False, False, False)


def test_compiled_expert_matmuls_cost_their_flops_at_the_compiled_rate():
    """Qwen3-30B-A3B (128 experts, top-8) on one trn2, a 2,000-token prompt: 16,000 routed rows, for
    which NxD computes ceil((16,000 - 127) / 512) + 127 = 159 blocks of 512 rows, 81,408 rows (5.088
    per routed row). At a compiled efficiency of 0.25 every expert FLOP takes 4x as long as at 1.0;
    prefill is compute-bound either way, so the optimum-neuron TTFT grows by exactly
    3 x 2 x active expert params x 5.088 x 2,000 / (667 TFLOP/s x the stack's factor 0.8)."""
    ctx = _ideal(1.0)
    spec = ctx.model("qwen3-30b-a3b")
    expert_active = float(ModelArrays.build([(spec, "bf16", "bf16")]).expert_active_params[0])
    peak = ctx.accelerator("trn2").peak_tflops("bf16").value * 1e12
    factor, _ = stack_factor(ctx.catalog, ctx.efficiency, "optimum-neuron", "neuron", "inference")
    assert factor == pytest.approx(0.8)    # the catalog's prior (the ideal data fits no stack)
    flops = 2.0 * expert_active * (159 * 512 / (PROMPT * 8)) * PROMPT
    grown = _ttft(0.25, "optimum-neuron") - _ttft(1.0, "optimum-neuron")
    assert grown == pytest.approx(3.0 * flops / (peak * factor), rel=1e-6)


def test_a_stack_with_expert_kernels_and_a_dense_model_ignore_the_compiled_rate():
    """NxD Inference keeps its expert kernels: its TTFT does not move with the compiled efficiency;
    nor does a dense model's on Optimum Neuron (it has no routed experts)."""
    assert _ttft(0.25, "nxdi") == pytest.approx(_ttft(1.0, "nxdi"), rel=1e-12)
    assert _ttft(0.25, "optimum-neuron", "llama-3.1-8b") == pytest.approx(_ttft(1.0, "optimum-neuron", "llama-3.1-8b"),
                                                                         rel=1e-12)


def test_zero_compiled_efficiency_falls_back_to_the_expert_efficiency():
    """0 means no such stack was fitted: the compiled stack then runs at expert_efficiency."""
    assert _ttft(0.0, "optimum-neuron") == pytest.approx(_ttft(1.0, "optimum-neuron"), rel=1e-12)


def test_the_estimate_says_the_stack_has_no_expert_kernels():
    e = estimate_inference("qwen3-30b-a3b", "trn2", chips=1, runtime="optimum-neuron")
    assert any("no expert kernels" in a for a in e.assumptions)
    dense = estimate_inference("llama-3.1-8b", "trn2", chips=1, runtime="optimum-neuron")
    assert not any("expert kernels" in a for a in dense.assumptions)
