"""The training model: hand-derived throughput, memory minimum, run cost and energy."""

from __future__ import annotations

import pytest

from polyfleet.perf import Context, default_efficiency, estimate_training
from polyfleet.perf.efficiency import Efficiency


@pytest.fixture(scope="module")
def flat() -> Context:
    """MFU 0.5 on every platform and chip with no intensity, scale-out or memory-pressure effects."""
    data = default_efficiency().model_dump()
    data["intensity_scale"] = 1e15
    data["chips"] = {}
    for plat in data["platforms"].values():
        plat["training"].update(mfu={"bf16": 0.5, "fp8": 0.5}, scaleout_exponent=0.0, memory_pressure=0.0,
                                attention_efficiency=1.0)
    return Context(efficiency=Efficiency.model_validate(data))


def with_attention(ctx: Context, share: float) -> Context:
    data = ctx.efficiency.model_dump()
    for plat in data["platforms"].values():
        plat["training"]["attention_efficiency"] = share
    return Context(catalog=ctx.catalog, models=ctx.models, efficiency=Efficiency.model_validate(data))


def test_tokens_per_second_hand_derived(flat):
    """Llama-3.1-8B at seq 8,192 costs 51,471,998,976 FLOPs per token (see test_models);
    an H100 at 989.4 TFLOP/s x 0.5 MFU trains 989.4e12 x 0.5 / 51.472e9 = 9,611.05 tokens/s."""
    e = estimate_training("llama-3.1-8b", "h100", 8, seq_len=8192, ctx=flat)
    assert e.feasible
    assert e.tokens_per_s_per_chip == pytest.approx(9611.05, rel=1e-5)


def test_a_chip_factor_scales_that_chip_alone(flat):
    """A fitted chip factor of 0.8 on H100 training: 9,611.05 x 0.8 = 7,688.84 tokens/s; the H200
    beside it keeps its platform's MFU."""
    data = flat.efficiency.model_dump()
    data["chips"] = {"h100": {"training": 0.8}}
    ctx = Context(efficiency=Efficiency.model_validate(data))
    e = estimate_training("llama-3.1-8b", "h100", 8, seq_len=8192, ctx=ctx)
    assert e.tokens_per_s_per_chip == pytest.approx(9611.05 * 0.8, rel=1e-5)
    other = estimate_training("llama-3.1-8b", "h200", 8, seq_len=8192, ctx=ctx)
    assert other.tokens_per_s_per_chip == pytest.approx(
        estimate_training("llama-3.1-8b", "h200", 8, seq_len=8192, ctx=flat).tokens_per_s_per_chip, rel=1e-9)


def test_fp8_training_keeps_attention_in_bf16_at_its_share_of_mfu(flat):
    """Llama-3.1-8B at seq 8,192: 45,029,834,752 matmul FLOPs per token (6 x 7.505e9) run at the FP8
    peak x 0.5; attention's 1.5 x 524,288 x 8,192 = 6,442,450,944 run at the BF16 peak (989.4 TFLOP/s)
    x 0.5 x the attention share 0.4: FP8 buys nothing for attention, and a lower share slows it."""
    fp8_peak = flat.accelerator("h100").peak_tflops("fp8").value * 1e12
    att = 1.5 * 524288 * 8192
    matmul = 51_471_998_976 - att
    t = matmul / (fp8_peak * 0.5) + att / (989.4e12 * 0.5 * 0.4)
    e = estimate_training("llama-3.1-8b", "h100", 8, seq_len=8192, dtype="fp8", ctx=with_attention(flat, 0.4))
    assert e.tokens_per_s_per_chip == pytest.approx(1.0 / t, rel=1e-6)
    # at share 1 and BF16, every FLOP runs at the same rate (the hand case above)
    assert estimate_training("llama-3.1-8b", "h100", 8, seq_len=8192, ctx=with_attention(flat, 0.4)) \
        .tokens_per_s_per_chip < 9611.05


def test_run_time_cost_energy(flat):
    e = estimate_training("llama-3.1-8b", "h100", 64, tokens=1e12, offering="aws/p5.48xlarge/us-east-1", ctx=flat)
    hours = 1e12 / (e.tokens_per_s_per_chip * 64) / 3600
    assert e.days == pytest.approx(hours / 24)
    assert e.usd == pytest.approx(6.88 * 64 * hours)
    assert e.megawatt_hours == pytest.approx(1275 * 64 * hours / 1e6, rel=1e-12)   # W x chips x h / 1e6


def test_minimum_chips_for_model_state(ctx):
    """405B parameters x 14 bytes of state = 5.7 TB: far more than 8 H100s hold."""
    e = estimate_training("llama-3.1-405b", "h100", 8, ctx=ctx)
    assert not e.feasible and "needs at least" in e.reason
    assert estimate_training("llama-3.1-405b", "h100", e.min_chips, ctx=ctx).feasible
    assert not estimate_training("llama-3.1-405b", "h100", e.min_chips - 8, ctx=ctx).feasible


def test_mfu_falls_beyond_a_slice_on_tpu(ctx):
    small = estimate_training("llama-3.1-70b", "tpu-v5e", 256, ctx=ctx)
    large = estimate_training("llama-3.1-70b", "tpu-v5e", 8192, ctx=ctx)
    assert large.mfu < small.mfu


def test_inferentia_is_not_for_training(ctx):
    e = estimate_training("llama-3.1-8b", "inf2", 64, ctx=ctx)
    assert not e.feasible and "not used for training" in e.reason


def _pressed(ctx: Context, pressure: float) -> Context:
    data = ctx.efficiency.model_dump()
    for plat in data["platforms"].values():
        plat["training"]["memory_pressure"] = pressure
    return Context(catalog=ctx.catalog, models=ctx.models, efficiency=Efficiency.model_validate(data))


@pytest.mark.parametrize("runtime, act_layers", [("torchtitan", 2), ("megatron", 4)])
def test_memory_pressure_reads_the_state_and_the_activations_a_chip_holds(flat, runtime, act_layers):
    """Llama-3.1-70B (70,553,706,496 params, 80 layers, d_model 8,192) on 24 H100 at seq 8,192: 16 bytes of
    state per parameter over 24 chips is 47.036 GB a chip; activations are 8,192 x 8,192 x (2 x 80 + 34) / 8
    bytes with full recomputation (torchtitan) and (4 x 80 + 34) with selective (Megatron), over 8-way
    tensor parallelism. Against 0.9 x 85.52 GB that fills 0.6323 or 0.6497 of a chip, and a memory
    pressure of 1 takes MFU down by fill - 0.5."""
    state = 70_553_706_496 * 16 / 24
    act = 8192 * 8192 * (act_layers * 80 + 34) / 8
    fill = (state + act) / (0.9 * 85.52e9)
    free = estimate_training("llama-3.1-70b", "h100", 24, seq_len=8192, runtime=runtime, ctx=flat)
    pressed = estimate_training("llama-3.1-70b", "h100", 24, seq_len=8192, runtime=runtime,
                                ctx=_pressed(flat, 1.0))
    assert free.feasible and pressed.feasible and 0.6 < fill < 0.7
    assert pressed.tokens_per_s_per_chip / free.tokens_per_s_per_chip == pytest.approx(1 - (fill - 0.5), rel=1e-6)
