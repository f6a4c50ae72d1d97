"""The calibration: sourced points on every family and stack, a fit that never scores a point it
saw, error summaries and bands derived by hand, and held-out error that stays where it was measured."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from polyfleet.perf import Context
from polyfleet.perf import fit as fitmod
from polyfleet.perf.calibration import FAMILIES, check_all, family_of, load_calibration, predict_inference
from polyfleet.perf.cv_report import band_rows, by_family
from polyfleet.perf.fit import HeldOut, cross_validate, folds_for, log_errors, summarise
from polyfleet.perf.uncertainty import BandRow, Bands, band_for


@pytest.fixture(scope="module")
def cal():
    return load_calibration()


@pytest.fixture(scope="module")
def heldout(ctx):
    return cross_validate(ctx, k=5, seed=0)


def test_at_least_eighty_sourced_points_on_every_family(cal, ctx):
    points = cal.points()
    assert len(points) >= 80
    fams = {family_of(ctx, p.accelerator) for _, p in points}
    assert fams == set(FAMILIES)
    for _, p in points:
        assert p.source in cal.sources and cal.source_ref(p.source)
        assert cal.sources[p.source]["status"] in ("official", "third-party")


def test_a_source_held_apart_is_scored_but_never_fitted(cal, ctx, heldout):
    """DeepSeek-V3/R1 served on the software of its first weeks (dstack's MI300X and H200 runs,
    SGLang 0.4.1 on H200): 60 + 36 + 1 points held apart with the reason; a community port of
    DeepSeek-V3 to NxD Inference (contrib), which its publisher says may lack performance work: 10;
    two trn1 prompt timings that contradict the same software's inf2 rows: 2 more; two unloaded TTFTs
    above their own run's loaded TTFT: 2 more. Shown in the
    in-sample check and never in a fold."""
    apart = cal.points(apart=True)
    by_source = {s: sum(p.source == s for _, p in apart) for s in {p.source for _, p in apart}}
    assert by_source == {"dstack-dsr1": 60, "dstack-dsr1-h200": 36, "sglang-dsv3-h200": 1,
                         "nxdi-contrib-dsv3": 10, "neuron-trn1-tnx-long-prompt": 2, "optimum-neuron-dp-cold-ttft": 2}
    own_table = {"neuron-trn1-tnx-long-prompt", "optimum-neuron-dp-cold-ttft"}
    assert all("software" in cal.held_apart(p) for _, p in apart if p.source not in own_table)
    assert all("inf2" in cal.held_apart(p) for _, p in apart if p.source == "neuron-trn1-tnx-long-prompt")
    assert not {p.id for _, p in apart} & {p.id for _, p in cal.points()}
    assert not {p.id for _, p in apart} & {h.point.id for h in heldout}
    shown = {c.point.id: c for c in check_all(ctx)}
    assert all(shown[p.id].held_apart for _, p in apart)
    assert not any(c.held_apart for c in shown.values() if c.point.source not in by_source)


def test_every_point_names_a_stack_that_runs_there(cal, ctx):
    for kind, p in cal.points() + cal.points(apart=True):
        rt = ctx.catalog.runtime(p.stack)
        acc = ctx.catalog.accelerator(p.accelerator)
        assert rt.kind == "stack" and kind in rt.uses and acc.platform in rt.platforms, p.id


def test_a_server_point_carries_its_logs_means_under_the_limits(cal):
    """MLPerf Server and Interactive points give their logs' mean TTFT and TPOT, below the P99s the note
    quotes, which a valid run keeps within the scenario's limits. A limit in the mean's place would let
    the model run a larger batch than the run did (the Interactive H100 point read +42% that way)."""
    pts = [p for p in cal.inference if p.tpot_slo_s or p.ttft_slo_s]
    assert len(pts) == 35
    pattern = re.compile(r"log means TTFT (\d+) ms, TPOT ([\d.]+) ms \(p99 (\d+) / ([\d.]+) ms under the "
                         r"(\d+) / (\d+) ms limits\)")
    for p in pts:
        m = pattern.search(p.note)
        assert m, p.id
        ttft, tpot, p99_ttft, p99_tpot, lim_ttft, lim_tpot = map(float, m.groups())
        assert p.ttft_slo_s == pytest.approx(ttft / 1e3, rel=0.01)
        assert p.tpot_slo_s == pytest.approx(tpot / 1e3, rel=0.01)
        assert ttft < p99_ttft <= lim_ttft and tpot < p99_tpot <= lim_tpot, p.id


def test_a_guidellm_throughput_row_runs_the_batch_it_decoded(cal):
    """guidellm's 'throughput' rows hold no fixed concurrency: the batch modelled is the row's mean
    number decoding per replica, requests/s x (mean latency - mean TTFT) (Little's law on the decode
    phase; a request queued or in its prompt is in flight but not in the decode batch), under the
    compiled batch. The check that it is the decode batch: that batch over the row's output rate is the
    published ITL. Little's law on the whole latency gives 27.7 for the inf2 DP3 row, whose 1,226
    tokens/s over 3 replicas then take 68 ms a token, where the row publishes 49.5 ms."""
    pts = [p for p in cal.inference if p.source.startswith("optimum-neuron") and p.metric is None]
    assert len(pts) == 10
    pattern = re.compile(r"decoding ([\d.]+)(?: per replica)? on average \(Little's law on the decode phase: "
                         r"([\d.]+) requests/s x \(([\d.]+) s mean latency - ([\d.]+) s mean TTFT\)"
                         r"(?: / (\d+) replicas)?\), the batch modelled: it over the row's output rate"
                         r"(?: per replica)? is ([\d.]+) ms a token, the published ITL ([\d.]+) ms")
    for p in pts:
        m = pattern.search(p.note)
        assert m, p.id
        mean, rps, latency, ttft = map(float, m.groups()[:4])
        replicas = p.chips // (p.replica_chips or p.chips)
        assert int(m.group(5) or 1) == replicas, p.id
        assert mean == pytest.approx(rps * (latency - ttft) / replicas, abs=0.06), p.id
        assert p.batch == max(1, round(mean)) and p.compiled_batch and p.batch <= p.compiled_batch, p.id
        per_token_ms = rps * (latency - ttft) / p.published * 1000
        assert per_token_ms == pytest.approx(float(m.group(6)), rel=0.003), p.id
        assert per_token_ms == pytest.approx(float(m.group(7)), rel=0.05), p.id


def test_an_unloaded_ttft_above_the_loaded_one_is_held_apart(cal):
    """Queueing only adds to the time to first token, so a synchronous (one request at a time) TTFT above
    the same run's loaded TTFT carries a one-off cost. The two such runs are held apart; the DP4
    deployment's two repeat runs, 242 ms unloaded, stay in the fit."""
    cold = {p.id: p for _, p in cal.points(apart=True) if p.source == "optimum-neuron-dp-cold-ttft"}
    assert set(cold) == {"optneuron-trn1-llama31-8b-dp4-run1-sync-ttft", "optneuron-inf2-llama31-8b-dp3-sync-ttft"}
    reason = cal.held_apart(next(iter(cold.values())))
    loaded = {"optneuron-inf2-llama31-8b-dp3-sync-ttft": 350, "optneuron-trn1-llama31-8b-dp4-run1-sync-ttft": 271}
    for pid, loaded_ms in loaded.items():
        unloaded_ms = round(cold[pid].published * 1000)
        assert f"{unloaded_ms} ms against {loaded_ms} ms" in reason and unloaded_ms > loaded_ms
    warm = [p for _, p in cal.points() if p.id.startswith("optneuron-trn1-llama31-8b-dp4-run") and p.metric == "ttft_s"]
    assert len(warm) == 2 and all(p.published < 0.273 for p in warm)


