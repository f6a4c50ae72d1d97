"""The rate table: shapes, feasibility with reasons, portability, mixes, measured overrides."""

from __future__ import annotations

import numpy as np
import pytest

from polyfleet.errors import UserError
from polyfleet.perf import build_rate_table, estimate_inference
from polyfleet.workloads import Bucket, InferenceService, RequestMix, TrainingRun


@pytest.fixture(scope="module")
def table(ctx):
    svcs = [InferenceService(id="chat", model="llama-3.1-70b", tpot_s=0.05, ttft_s=2.0),
            InferenceService(id="cuda-only", model="llama-3.1-8b", runtimes=("trt-llm",))]
    runs = [TrainingRun(id="pretrain", model="llama-3.1-70b", tokens=1e12, deadline_days=30)]
    return build_rate_table(svcs, runs, ctx=ctx)


def test_shapes_and_labels(table, ctx):
    nw, no = len(table.workloads), len(table.offerings)
    assert table.rate.shape == table.feasible.shape == table.chips_per_unit.shape == (nw, no)
    assert table.usd_per_chip_hour.shape == (no, 4)
    assert no == len(ctx.catalog.offerings)
    assert table.kinds == ("inference", "inference", "training")


def test_feasible_iff_positive_rate_and_reasons_given(table):
    assert np.array_equal(table.feasible, table.rate > 0)
    assert all(r for r in table.reason[~table.feasible])
    assert not any(r for r in table.reason[table.feasible])


def test_portability(table):
    w = table.w("cuda-only")
    for j, fam in enumerate(table.family):
        platform_cuda = table.vendor[j] == "nvidia"
        assert table.feasible[w, j] == platform_cuda


def test_training_never_on_inferentia(table):
    w = table.w("pretrain")
    for j, acc in enumerate(table.accelerator):
        if acc == "inf2":
            assert not table.feasible[w, j] and "not used for training" in table.reason[w, j]


def test_cell_matches_single_estimate(table, ctx):
    """The bulk table and the one-off estimate are the same model."""
    j = table.o("aws/p5.48xlarge/us-east-1")
    e = estimate_inference("llama-3.1-70b", "h100", tpot_s=0.05, ttft_s=2.0, ctx=ctx)
    assert table.rate[table.w("chat"), j] == pytest.approx(e.output_tokens_per_s_per_chip * 3600)
    assert table.chips_per_unit[table.w("chat"), j] == e.chips


def test_a_stack_that_reserves_kv_is_the_same_model_in_the_table(ctx):
    """A TensorRT-LLM service with long outputs is KV-bound, and its engine reserves each sequence's
    whole context: the table's cell is the one-off estimate's, not the on-demand engine's."""
    svc = InferenceService(id="long", model="llama-3.1-8b", runtime="trt-llm", mix=RequestMix(
        buckets=(Bucket(input_tokens=1000, output_tokens=8000),)))
    t = build_rate_table([svc], ctx=ctx, offerings=["aws/p5.48xlarge/us-east-1"])
    c = int(t.chips_per_unit[0, 0])
    trt = estimate_inference("llama-3.1-8b", "h100", chips=c, input_tokens=1000, output_tokens=8000,
                             runtime="trtllm", ctx=ctx)
    assert trt.limit == "KV capacity"
    assert t.rate[0, 0] == pytest.approx(trt.output_tokens_per_s_per_chip * 3600)


def test_a_data_parallel_service_is_the_same_model_in_the_table(ctx):
    """Qwen3-235B in FP8 on 8-H100 boxes, served with attention data-parallel: the table's cell is the
    one-off estimate's with --attention-dp at the same replica size, and not the tensor-parallel one
    (4 KV heads over 8 ranks hold the cache twice there)."""
    def table(dp: bool):
        svc = InferenceService(id="moe", model="qwen3-235b-a22b", dtype="fp8", attention_dp=dp,
                               mix=RequestMix(buckets=(Bucket(input_tokens=1000, output_tokens=4000),)))
        return build_rate_table([svc], ctx=ctx, offerings=["aws/p5.48xlarge/us-east-1"])
    dp, tp = table(True), table(False)
    c = int(dp.chips_per_unit[0, 0])
    one = estimate_inference("qwen3-235b-a22b", "h100", chips=c, dtype="fp8", input_tokens=1000, output_tokens=4000,
                             attention_dp=True, ctx=ctx)
    assert dp.rate[0, 0] == pytest.approx(one.output_tokens_per_s_per_chip * 3600)
    assert dp.rate[0, 0] != pytest.approx(tp.rate[0, 0], rel=1e-3)


