"""KV heads copied over tensor-parallel ranks, and attention run data-parallel (TensorRT-LLM DEP).
By hand on an ideal roofline (every efficiency 1, no overheads), reading the roofline's own step
parts, so each difference is the term under test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from roofline import ideal, one_case, step_parts

from polyfleet.perf import inference as inf
from polyfleet.perf.arrays import ChipArrays


def _case(model, chip, dtype, chips, batch, dp, input_tokens=1):
    """One case on the ideal roofline: 1-token prompts (unless given), 2,000 tokens out."""
    return dict(model=model, chip=chip, dtype=dtype, chips=chips, batch=batch, attention_dp=dp,
                input_tokens=input_tokens, output_tokens=2000)


def _memory(ctx, model, chip, dtype, chips, batch, dp=False) -> float:
    return step_parts(ctx, **_case(model, chip, dtype, chips, batch, dp))["memory"]


def test_more_ranks_than_kv_heads_read_each_head_that_many_times():
    """Mistral-7B (8 KV heads, 32 layers x 2 x 8 x 128 x 2 B = 131,072 B of KV per token) on 12 inf2:
    24 NeuronCore ranks, so each KV head's cache is held 24 / 8 = 3 times. Batch 8 at the mean
    context 1 + 2,000 / 2 = 1,001 reads 8 x 131,072 x 1,001 x 3 B of cache a step, besides the
    weights, over 12 x 0.88 TB/s."""
    ctx = ideal()
    spec = ctx.model("mistral-7b")
    assert spec.kv_heads == 8 and spec.kv_bytes_per_token("bf16") == 131_072
    hbm = 12 * ctx.accelerator("inf2").hbm_tbps.value * 1e12
    expected = (spec.params_total * 2 + 8 * 131_072 * 1_001 * 3) / hbm
    assert _memory(ctx, "mistral-7b", "inf2", "bf16", 12, 8) == pytest.approx(expected, rel=1e-9)
    # four inf2 hold 8 ranks, one per KV head: no copy
    hbm4 = 4 * ctx.accelerator("inf2").hbm_tbps.value * 1e12
    assert _memory(ctx, "mistral-7b", "inf2", "bf16", 4, 8) == pytest.approx(
        (spec.params_total * 2 + 8 * 131_072 * 1_001) / hbm4, rel=1e-9)


def test_data_parallel_attention_holds_the_cache_once_and_the_dense_weights_on_every_chip():
    """Qwen3-235B-A22B (4 KV heads) on 8 H100 in FP8, batch 64. Tensor-parallel, each KV head is held
    8 / 4 = 2 times and the weights outside the routed experts (235.1B - 227.1B = 8.0B params, 1 B
    each in FP8) once; data-parallel (DEP8), the cache once and those weights on all 8 chips. The
    experts' reads are the same, so TP - DP = (64 x KV/token x 1,001 x (2 - 1) - 8.0 GB x 7) / (8 x
    3.35 TB/s): the copied cache costs less than the copied weights at this batch."""
    ctx = ideal()
    spec = ctx.model("qwen3-235b-a22b")
    kv = spec.kv_bytes_per_token("fp8")
    dense = spec.params_total - spec.expert_params
    assert spec.kv_heads == 4 and dense == pytest.approx(7.997e9, rel=1e-3)
    hbm = 8 * ctx.accelerator("h100").hbm_tbps.value * 1e12
    tp = _memory(ctx, "qwen3-235b-a22b", "h100", "fp8", 8, 64, dp=False)
    dp = _memory(ctx, "qwen3-235b-a22b", "h100", "fp8", 8, 64, dp=True)
    assert tp - dp == pytest.approx((64 * kv * 1_001 - dense * 7) / hbm, rel=1e-9)


def test_a_tensor_parallel_replica_reads_the_mla_latent_on_every_rank():
    """DeepSeek-V3's latent cache (61 layers x (512 + 64) x 1 B in FP8 = 35,136 B per token) is one KV
    head every query head reads: on 8 H200 tensor-parallel each of the 8 ranks holds and reads it
    whole, data-parallel (DEP8) once. Batch 16 at the mean context 1,001 tokens: the KV reads differ
    by 16 x 35,136 x 1,001 x (8 - 1) B, less what DEP adds in dense weights read on every chip."""
    ctx = ideal()
    spec = ctx.model("deepseek-v3")
    kv = spec.kv_bytes_per_token("fp8")
    dense = spec.params_total - spec.expert_params
    assert spec.mla and kv == 61 * (512 + 64)
    hbm = 8 * ctx.accelerator("h200").hbm_tbps.value * 1e12
    tp = _memory(ctx, "deepseek-v3", "h200", "fp8", 8, 16, dp=False)
    dp = _memory(ctx, "deepseek-v3", "h200", "fp8", 8, 16, dp=True)
    assert tp - dp == pytest.approx((16 * kv * 1_001 * 7 - dense * 7) / hbm, rel=1e-9)


def test_data_parallel_attention_trades_weight_room_for_cache_room():
    """The memory batch of Qwen3-235B on 8 H100 (FP8, 1 + 2,000 tokens, the mean context 1,001 held):
    tensor-parallel, free = usable - weights and each sequence holds 2 copies of its cache;
    data-parallel, free = usable - experts - 8 x the rest, one copy."""
    ctx = ideal()
    spec = ctx.model("qwen3-235b-a22b")
    kv = spec.kv_bytes_per_token("fp8")
    acc = ctx.accelerator("h100")
    usable = ctx.efficiency["cuda"].inference.hbm_usable * 8 * acc.hbm_gb.value * 1e9
    dense = spec.params_total - spec.expert_params
    cases = ((False, usable - spec.params_total, 2), (True, usable - spec.expert_params - 8 * dense, 1))
    for dp, free, copies in cases:
        M, H, c = one_case(ctx, **_case("qwen3-235b-a22b", "h100", "fp8", 8, 1, dp))
        got = float(inf.estimate(M, H, c).max_batch_memory[0])
        assert got == np.floor(free / (kv * copies * 1_001)), dp


@given(chips=st.integers(1, 64), kv_heads=st.sampled_from([1, 2, 4, 8, 16, 64]),
       ranks_per_chip=st.sampled_from([1, 2, 4]), dp=st.booleans())
def test_kv_copies_are_whole_ranks_over_heads_and_never_under_one(chips, kv_heads, ranks_per_chip, dp):
    """Never fewer than one copy; one wherever attention is data-parallel or the heads cover the ranks;
    otherwise ranks / heads, growing with the chips."""
    class M:                       # the two arrays kv_copies reads
        pass
    M.kv_heads = np.array([float(kv_heads)])
    H = type("H", (), {"ranks_per_chip": np.array([float(ranks_per_chip)])})
    def copies(n):
        c = inf.InferenceCases(model=np.array([0]), chip=np.array([0]), chips=np.array([float(n)]),
                               input_tokens=np.ones(1), output_tokens=np.ones(1), ttft_slo_s=np.ones(1),
                               tpot_slo_s=np.ones(1), batch=np.ones(1), runtime_eff=np.ones(1),
                               attention_dp=np.array([dp]))
        return float(inf.kv_copies(M, H, c)[0])
    ranks = chips * ranks_per_chip
    got = copies(chips)
    assert got >= 1.0
    assert got == (1.0 if dp or ranks <= kv_heads else ranks / kv_heads)
    assert copies(chips + 1) >= got


def test_the_cli_says_how_the_cache_is_held(run_cli):
    args = ("perf", "inference", "-m", "qwen3-235b-a22b", "-a", "h100", "--chips", "8", "--dtype", "fp8",
            "--format", "json")
    code, out, err = run_cli(*args)
    assert code == 0, err
    notes = json.loads(out)["assumptions"]
    assert any("4 KV heads over 8 tensor-parallel ranks" in a and "2 times" in a for a in notes)
    code, out, err = run_cli(*args, "--attention-dp")
    assert code == 0, err
    d = json.loads(out)
    assert any("attention data-parallel over 8 chips" in a for a in d["assumptions"])
    assert not any("tensor-parallel ranks" in a for a in d["assumptions"])


def test_a_short_prompt_under_data_parallel_attention_reads_the_dense_weights_on_every_chip():
    """A 16-token prompt of Qwen3-235B on 8 H100 (FP8) is bound by reading weights, not by its FLOPs.
    Data-parallel, each chip reads the 8.0 GB outside the routed experts whole: 7 x 8.0 GB / (8 x
    3.35 TB/s) more than tensor-parallel. Its traffic changes too: tensor-parallel, 2 all-reduces of
    each token's 2 x 4,096 B per layer over 94 layers at the ring's 2 x 7/8; data-parallel, each of
    the 94 MoE layers sends a token out to and back from the 7 x (1 - (7/8)^8) = 4.595 other chips
    its 8 experts sit on, and a lone prompt's 16 tokens all leave its one chip (a batch's prompts
    would leave every chip, 1/8 of the tokens each)."""
    ctx = ideal()
    spec = ctx.model("qwen3-235b-a22b")
    dense = spec.params_total - spec.expert_params
    hbm = 8 * ctx.accelerator("h100").hbm_tbps.value * 1e12
    act = 2 * spec.d_model
    assert spec.layers == 94 and spec.moe.dense_layers == 0 and spec.moe.active == 8

    def prompt_pass(dp: bool) -> float:
        return step_parts(ctx, **_case("qwen3-235b-a22b", "h100", "fp8", 8, 1, dp, input_tokens=16))["prompt"]

    dp_pass, tp_pass, bw = prompt_pass(True), prompt_pass(False), _allreduce_bw(ctx, "h100", "fp8")
    tp_traffic = 16 * 2 * 94 * 2 * 7 / 8 * act / bw
    dp_traffic = 16 * 2 * 94 * 7 * (1 - (7 / 8) ** 8) * act / bw
    assert dp_pass - tp_pass == pytest.approx(7 * dense / hbm + dp_traffic - tp_traffic, rel=1e-9)


def test_a_lone_prompt_under_data_parallel_attention_runs_on_one_chip():
    """A 8,192-token prompt of DeepSeek-V3 (FP8) on 8 H200 is compute-bound. Tensor-parallel, all
    8 chips run it; data-parallel, its attention and the layers outside the routed experts run on
    its own chip alone and only the experts are spread: the prompt's compute is 7 x those FLOPs
    more, at the replica's 8-chip rate, than tensor-parallel (the collectives differ as above)."""
    ctx = ideal()
    spec = ctx.model("deepseek-v3")
    I = 8192
    own_flops = 2 * (spec.matmul_params_active - spec.expert_params * spec.moe.active / spec.moe.experts) * I \
        + spec.attention_flops_per_token(1.0) * I * I / 2
    rate = 8 * ctx.accelerator("h200").peak_tflops("fp8").value * 1e12
    bw = _allreduce_bw(ctx, "h200", "fp8")
    act, remote = 2 * spec.d_model, 7 * (1 - (7 / 8) ** 8)

    def prompt_pass(dp: bool) -> float:
        return step_parts(ctx, **_case("deepseek-v3", "h200", "fp8", 8, 1, dp, input_tokens=I))["prompt"]

    tp_traffic = I * 2 * 61 * 2 * 7 / 8 * act / bw
    dp_traffic = I * 2 * 58 * remote * act / bw
    assert prompt_pass(True) - prompt_pass(False) == pytest.approx(
        7 * own_flops / rate + dp_traffic - tp_traffic, rel=1e-9)


