"""Held-out calibration done honestly, and the models the misses pointed at: folds that keep a
setup's measurements together, fits that never start from factors fitted to the held-out points,
hierarchical MoE dispatch across scale-up domains, the published expert parallelism, the MLPerf
harness factor, and inference memory with no KV cache to divide by."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet.perf import Context
from polyfleet.perf import fit as fitmod
from polyfleet.perf import inference as inf
from polyfleet.perf import training as tr
from polyfleet.perf.arrays import ChipArrays, ModelArrays
from polyfleet.perf.calibration import Calibration, family_of, load_calibration, predict_inference, \
    predict_training
from polyfleet.perf.fit import folds_for, group_of


@pytest.fixture(scope="module")
def cal():
    return load_calibration()


def test_a_runs_throughput_and_latency_share_a_fold(cal, ctx):
    """tpu-vllm c64 throughput and c64 TPOT are one measured run: one setup, one fold, any seed."""
    points = cal.points()
    ids = [p.id for _, p in points]
    for seed in range(4):
        fold = folds_for(points, ctx, 5, seed)
        assert fold[ids.index("tpu-vllm-v6e-70b-c64")] == fold[ids.index("tpu-vllm-v6e-70b-c64-tpot")]
        # two MLPerf rounds of one system (different publications) are one setup too
        assert fold[ids.index("mlperf41-mi300x-llama2-70b")] == fold[ids.index("mlperf51-mi300x-llama2-70b")]


def test_source_grouping_holds_out_whole_publications(cal, ctx):
    points = cal.points()
    fold = folds_for(points, ctx, 5, 0, grouping="source")
    for src in {p.source for _, p in points}:
        fams = {family_of(ctx, p.accelerator) for _, p in points if p.source == src}
        for fam in fams:
            got = {f for f, (_, p) in zip(fold, points) if p.source == src and family_of(ctx, p.accelerator) == fam}
            assert len(got) == 1, src
    with pytest.raises(ValueError):
        group_of("training", points[0][1], "bogus")


def test_one_familys_points_never_reshuffle_anothers(cal, ctx):
    """Dropping every AMD point leaves the other families' folds as they were."""
    points = cal.points()
    kept = [(k, p) for k, p in points if family_of(ctx, p.accelerator) != "amd"]
    full = dict(zip([p.id for _, p in points], folds_for(points, ctx, 5, 0)))
    part = dict(zip([p.id for _, p in kept], folds_for(kept, ctx, 5, 0)))
    assert all(full[i] == f for i, f in part.items())


def test_held_out_fits_start_from_the_prior(ctx, monkeypatch):
    """Every fold's fit starts at the middle of the bounds, never at the stored (all-point) factors."""
    starts = []

    def recording_fit(points, c, *a, from_prior=False, **kw):
        starts.append(from_prior)
        return c.efficiency

    monkeypatch.setattr(fitmod, "fit", recording_fit)
    fitmod.cross_validate(ctx, k=3, seed=0)
    assert starts == [True, True, True]


def _moe_case(ep: float, chips: float = 256.0):
    ctx = Context()
    spec = ctx.model("deepseek-v3")
    M = ModelArrays.build([(spec, "bf16", "bf16")])
    H = ChipArrays.build([(ctx.accelerator("b200"), "fp8")], ctx.efficiency)
    c = tr.TrainingCases(model=np.zeros(1, int), chip=np.zeros(1, int), chips=np.array([chips]),
                         seq_len=np.array([4096.0]), runtime_eff=np.ones(1), expert_parallel=np.array([ep]))
    return M, H, c


def test_a_published_expert_parallelism_beyond_the_experts_spreads_them_no_wider():
    """DeepSeek-V3 has 256 routed experts: a layout claiming EP 512 spreads them over 256 chips, so its
    all-to-all is EP 256's exactly; the cost does move with EP below that (EP 128 sends fewer remote
    copies), so the equality is the clamp at work, not a flat curve."""
    per_token = lambda ep: tr.seconds_per_token(*_moe_case(ep, 1024.0), np.array([1e9]), np.array([0.5]))[1][0]  # noqa: E731
    assert per_token(512.0) == per_token(256.0)
    assert per_token(128.0) < per_token(256.0)