def test_mix_rate_is_the_token_weighted_harmonic_mean(ctx):
    """A replica serving two buckets spends 1/rate chip-hours per token of each: the mix rate is
    1 / sum(share_b / rate_b) with shares of output tokens, at the replica size best for the mix."""
    a, b = Bucket(input_tokens=200, output_tokens=100, weight=3), Bucket(input_tokens=4000, output_tokens=400)
    mixed = InferenceService(id="mix", model="llama-3.1-8b", mix=RequestMix(buckets=(a, b)))
    t = build_rate_table([mixed], ctx=ctx, offerings=["aws/p5.48xlarge/us-east-1"])
    c = int(t.chips_per_unit[0, 0])
    ra = estimate_inference("llama-3.1-8b", "h100", chips=c, input_tokens=200, output_tokens=100, ctx=ctx)
    rb = estimate_inference("llama-3.1-8b", "h100", chips=c, input_tokens=4000, output_tokens=400, ctx=ctx)
    share_a = 3 * 100 / (3 * 100 + 400)
    expected = 1 / (share_a / ra.output_tokens_per_s_per_chip + (1 - share_a) / rb.output_tokens_per_s_per_chip)
    assert t.rate[0, 0] == pytest.approx(expected * 3600)


def test_measured_cell_replaces_model(table):
    t2 = table.with_measured("chat", 1.0e6, accelerator="trn2")
    cols = [j for j, a in enumerate(table.accelerator) if a == "trn2"]
    assert all(t2.rate[0, j] == 1.0e6 and t2.measured[0, j] for j in cols)
    assert t2.measured.sum() == len(cols)
    assert not table.measured.any()


def test_usd_per_million_tokens(table):
    j = table.o("aws/p5.48xlarge/us-east-1")
    w = table.w("chat")
    assert table.usd_per_million_tokens()[w, j] == pytest.approx(6.88 / table.rate[w, j] * 1e6)


def test_request_mix_from_an_azure_format_trace(tmp_path):
    """Requests bucketed by prompt (edges 256/1024/4096) and output (64/256/1024) sizes; each bucket keeps
    its mean sizes and its request count as weight."""
    f = tmp_path / "trace.csv"
    f.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                 "2023-11-16 18:15:46.6,100,10\n2023-11-16 18:15:47.0,200,30\n2023-11-16 18:15:48.0,3000,500\n")
    mix = RequestMix.from_trace(f)
    by_in = {b.input_tokens: b for b in mix.buckets}
    assert set(by_in) == {150, 3000}
    assert by_in[150].output_tokens == 20 and by_in[150].weight == 2
    assert by_in[3000].output_tokens == 500 and by_in[3000].weight == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("time,prompt\n1,2\n")
    with pytest.raises(UserError, match="bad.csv:1"):
        RequestMix.from_trace(bad)


def test_every_cell_has_a_band_and_a_stack(table):
    ok = table.feasible
    assert (table.rate_low[ok] <= table.rate[ok]).all() and (table.rate[ok] <= table.rate_high[ok]).all()
    assert (table.rate_low[ok] < table.rate_high[ok]).all()
    assert all(s for s in table.stack[ok])
    assert not (table.rate_low[~ok] > 0).any()
    row = table.rows()[0]
    assert {"tokens_per_chip_hour_low", "tokens_per_chip_hour_high", "stack"} <= set(row)


def test_pessimistic_table_is_the_low_end_and_keeps_measurements(table):
    w, o = table.workloads[0], next(j for j in range(len(table.offerings)) if table.feasible[0, j])
    measured = table.with_measured(w, 1234.0, offering=table.offerings[o])
    low = measured.pessimistic()
    assert low.rate[0, o] == 1234.0                                  # a measurement has no model error
    others = measured.feasible & ~measured.measured
    assert np.allclose(low.rate[others], measured.rate_low[others])
    assert (low.rate <= measured.rate + 1e-9).all()
    assert low.workloads == measured.workloads and low.offerings == measured.offerings


def test_pinned_stack_in_a_workload_reaches_the_table(ctx):
    svc = InferenceService(id="tpu-jetstream", model="llama-3.1-8b", runtime="jetstream")
    t = build_rate_table([svc], ctx=ctx)
    tpu = [j for j, a in enumerate(t.accelerator) if a.startswith("tpu")]
    gpu = [j for j, a in enumerate(t.accelerator) if a in ("h100", "b200")]
    assert all(t.stack[0, j] == "jetstream" and t.feasible[0, j] for j in tpu)
    assert all(not t.feasible[0, j] and "jetstream does not run" in t.reason[0, j] for j in gpu)