@given(chips=st.sampled_from([1, 2, 4, 8]), batch=st.integers(1, 64), input_tokens=st.sampled_from([16, 2048]))
def test_a_dense_model_data_parallel_over_chips_steps_as_its_busiest_chip_alone(chips, batch, input_tokens):
    """Attention data-parallel over C chips, a dense model is C replicas of one chip: batch B steps and
    prefills exactly as one chip serving the busiest chip's ceil(B / C) sequences (the ideal roofline
    has no per-sequence host cost and a dense model no collectives under DEP)."""
    ctx = ideal()
    case = dict(dtype="bf16", output_tokens=2000, input_tokens=input_tokens)
    dp = step_parts(ctx, "llama-3.1-8b", "h100", chips=chips, batch=batch, attention_dp=True, **case)
    one = step_parts(ctx, "llama-3.1-8b", "h100", chips=1, batch=-(-batch // chips), **case)
    for part in ("step", "ttft", "compute", "memory", "collectives"):
        assert dp[part] == pytest.approx(one[part], rel=1e-9, abs=1e-15), part


def test_the_estimate_names_copies_only_where_ranks_outnumber_the_kv_heads():
    """Llama-3.1-70B has 8 KV heads: 8 H100 (8 ranks) hold each once and say nothing; 16 trn2 (64
    NeuronCore ranks) hold each 8 times and say so; DeepSeek-V3's MLA latent cache on 8 H200 is one
    head held on all 8 ranks, and says so."""
    from polyfleet.perf import estimate_inference
    notes = lambda e: [a for a in e.assumptions if "tensor-parallel ranks" in a]  # noqa: E731
    assert not notes(estimate_inference("llama-3.1-70b", "h100", chips=8))
    many = notes(estimate_inference("llama-3.1-70b", "trn2", chips=16, runtime="nxdi"))
    assert len(many) == 1 and "8 KV heads over 64 tensor-parallel ranks" in many[0] and "8 times" in many[0]
    mla = notes(estimate_inference("deepseek-v3", "h200", chips=8, dtype="fp8"))
    assert len(mla) == 1 and "MLA latent cache" in mla[0] and "each of 8 tensor-parallel ranks" in mla[0]



def test_compare_takes_attention_dp_for_inference_only(run_cli):
    """`compare --attention-dp` ranks every chip with attention data-parallel: Qwen3-235B in FP8 on
    H100 holds one copy of its cache, so the per-chip rate differs from the tensor-parallel ranking
    on the same chip; with --training the flag is refused, naming it."""
    args = ("compare", "-m", "qwen3-235b-a22b", "--inference", "--dtype", "fp8", "--no-slo", "--format", "json")
    code, out, err = run_cli(*args)
    assert code == 0, err
    tp = {r["accelerator"]: r for r in json.loads(out)}
    code, out, err = run_cli(*args, "--attention-dp")
    assert code == 0, err
    dp = {r["accelerator"]: r for r in json.loads(out)}
    assert set(dp) == set(tp)
    assert any(dp[a]["output_tokens_per_s_per_chip"] != tp[a]["output_tokens_per_s_per_chip"] for a in dp
               if dp[a]["feasible"] and tp[a]["feasible"])
    code, _, err = run_cli("compare", "-m", "llama-3.1-8b", "--training", "--attention-dp")
    assert code == 2 and "--attention-dp" in err


def _traffic(ctx, model, chip, dtype, chips, batch, dp) -> tuple[float, float]:
    """The decode step's collective time (batch of 1-token prompts, 2,000 out) and the all-reduce bandwidth."""
    return (step_parts(ctx, **_case(model, chip, dtype, chips, batch, dp))["collectives"],
            _allreduce_bw(ctx, chip, dtype))


def _allreduce_bw(ctx, chip: str, dtype: str) -> float:
    return float(ChipArrays.build([(ctx.accelerator(chip), dtype)], ctx.efficiency).allreduce_bw[0])


def test_data_parallel_attention_trades_all_reduces_for_the_moe_all_to_all():
    """DeepSeek-V3 (61 layers, 58 of them MoE, top-8, d_model 7,168) on 4 B200, batch 256: a step
    carries 256 + 256 x 1 / 2,000 = 256.128 tokens. Tensor-parallel: 2 all-reduces per layer of
    each token's 14,336 B at the ring's 2 x 3/4. Data-parallel: per MoE layer, each token out to and
    back from the 3 x (1 - (3/4)^8) = 2.700 other chips its experts sit on, each chip sending its
    own quarter of the tokens. A dense model's data-parallel step has no collectives at all."""
    ctx = ideal()
    tokens, act = 256.128, 2 * 7168
    tp, bw = _traffic(ctx, "deepseek-v3", "b200", "fp8", 4, 256, False)
    dp, _ = _traffic(ctx, "deepseek-v3", "b200", "fp8", 4, 256, True)
    assert tp == pytest.approx(tokens * 2 * 61 * 1.5 * act / bw, rel=1e-9)
    assert dp == pytest.approx(tokens * 2 * 58 * 3 * (1 - 0.75 ** 8) * act / 4 / bw, rel=1e-9)
    # batch 5 over 4 chips: the busiest chip holds 2 sequences, and the step waits for its 2 x (1 + 1 / 2,000)
    # tokens to leave it, not for a quarter of the 5 x (1 + 1 / 2,000)
    five, _ = _traffic(ctx, "deepseek-v3", "b200", "fp8", 4, 5, True)
    assert five == pytest.approx(2 * (1 + 1 / 2000) * 2 * 58 * 3 * (1 - 0.75 ** 8) * act / bw, rel=1e-9)
    assert _traffic(ctx, "llama-3.1-70b", "h100", "bf16", 8, 64, True)[0] == 0.0
    assert _traffic(ctx, "llama-3.1-70b", "h100", "bf16", 8, 64, False)[0] > 0.0


def test_each_collective_pays_its_latency_once_per_step():
    """With a 50 us collective latency, DeepSeek-V3 on 4 B200 tensor-parallel pays two all-reduces in
    each of its 61 layers, 2 x 61 x 50 us a step more than at no latency; data-parallel, the two
    all-to-all passes of each of its 58 MoE layers, 2 x 58 x 50 us. One chip pays none, and a dense
    model data-parallel none either (no MoE layer, so no collective at all)."""
    slow, fast = ideal(collective_us=50.0), ideal()

    def extra(model, chips, dp):
        parts = [step_parts(c, **_case(model, "b200", "fp8", chips, 256, dp))["collectives"] for c in (slow, fast)]
        return parts[0] - parts[1]

    assert extra("deepseek-v3", 4, False) == pytest.approx(2 * 61 * 50e-6, rel=1e-9)
    assert extra("deepseek-v3", 4, True) == pytest.approx(2 * 58 * 50e-6, rel=1e-9)
    assert extra("deepseek-v3", 1, False) == 0.0
    assert extra("llama-3.1-70b", 8, True) == 0.0


@given(chips=st.integers(1, 128), top_k=st.integers(1, 16))
def test_remote_chips_lie_between_none_and_every_other_chip(chips, top_k):
    """A token's experts sit on at most min(k, C - 1) other chips, at least on none (one chip holds all);
    more experts per token never reach fewer chips."""
    got = float(inf.remote_chips(np.array([float(chips)]), np.array([float(top_k)]))[0])
    assert 0.0 <= got <= min(top_k, chips - 1) + 1e-12
    assert float(inf.remote_chips(np.array([float(chips)]), np.array([float(top_k + 1)]))[0]) >= got - 1e-12