def test_the_new_misses_are_covered(cal, ctx):
    """Points of each kind the issue names: vLLM on TPU and AMD, 20k-token prompts, MoE training on
    TPU, Trainium training, torchtitan on NVIDIA."""
    pts = [p for _, p in cal.points()]
    assert any(p.stack == "vllm" and family_of(ctx, p.accelerator) == "tpu" for p in pts)
    assert any(p.stack == "vllm" and family_of(ctx, p.accelerator) == "amd" for p in pts)
    assert sum((p.input_tokens or 0) >= 20000 for p in pts) >= 5
    assert any(p.model == "deepseek-v3" and p.accelerator in ("tpu-v5p", "tpu-v7") for p in cal.training)
    assert sum(family_of(ctx, p.accelerator) == "trainium" for p in cal.training) >= 3
    assert sum(p.stack == "torchtitan" for p in cal.training) >= 5


def test_in_sample_check_is_finite_and_mostly_within_tolerance(ctx):
    checks = check_all(ctx)
    assert all(math.isfinite(c.predicted) and c.predicted > 0 for c in checks)
    assert np.mean([c.within for c in checks if not c.held_apart]) >= 0.75    # held-apart points are not fitted


def test_folds_deal_each_family_evenly(cal, ctx):
    """Folds keep every measurement of one setup together, and each family's folds differ by at
    most its largest setup."""
    points = cal.points()
    fold = folds_for(points, ctx, 5, 0)
    groups = [fitmod.group_of(k, p) for k, p in points]
    assert all(len({f for f, g2 in zip(fold, groups) if g2 == g}) == 1 for g in set(groups))
    for fam in FAMILIES:
        mask = [family_of(ctx, p.accelerator) == fam for _, p in points]
        counts = np.bincount(fold[mask], minlength=5)
        largest = max(groups.count(groups[i]) for i in np.flatnonzero(mask))
        assert counts.max() - counts.min() <= largest
    assert (folds_for(points, ctx, 5, 0) == fold).all()
    assert not (folds_for(points, ctx, 5, 1) == fold).all()


