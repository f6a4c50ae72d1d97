"""Experts sharded over tensor-parallel cores (NxD): each core runs a slice ffn / cores wide, and a
slice narrower than the core's matmul unit takes as long as one that fills it. By hand, on an ideal
roofline (every efficiency 1, no overheads, no expert imbalance), so each difference is one term."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from roofline import context, ideal_data

from polyfleet.perf import Context, estimate_inference
from polyfleet.perf.arrays import ModelArrays
from polyfleet.perf.calibration import load_calibration

PROMPT = 1000


def _ideal(width: float) -> Context:
    data = ideal_data(expert_efficiency=1.0)
    for plat in data["platforms"].values():
        plat["training"]["expert_imbalance"] = 1.0
    data["platforms"]["neuron"]["inference"]["expert_shard_width"] = width
    return context(data)


def _ttft(width: float, chips: int = 1, accelerator: str = "trn2") -> float:
    return estimate_inference("qwen3-30b-a3b", accelerator, chips=chips, batch=1, input_tokens=PROMPT,
                              output_tokens=100, runtime="nxdi", ctx=_ideal(width)).ttft_s


def test_a_shard_half_the_units_width_doubles_the_expert_prefill():
    """Qwen3-30B-A3B on one trn2: 4 cores each hold 768 / 4 = 192 columns of every expert. A unit
    192 wide is filled; one 384 wide runs the 192-column slice in the time of 384, so the expert
    matmuls of the prompt take twice as long. The 1,000-token prompt routes 8,000 rows, for which NxD
    computes the blocks of the worst routing, ceil((8,000 - 127) / 512) + 127 = 143 blocks of 512
    rows (143 x 512 / 8,000 = 9.152 rows computed per routed row); prefill is compute-bound (about
    37 TFLOP against 61 GB of weights), so the TTFT grows by exactly those FLOPs once more:
    2 x active expert params x 9.152 x 1,000 / 667 TFLOP/s."""
    ctx = _ideal(192.0)
    spec = ctx.model("qwen3-30b-a3b")
    assert spec.moe.experts == 128 and spec.moe.active == 8 and spec.moe.ffn == 768
    expert_active = float(ModelArrays.build([(spec, "bf16", "bf16")]).expert_active_params[0])
    peak = ctx.accelerator("trn2").peak_tflops("bf16").value * 1e12
    rows = 143 * 512 / (PROMPT * 8)
    extra = 2.0 * expert_active * rows * PROMPT / peak
    assert _ttft(384.0) - _ttft(192.0) == pytest.approx(extra, rel=1e-6)


def test_more_chips_do_not_speed_an_expert_slice_already_narrower_than_the_unit():
    """At a unit 4,096 wide every slice is narrower: 8 chips hold 768 / 32 = 24 columns, 16 chips
    12. Each core then spends a full unit's time per row, so the expert matmuls of the prompt take
    X x 4,096 / (768 / 4) on any number of chips, X = 2 x active expert params x 9.152 x 1,000 /
    667 TFLOP/s; at a width of 8 (no slice narrower) they take X / chips. Prefill stays
    compute-bound on 16 chips (about 3 ms of FLOPs against 1.3 ms of weights)."""
    ctx = _ideal(8.0)
    spec = ctx.model("qwen3-30b-a3b")
    expert_active = float(ModelArrays.build([(spec, "bf16", "bf16")]).expert_active_params[0])
    peak = ctx.accelerator("trn2").peak_tflops("bf16").value * 1e12
    x = 2.0 * expert_active * (143 * 512 / (PROMPT * 8)) * PROMPT / peak
    for chips in (8, 16):
        slow = _ttft(4096.0, chips) - _ttft(8.0, chips) + x / chips
        assert slow == pytest.approx(x * 4096 / (768 / 4), rel=1e-6)
    assert _ttft(4096.0, 16) < _ttft(4096.0, 8)      # the dense layers still split


@settings(max_examples=20, deadline=None)
@given(chip=st.sampled_from([("trn2", 4, 1), ("trn2", 4, 2), ("trn2", 4, 4), ("trn1", 2, 4), ("trn1", 2, 8)]),
       share=st.floats(0.05, 1.0))
def test_a_unit_no_wider_than_the_shard_costs_nothing_and_a_wider_one_always_costs(chip, share):
    """Any width up to the slice (768 / (cores x chips) columns: a trn2 has four cores at LNC 2, a
    trn1 two; the 61 GB of weights need four trn1) leaves the unit full: the estimate is the same as
    at the narrowest width. Any width beyond it makes the prompt slower."""
    acc, cores, chips = chip
    shard = 768 / (cores * chips)
    assert _ttft(max(8.0, share * shard), chips, acc) == pytest.approx(_ttft(8.0, chips, acc), rel=1e-12)
    assert _ttft(shard * (1.0 + share), chips, acc) > _ttft(8.0, chips, acc)


def test_a_dense_model_has_no_experts_to_shard():
    """Llama-3.1-8B on two trn2: no routed experts, so the width moves nothing."""
    kw = dict(chips=2, batch=1, input_tokens=PROMPT, output_tokens=100, runtime="nxdi")
    a = estimate_inference("llama-3.1-8b", "trn2", ctx=_ideal(8.0), **kw)
    b = estimate_inference("llama-3.1-8b", "trn2", ctx=_ideal(4096.0), **kw)
    assert (a.ttft_s, a.tpot_s) == (b.ttft_s, b.tpot_s)


def test_gpus_keep_whole_experts_and_pay_the_training_width():
    """A GPU holds whole experts: its estimate does not move with the Neuron width, and its expert
    matmuls pay training's narrow-GEMM width instead, ffn / (ffn + width) of the dense rate. Qwen3-
    30B-A3B on one H100, an 8,000-token prompt (compute-bound: about 49 TFLOP of matmuls and 25 of
    attention, 75 ms, against 18 ms to read 61 GB of weights): a width equal to the 768-column expert
    halves that rate, which adds the routed expert FLOPs once more, 2 x active expert params x 8,000
    / 989 TFLOP/s."""
    kw = dict(chips=1, batch=1, input_tokens=8000, output_tokens=100, runtime="trtllm")   # the reference stack
    a = estimate_inference("qwen3-30b-a3b", "h100", ctx=_ideal(8.0), **kw).ttft_s
    b = estimate_inference("qwen3-30b-a3b", "h100", ctx=_ideal(4096.0), **kw).ttft_s
    assert a == b
    ctx = _ideal(8.0)
    data = ctx.efficiency.model_dump()
    data["platforms"]["cuda"]["training"]["expert_gemm_width"] = 768.0
    wide = context(data)
    data["platforms"]["cuda"]["training"]["expert_gemm_width"] = 0.0
    bare = context(data)
    spec = ctx.model("qwen3-30b-a3b")
    expert_active = float(ModelArrays.build([(spec, "bf16", "bf16")]).expert_active_params[0])
    extra = 2.0 * expert_active * 8000 / (ctx.accelerator("h100").peak_tflops("bf16").value * 1e12)
    slow = estimate_inference("qwen3-30b-a3b", "h100", ctx=wide, **kw).ttft_s
    fast = estimate_inference("qwen3-30b-a3b", "h100", ctx=bare, **kw).ttft_s
    assert slow - fast == pytest.approx(extra, rel=1e-6)
    assert Context().accelerator("h100").cores_per_chip == 1
    assert Context().accelerator("trn2").ranks_per_chip == 4     # eight physical cores in four logical at LNC 2
    assert Context().accelerator("trn1").ranks_per_chip == 2


@pytest.mark.parametrize("chip, total", [("a100-80gb", 81_920 * 2**20), ("h100", 81_559 * 2**20),
                                         ("h200", 143_771 * 2**20), ("b200", 183_359 * 2**20),
                                         ("gb200", 189_471 * 2**20), ("mi300x", 205_822_885_888),
                                         ("mi355x", 309_220_868_096)])
def test_gpu_memory_is_what_the_driver_reports_not_the_label(chip, total):
    """The catalog's figure is in 1e9 bytes: an "80 GB" H100 holds 81,559 MiB (85.5e9 bytes), 7% more
    than 80e9, which is KV capacity a serving estimate would otherwise lose; AMD's "192 GB" is
    192 GiB. Every GPU sold with an HBM label holds at least the label in 1e9 bytes."""
    fig = Context().accelerator(chip).figure("hbm_gb")
    assert fig.value * 1e9 == pytest.approx(total, rel=1e-3)
    assert "drivers print" in fig.source


def test_one_request_at_a_time_on_a_compiled_engine_is_recorded_as_such():
    """A synchronous run on an engine compiled for N slots is batch 1 with compiled_batch N (its step
    computes N slots but carries no other request's prompt); recording batch N instead would time it
    as N live requests."""
    checked = 0
    for p in load_calibration().inference:
        compiled = re.search(r"compiled for batch (\d+)", p.note)
        if compiled:
            assert p.compiled_batch == int(compiled.group(1)), p.id
            checked += 1
        if "one request at a time" in p.note or "synchronous" in p.note:
            assert p.batch == 1, p.id
    assert checked >= 10
