"""Software stacks as an input: which stack a workload runs on each chip, what it costs, and the
memory recipe that decides a training run's minimum chips."""

from __future__ import annotations

import pytest

from polyfleet.errors import UserError
from polyfleet.perf import estimate_inference, estimate_training
from polyfleet.perf.portability import choose_stack


def test_default_stack_per_platform_is_assumed_and_said(ctx):
    cat = ctx.catalog
    expect = {("h100", "inference"): "vllm", ("mi300x", "inference"): "vllm", ("tpu-v6e", "inference"): "vllm",
              ("trn2", "inference"): "nxdi", ("h100", "training"): "megatron", ("tpu-v5p", "training"): "maxtext",
              ("trn2", "training"): "nxdt", ("mi300x", "training"): "megatron"}
    for (acc, use), stack in expect.items():
        c = choose_stack(cat, cat.accelerator(acc), use, eff=ctx.efficiency)
        assert c.stack == stack and c.default and c.efficiency > 0, (acc, use)
    e = estimate_inference("llama-3.1-8b", "h100", ctx=ctx)
    assert e.runtime == "vllm" and e.runtime_default
    assert "vllm assumed on cuda: its most common serving stack (choose another with --runtime)" in e.assumptions
    t = estimate_training("llama-3.1-8b", "tpu-v5p", chips=64, ctx=ctx)
    assert "maxtext assumed on tpu: its most common training stack (choose another with --runtime)" in t.assumptions
    chosen = estimate_inference("llama-3.1-8b", "h100", runtime="sglang", ctx=ctx)
    assert chosen.runtime == "sglang" and not chosen.runtime_default
    assert not any("assumed on cuda" in a for a in chosen.assumptions)


def test_pinned_stack_runs_only_where_it_runs(ctx):
    e = estimate_inference("llama-3.1-8b", "h100", runtime="jetstream", ctx=ctx)
    assert not e.feasible and "jetstream does not run inference on cuda" in e.reason
    ok = estimate_inference("llama-3.1-8b", "h100", runtime="trt-llm", ctx=ctx)      # an alias
    assert ok.feasible and ok.runtime == "trtllm" and not ok.runtime_default


def test_unknown_stack_is_a_user_error_naming_the_stacks(ctx):
    with pytest.raises(UserError, match="vllm"):
        estimate_inference("llama-3.1-8b", "h100", runtime="vlm", ctx=ctx)


def test_framework_names_select_the_stacks_that_run_them(ctx):
    cat = ctx.catalog
    tpu = choose_stack(cat, cat.accelerator("tpu-v5p"), "training", runtimes=("jax",), eff=ctx.efficiency)
    assert tpu.stack == "maxtext" and tpu.default
    gpu = choose_stack(cat, cat.accelerator("h100"), "inference", runtimes=("jax",), eff=ctx.efficiency)
    assert gpu.stack is None and "no runtime among [jax]" in gpu.reason
    neuron = choose_stack(cat, cat.accelerator("trn2"), "inference", runtimes=("neuron",), eff=ctx.efficiency)
    assert neuron.stack == "nxdi"


def test_a_faster_stack_gives_proportionally_more_throughput_where_compute_bound(ctx):
    """Training throughput is proportional to the stack's factor: torchtitan's fitted factor on cuda
    against Megatron's 1.0 (the reference) gives that ratio of tokens/s at the same size."""
    meg = estimate_training("llama-3.1-8b", "h100", 64, runtime="megatron", ctx=ctx)
    tt = estimate_training("llama-3.1-8b", "h100", 64, runtime="torchtitan", ctx=ctx)
    factor = ctx.efficiency.stack_factor("cuda", "torchtitan", "training")
    assert factor is not None and 0.3 <= factor <= 1.2
    assert tt.tokens_per_s_per_chip == pytest.approx(meg.tokens_per_s_per_chip * factor, rel=1e-9)


def test_memory_recipe_decides_the_minimum_chips(ctx):
    """Llama-3.1-70B (70.55e9 parameters) on TPU v6e (32 GB, 90% usable = 28.8 GB per chip), tensor
    parallel over 8. MaxText keeps bf16 weights, gradients and Adam (8 bytes/parameter = 564.4 GB) and
    offloads layer inputs, leaving one layer's working set (8,192 x 8,192 x 34 / 8 = 0.285 GB): 564.4 /
    28.515 = 19.8 chips -> 24 (whole groups of 8). A 16-byte recipe with full recomputation keeps
    80 layer inputs too (8,192 x 8,192 x (2 x 80 + 34) / 8 = 1.627 GB): 1,128.8 / 27.17 = 41.5 -> 48.
    The published MaxText run on 32 chips is feasible; the 16-byte recipe is not."""
    spec = ctx.models.get("llama-3.1-70b")
    usable = 0.9 * 32e9
    act_offload = 8192 * 8192 * 34 / 8
    act_remat = 8192 * 8192 * (2 * 80 + 34) / 8
    import math
    want_maxtext = math.ceil(spec.params_total * 8 / (usable - act_offload) / 8) * 8
    want_16 = math.ceil(spec.params_total * 16 / (usable - act_remat) / 8) * 8
    assert (want_maxtext, want_16) == (24, 48)
    mt = estimate_training("llama-3.1-70b", "tpu-v6e", 32, runtime="maxtext", ctx=ctx)
    assert mt.feasible and mt.min_chips == want_maxtext
    tp = estimate_training("llama-3.1-70b", "tpu-v6e", 32, runtime="torchprime", ctx=ctx)
    assert not tp.feasible and tp.min_chips == want_16 and "needs at least 48 chips" in tp.reason