def test_a_point_is_never_in_the_fit_that_scores_it(ctx, monkeypatch):
    seen: list[set[str]] = []
    real_fit = fitmod.fit

    def recording_fit(points, c, *a, **kw):
        seen.append({p.id for _, p in points})
        return c.efficiency                 # no fitting needed to check the bookkeeping

    monkeypatch.setattr(fitmod, "fit", recording_fit)
    held = cross_validate(ctx, k=4, seed=3)
    assert real_fit is not recording_fit and len(seen) == 4
    for h in held:
        assert h.point.id not in seen[h.fold]
        assert all(h.point.id in s for g, s in enumerate(seen) if g != h.fold)


def test_summary_by_hand():
    """Errors +10%, -20%, +50% and infeasible: |errors| 0.1, 0.2, 0.5, 1 -> median 0.35; 2 of 4 within 25%."""
    s = summarise("g", [math.log(1.1), math.log(0.8), math.log(1.5), float("nan")])
    assert s.n == 4 and s.median_abs_error == pytest.approx(0.35)
    assert s.within_25 == pytest.approx(0.5)
    assert not s.meets_goal()
    assert summarise("g", [math.log(1.05)] * 9 + [math.log(1.3)]).meets_goal()
    # the goal's two edges: every point 13% off is within 25% but its median is not under 12%; 11% passes;
    # 85% within 25% passes and 84% does not (17 of 20, and 21 of 25 points within)
    assert not summarise("g", [math.log(1.13)] * 10).meets_goal()
    assert summarise("g", [math.log(1.11)] * 10).meets_goal()
    assert summarise("g", [math.log(1.01)] * 17 + [math.log(1.4)] * 3).meets_goal()
    assert not summarise("g", [math.log(1.01)] * 21 + [math.log(1.4)] * 4).meets_goal()


def test_a_band_falls_back_past_groups_too_small_to_the_family_then_all():
    """A stack group of 3 points is below MIN_POINTS (5): the family's 9-point inference row decides. A
    family with no row of the kind falls back to its all-kinds row before the all-families row."""
    bands = Bands(source="t", rows=(BandRow(family="tpu", stack="maxtext", kind="inference", n=3, p10=-0.9, p90=0.9),
                                    BandRow(family="tpu", stack="all", kind="inference", n=9, p10=-0.2, p90=0.1),
                                    BandRow(family="amd", stack="all", kind="all", n=8, p10=-0.4, p90=0.3),
                                    BandRow(family="all", stack="all", kind="training", n=50, p10=-1.0, p90=1.0)))
    b = band_for("tpu", "maxtext", "inference", bands)
    assert (b.low, b.high, b.n) == (pytest.approx(math.exp(-0.1)), pytest.approx(math.exp(0.2)), 9)
    amd = band_for("amd", "vllm", "training", bands)
    assert (amd.low, amd.high, amd.n) == (pytest.approx(math.exp(-0.3)), pytest.approx(math.exp(0.4)), 8)