def test_hierarchical_dispatch_by_hand():
    """DeepSeek-V3 on B200 (8-GPU NVLink domains, 1,800 GB/s; 50 GB/s scale-out), EP 32 = 4 domains,
    top-8: 8 x 31/32 copies over NVLink and 3 x (1 - (3/4)^8) over the scale-out network, each
    8 bytes x 58 MoE layers x 7,168."""
    M, H, c = _moe_case(32.0)
    _, t_a2a = tr.seconds_per_token(M, H, c, np.array([1e9]), np.array([0.5]))
    copy = 8.0 * 58 * 7168
    eff = H.a2a_eff[0]
    want = copy * 8 * 31 / 32 / (1800e9 * eff) + copy * 3 * (1 - 0.75 ** 8) / (50e9 * eff)
    assert t_a2a[0] == pytest.approx(want, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([8.0, 16.0, 32.0, 64.0, 128.0]))
def test_all_to_all_grows_with_expert_parallelism(ep):
    """Spreading experts wider (up to all 256 of them) makes the all-to-all dearer."""
    M, H, c = _moe_case(ep)
    _, t = tr.seconds_per_token(M, H, c, np.array([1e9]), np.array([0.5]))
    M2, H2, c2 = _moe_case(ep * 2)
    _, t2 = tr.seconds_per_token(M2, H2, c2, np.array([1e9]), np.array([0.5]))
    assert t2[0] > t[0] > 0


def test_published_expert_parallelism_reaches_the_prediction(cal, ctx):
    """The same point with EP 8 (one NVLink domain) predicts more throughput than with EP 32."""
    p = next(p for p in cal.training if p.id == "megatron-b200-deepseek-v3")
    narrow = p.model_copy(update={"ep": 8})
    wide, inside = predict_training([p, narrow], ctx)
    assert p.ep == 32 and inside > wide > 0


def test_mlperf_harness_factor_applies_to_its_points_only(cal, ctx):
    """Setting the harness factor to 1.5 scales an MLPerf point by about that, a public-stack point not at all."""
    mlp = next(p for p in cal.inference if p.harness == "mlperf" and p.metric == "output_tokens_per_s_per_chip")
    pub = next(p for p in cal.inference if p.harness is None and p.stack == "trtllm")
    data = ctx.efficiency.model_dump()
    data["harness"] = {"mlperf": 1.0}
    one = Context(catalog=ctx.catalog, models=ctx.models, efficiency=type(ctx.efficiency).model_validate(data))
    data["harness"] = {"mlperf": 1.5}
    more = Context(catalog=ctx.catalog, models=ctx.models, efficiency=type(ctx.efficiency).model_validate(data))
    a, b = predict_inference([mlp, pub], one), predict_inference([mlp, pub], more)
    assert b[1] == a[1]
    assert 1.2 < b[0] / a[0] <= 1.5


def test_no_kv_cache_is_not_divided_by():
    """A model whose KV cache is 0 bytes: memory holds the engine's largest batch, with no warning."""
    ctx = Context()
    spec = ctx.model("llama-3.1-8b")
    M = ModelArrays.build([(spec, "bf16", "bf16")])
    M = type(M)(**{**M.__dict__, "kv_bytes_per_token": np.zeros(1)})
    H = ChipArrays.build([(ctx.accelerator("h100"), "bf16")], ctx.efficiency)
    n = 1
    cases = inf.InferenceCases(model=np.zeros(n, int), chip=np.zeros(n, int), chips=np.ones(n),
                               input_tokens=np.full(n, 1000.0), output_tokens=np.full(n, 1000.0),
                               ttft_slo_s=np.full(n, np.inf), tpot_slo_s=np.full(n, np.inf), batch=np.zeros(n),
                               runtime_eff=np.ones(n))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = inf.estimate(M, H, cases)
    assert res.feasible[0] and np.isinf(res.max_batch_memory[0])
    assert res.batch[0] <= H.max_batch[0]


def test_every_mlperf_point_is_marked(cal: Calibration):
    for p in cal.inference:
        assert (p.harness == "mlperf") == p.id.startswith("mlperf"), p.id