def test_estimates_carry_a_band_around_the_estimate(ctx):
    e = estimate_training("llama-3.1-70b", "tpu-v5p", 512, ctx=ctx)
    assert e.tokens_per_s_per_chip_low <= e.tokens_per_s_per_chip <= e.tokens_per_s_per_chip_high
    assert e.days_low <= e.days <= e.days_high and "maxtext" in e.band
    i = estimate_inference("llama-3.1-70b", "h200", dtype="fp8", ctx=ctx)
    assert i.output_tokens_per_s_per_chip_low < i.output_tokens_per_s_per_chip < i.output_tokens_per_s_per_chip_high
    assert i.usd_per_million_output_tokens_low < i.usd_per_million_output_tokens < i.usd_per_million_output_tokens_high


def _scenario_with(tmp_path, line: str):
    from pathlib import Path

    from polyfleet.scenario import load_scenario
    text = (Path(__file__).resolve().parents[1] / "examples" / "second-vendor.yaml").read_text()
    listed = "      runtimes: [vllm, jax, neuron, trt-llm]\n"
    text = text.replace(listed, f"{listed}{line}")
    f = tmp_path / "s.yaml"
    f.write_text(text)
    return load_scenario(f), text


def test_scenario_runtime_reaches_the_rate_table(tmp_path):
    scn, _ = _scenario_with(tmp_path, "      runtime: trtllm\n")
    table = scn.rate_table()
    gpu = [j for j, f in enumerate(table.family) if f == "gpu" and table.feasible[0, j]]
    assert gpu and all(table.stack[0, j] == "trtllm" for j in gpu)
    assert not any(table.feasible[0, j] for j, f in enumerate(table.family) if f != "gpu")


def test_scenario_unknown_runtime_names_file_line_and_stacks(tmp_path):
    with pytest.raises(UserError) as exc:
        _scenario_with(tmp_path, "      runtime: trtlm\n")
    msg = str(exc.value)
    assert "s.yaml:" in msg and "trtllm" in msg and "inference stack" in msg


def test_scenario_attention_dp_reaches_the_rate_table(tmp_path):
    """`attention_dp: true` on a service reaches its rate-table cells: Llama-3.3-70B (8 KV heads) on a
    replica of more than one chip then holds each weight outside the experts on every chip, so the
    cells of multi-chip replicas move, and a bad value names the file, field and what it takes."""
    base, _ = _scenario_with(tmp_path, "")
    dp, _ = _scenario_with(tmp_path, "      attention_dp: true\n")
    assert dp.workloads.services[0].service().attention_dp and not base.workloads.services[0].service().attention_dp
    t0, t1 = base.rate_table(), dp.rate_table()
    multi = [j for j in range(len(t0.offerings)) if t0.feasible[0, j] and t0.chips_per_unit[0, j] > 1]
    assert multi and any(t1.rate[0, j] != pytest.approx(t0.rate[0, j], rel=1e-6) for j in multi)
    with pytest.raises(UserError) as exc:
        _scenario_with(tmp_path, "      attention_dp: sometimes\n")
    assert "s.yaml:" in str(exc.value) and "attention_dp" in str(exc.value)


def test_scenario_attention_dp_on_named_platforms_moves_only_their_cells(tmp_path):
    """`attention_dp: [cuda]` serves the service data-parallel on NVIDIA replicas and tensor-parallel
    elsewhere: every multi-chip CUDA cell is the `true` table's, every other cell the default's; a
    platform the catalog does not have is refused, naming the field and the platforms it takes."""
    from polyfleet.catalog import load_catalog
    base, _ = _scenario_with(tmp_path, "")
    every, _ = _scenario_with(tmp_path, "      attention_dp: true\n")
    cuda, _ = _scenario_with(tmp_path, "      attention_dp: [cuda]\n")
    t0, t1, tc = base.rate_table(), every.rate_table(), cuda.rate_table()
    cat = load_catalog()
    plat = [cat.accelerator(a).platform for a in t0.accelerator]
    assert "cuda" in plat and any(p != "cuda" for p in plat)
    moved = 0
    for j, p in enumerate(plat):
        want = t1 if p == "cuda" else t0
        assert tc.rate[0, j] == pytest.approx(want.rate[0, j], rel=1e-12, nan_ok=True)
        moved += p == "cuda" and t0.feasible[0, j] and tc.rate[0, j] != pytest.approx(t0.rate[0, j], rel=1e-6)
    assert moved
    with pytest.raises(UserError) as exc:
        _scenario_with(tmp_path, "      attention_dp: [gpu]\n")
    msg = str(exc.value)
    assert "s.yaml:" in msg and "attention_dp" in msg and "cuda" in msg and "neuron" in msg


@pytest.mark.parametrize("automodel, titan, want", [(1.1, 0.5, "nemo-automodel"), (0.5, 1.1, "torchtitan")])
def test_among_allowed_stacks_without_the_default_the_most_efficient_runs(ctx, automodel, titan, want):
    """A training run allowed NeMo AutoModel or torchtitan on H100 (Megatron, the default, not among them)
    runs on whichever has the higher fitted factor, in either order of the factors."""
    from polyfleet.perf import Context
    from polyfleet.perf.efficiency import Efficiency
    data = ctx.efficiency.model_dump()
    data["stacks"]["cuda"]["nemo-automodel"] = {"training": automodel}
    data["stacks"]["cuda"]["torchtitan"] = {"training": titan}
    eff = Efficiency.model_validate(data)
    c = choose_stack(Context().catalog, ctx.accelerator("h100"), "training", ("nemo-automodel", "torchtitan"),
                     eff=eff)
    assert c.stack == want and c.efficiency == max(automodel, titan) and not c.default