def test_a_band_whose_errors_lie_on_one_side_still_holds_the_estimate():
    """Held-out predictions all 10-30% low (P10 -0.3, P90 -0.1): the truth's band [X e^0.1, X e^0.3] is
    widened to hold X itself, [X, X e^0.3]; all high, [X e^-0.4, X]."""
    low_side = Bands(source="t", rows=(BandRow(family="tpu", stack="all", kind="all", n=9, p10=-0.3, p90=-0.1),))
    b = band_for("tpu", None, "training", low_side)
    assert b.low == 1.0 and b.high == pytest.approx(math.exp(0.3))
    high_side = Bands(source="t", rows=(BandRow(family="tpu", stack="all", kind="all", n=9, p10=0.2, p90=0.4),))
    b = band_for("tpu", None, "training", high_side)
    assert b.low == pytest.approx(math.exp(-0.4)) and b.high == 1.0


def test_a_latency_point_counts_inverted():
    """A TPOT published 20% longer than predicted is a throughput over-estimate of 20% (log error +log 1.2),
    as is a throughput published 1/1.2 of the prediction: both sides read as throughput."""
    ctx = Context()
    points = load_calibration().points()
    tpot = next(p for k, p in points if k == "inference" and p.metric == "tpot_s")
    tput = next(p for k, p in points if k == "inference" and p.metric is None)
    pred_tpot, pred_tput = predict_inference([tpot, tput], ctx)
    shifted = [("inference", tpot.model_copy(update={"published": pred_tpot * 1.2})),
               ("inference", tput.model_copy(update={"published": pred_tput / 1.2}))]
    assert log_errors(shifted, ctx) == pytest.approx([math.log(1.2)] * 2, rel=1e-9)


def test_band_from_held_out_percentiles():
    """P10 -0.2, P90 +0.3 of log(predicted/published): truth lies in [X / e^0.3, X / e^-0.2]."""
    bands = Bands(source="t", rows=(BandRow(family="tpu", stack="maxtext", kind="training", n=6, p10=-0.2, p90=0.3),
                                    BandRow(family="tpu", stack="all", kind="training", n=9, p10=-0.5, p90=0.5),
                                    BandRow(family="all", stack="all", kind="all", n=50, p10=-1.0, p90=1.0)))
    b = band_for("tpu", "maxtext", "training", bands)
    assert b.low == pytest.approx(math.exp(-0.3)) and b.high == pytest.approx(math.exp(0.2)) and b.n == 6
    assert b.apply(1000.0) == pytest.approx((1000 * math.exp(-0.3), 1000 * math.exp(0.2)))
    few = band_for("tpu", "jetstream", "training", bands)         # no group of its own: the family's
    assert few.low == pytest.approx(math.exp(-0.5)) and "tpu" in few.basis
    other = band_for("amd", "vllm", "inference", bands)            # nothing for amd: all points
    assert other.low == pytest.approx(math.exp(-1.0)) and other.n == 50
    assert b.basis == "tpu/maxtext training held-out error, 6 points"       # the basis says which group
    assert few.basis == "tpu training held-out error, 9 points"
    assert other.basis == "all points held-out error, 50 points"


def test_band_rows_group_held_out_errors(cal):
    p = cal.inference[0]
    held = [HeldOut(point=p, kind="inference", family="nvidia", fold=0, log_error=e)
            for e in (-0.1, 0.0, 0.1, 0.2, 0.3)]
    rows = {(r.family, r.stack, r.kind): r for r in band_rows(held)}
    row = rows[("nvidia", p.stack, "inference")]
    assert row.n == 5 and row.p10 == pytest.approx(-0.06) and row.p90 == pytest.approx(0.26)
    assert rows[("all", "all", "all")].n == 5


def test_a_calibration_point_is_predicted_by_the_estimate_users_get(cal, ctx):
    """The vectorised calibration pass and `estimate_inference` are one model: DeepSeek-R1 on 8 H200
    with TensorRT-LLM at 1,024 in / 8,192 out (KV-bound, its admission reserving each sequence's
    whole context), one request on optimum-neuron's batch-32 engine, Transformers NeuronX's unfused
    decode attention at 8 x 8,192 tokens, optimum-neuron's compiler-built expert matmuls in a
    Qwen3-235B prompt on 16 trn2, Qwen3-235B's attention data-parallel over 8 H100 (DEP8), and int8
    weights multiplied in bf16 (Transformers NeuronX on inf2, JetStream-PyTorch on v5e) predict the same
    figure."""
    from polyfleet.perf import estimate_inference
    from polyfleet.perf.calibration import predict_inference
    pts = {p.id: p for _, p in cal.points()}
    for pid, metric in (("trt12-h200-1024-8192", "output_tokens_per_s_per_chip"),
                        ("optneuron-trn1-llama31-8b-dp4-run1-sync-tpot", "tpot_s"),
                        ("tnx-inf2-mistral-7b-b8-8k", "output_tokens_per_s"),
                        ("optneuron-trn2-qwen3-235b-sync-ttft", "ttft_s"),
                        ("trt11-h100-qwen3-235b-1024-8192", "output_tokens_per_s_per_chip"),
                        ("tnx-inf2-llama3-8b-b8", "output_tokens_per_s"),
                        ("jetstream-v5e-llama2-7b-int8-b96", "output_tokens_per_s")):
        p = pts[pid]
        e = estimate_inference(p.model, p.accelerator, chips=p.replica_chips or p.chips, dtype=p.dtype,
                               input_tokens=p.input_tokens, output_tokens=p.output_tokens, batch=p.batch,
                               compiled_batch=p.compiled_batch, attention_dp=p.attention_dp, runtime=p.stack, ctx=ctx)
        assert predict_inference([p], ctx)[0] == pytest.approx(getattr(e, metric), rel=1e-9), pid
    assert estimate_inference("deepseek-v3", "h200", chips=8, dtype="fp8", input_tokens=1024, output_tokens=8192,
                              runtime="trtllm", ctx=ctx).limit == "KV capacity"


def test_held_out_error_stays_where_it_was_measured(heldout):
    """Regression guard on the figures in the closing note (5 folds grouped by setup, seed 0, every
    fold fitted from the prior, 443 points), with a margin: TPU 10.5% / 87%, NVIDIA 8.9% / 89%,
    AMD 7.6% / 97%, Trainium 14.8% / 81%, all 9.2% / 89%."""
    fams = {s.group: s for s in by_family(heldout)}
    for fam, median, within in (("tpu", 0.12, 0.80), ("nvidia", 0.10, 0.84), ("amd", 0.12, 0.90),
                                ("trainium", 0.16, 0.75), ("all", 0.11, 0.83)):
        assert fams[fam].median_abs_error < median, fam
        assert fams[fam].within_25 > within, fam


def test_built_in_bands_cover_every_family():
    for fam in FAMILIES:
        b = band_for(fam, None, "inference")
        assert b.n >= 5 and b.low <= 1 <= b.high and b.low < b.high


def test_a_point_whose_source_is_not_listed_is_fitted_not_held_apart(cal):
    """A calibration of one's own may cite a source it does not describe: such a point has no reason to
    be held apart, so it is fitted and judged like any other."""
    from polyfleet.perf.calibration import Calibration
    p = cal.inference[0].model_copy(update={"source": "my-own-benchmark"})
    mine = Calibration(sources={}, inference=(p,), training=())
    assert mine.held_apart(p) == "" and mine.source_ref("my-own-benchmark") == "my-own-benchmark"
    assert mine.points() == [("inference", p)] and mine.points(apart=True) == []
