"""Parts of the performance model with a contract that can be stated without its numbers: provenance of
derived power, the families calibration reports on, the uncertainty band of a rate table, defaults
that must equal their stated value, and predictions that do not depend on their neighbours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from polyfleet.errors import UserError
from polyfleet.perf import Context
from polyfleet.perf.estimate import family_of
from polyfleet.perf.power import HOST_OVERHEAD, it_watts_per_chip

SMALL = Path(__file__).parent / "data" / "scenarios" / "small-fleet.yaml"


@pytest.fixture(scope="module")
def ctx() -> Context:
    return Context()


def test_power_derived_from_tdp_keeps_the_tdps_source(ctx):
    """a100-80gb has no system power: IT watts = TDP x host overhead, rounded to 0.1 W, marked assumed,
    citing the TDP's own source. h100 has a system figure: that figure is returned as it is."""
    a100 = ctx.accelerator("a100-80gb")
    tdp = a100.figure("tdp_watts")
    w = it_watts_per_chip(a100)
    assert w.value == pytest.approx(round(tdp.value * HOST_OVERHEAD.value, 1))
    assert w.source == tdp.source and w.source
    assert w.assumed and w.status in ("derived", "estimate")
    h100 = ctx.accelerator("h100")
    assert it_watts_per_chip(h100) == h100.system_watts_per_chip


@pytest.mark.parametrize("acc,family", [("tpu-v6e", "tpu"), ("trn2", "trainium"), ("h100", "nvidia"),
                                        ("mi300x", "amd")])
def test_calibration_families(ctx, acc, family):
    """Google's chips report as tpu, AWS's as trainium, the rest by their vendor."""
    assert family_of(ctx.accelerator(acc)) == family


def test_a_modelled_rate_has_a_band_around_it():
    """Each modelled (not measured) feasible cell has a held-out-error band that holds its rate (P10 at
    or below, P90 at or above; an edge sits at the estimate where every held-out error of its group fell
    on one side) and has width, and some cells' P10 is below the rate, so a pessimistic plan differs."""
    from polyfleet.scenario import load_scenario
    t = load_scenario(SMALL).rate_table()
    cells = t.feasible & ~t.measured
    assert cells.sum() > 0
    assert np.all(t.rate_low[cells] <= t.rate[cells]) and np.all(t.rate_high[cells] >= t.rate[cells])
    assert np.all(t.rate_high[cells] > t.rate_low[cells]) and np.any(t.rate_low[cells] < t.rate[cells])
    low = t.pessimistic()
    assert np.all(low.rate[cells] == t.rate_low[cells])
    assert np.array_equal(low.feasible, t.feasible & (low.rate > 0))


def test_training_state_bytes_default_is_the_stated_default(ctx):
    """TrainingCases without state_bytes behaves as with DEFAULT_STATE_BYTES per parameter given."""
    from polyfleet.perf import training as tr
    from polyfleet.perf.arrays import ChipArrays, ModelArrays
    M = ModelArrays.build([(ctx.model("llama-3.1-8b"), "bf16", "bf16")])
    H = ChipArrays.build([(ctx.accelerator("h100"), "bf16")], ctx.efficiency)
    kw = dict(model=np.zeros(2, int), chip=np.zeros(2, int), chips=np.array([8.0, 64.0]),
              seq_len=np.array([8192.0, 4096.0]), runtime_eff=np.ones(2))
    implicit = tr.estimate(M, H, tr.TrainingCases(**kw))
    explicit = tr.estimate(M, H, tr.TrainingCases(**kw, state_bytes=np.full(2, tr.DEFAULT_STATE_BYTES)))
    assert implicit.feasible.tolist() == explicit.feasible.tolist()
    assert implicit.tokens_per_s_per_chip == pytest.approx(explicit.tokens_per_s_per_chip)
    assert implicit.min_chips == pytest.approx(explicit.min_chips)


def test_every_calibration_point_is_checked(ctx):
    """check_all returns one check per published point, inference and training alike."""
    from polyfleet.perf.calibration import check_all, load_calibration
    cal = load_calibration()
    checks = check_all(ctx, cal)
    assert sum(c.kind == "inference" for c in checks) == len(cal.inference) > 0
    assert sum(c.kind == "training" for c in checks) == len(cal.training) > 0


def test_an_infeasible_point_does_not_hide_the_points_after_it(ctx):
    """Predictions are made in one vectorised pass; a point that cannot run (405B in bf16, 810 GB of
    weights, on one chip of the same kind) gets NaN, and the point after it gets what it gets alone."""
    from polyfleet.perf.calibration import load_calibration, predict_inference
    good = next(p for p in load_calibration().inference if np.isfinite(predict_inference([p], ctx)[0]))
    bad = good.model_copy(update=dict(id="too-big", model="llama-3.1-405b", chips=1, dtype="bf16",
                                      replica_chips=None, choose_replica=False))
    alone = predict_inference([good], ctx)[0]
    both = predict_inference([bad, good], ctx)
    assert np.isnan(both[0])
    assert both[1] == pytest.approx(alone, rel=1e-12)


def test_compare_training_names_the_option_it_refuses(ctx):
    from polyfleet.perf.compare import compare_training
    with pytest.raises(UserError) as exc:
        compare_training("llama-3.1-8b", days=-1.0, ctx=ctx)
    assert exc.value.field == "--days" and "positive" in exc.value.message
    with pytest.raises(UserError) as exc:
        compare_training("llama-3.1-8b", days=30.0, chips=64, ctx=ctx)
    assert exc.value.field == "--days/--chips" and "not both" in exc.value.message


def test_without_the_default_stack_the_fastest_listed_one_runs(ctx):
    """On h100 (cuda) vLLM is the default inference stack; offered only SGLang and TensorRT-LLM, the
    choice is the faster of the two by the catalog's factors, not marked default, with no reason given
    (a reason is only for a chip that cannot run)."""
    from polyfleet.perf.portability import choose_stack, stack_factor
    cat, acc = ctx.catalog, ctx.accelerator("h100")
    assert cat.default_stack(acc.platform, "inference") == "vllm"
    factors = {s: stack_factor(cat, ctx.efficiency, s, acc.platform, "inference")[0] for s in ("sglang", "trtllm")}
    c = choose_stack(cat, acc, "inference", ["sglang", "trtllm"], None, ctx.efficiency)
    assert c.stack == max(factors, key=factors.get) and c.efficiency == pytest.approx(max(factors.values()))
    assert c.default is False and c.reason == ""


def test_runtime_efficiency_is_choose_stack_as_a_tuple(ctx):
    from polyfleet.perf.portability import choose_stack, runtime_efficiency
    acc = ctx.accelerator("trn2")
    for use in ("inference", "training"):
        c = choose_stack(ctx.catalog, acc, use, (), None, ctx.efficiency)
        assert runtime_efficiency(ctx.catalog, (), acc, use, None, ctx.efficiency) == (c.efficiency, c.stack, c.reason)


def test_a_run_with_a_lax_deadline_is_sized_to_the_fewest_chips_that_hold_it(tmp_path):
    """405B, 1e9 tokens, five months to do it: the deadline asks for next to nothing, so each chip's cell
    is sized by memory: the estimate at that many chips fits, one chip fewer does not."""
    from polyfleet.perf.estimate import estimate_training
    from polyfleet.scenario import load_scenario
    path = tmp_path / "tr.yaml"
    path.write_text("name: tr\nhorizon: {start: 2026-01, months: 6}\nworkloads:\n  training:\n"
                    "    - {id: big, model: llama-3.1-405b, run: {tokens: 1.0e9, start: 2026-01, deadline: 2026-06}}\n",
                    encoding="utf-8")
    t = load_scenario(path).rate_table()
    i = t.w("big")
    cells = np.flatnonzero(t.feasible[i])
    assert cells.size > 0
    for acc in sorted({t.accelerator[j] for j in cells})[:4]:
        n = int(t.chips_per_unit[i, t.accelerator.index(acc)])
        assert estimate_training("llama-3.1-405b", acc, chips=n).feasible
        assert not estimate_training("llama-3.1-405b", acc, chips=n - 1).feasible


def test_a_subset_keeps_every_array_aligned():
    """subset() picks the same rows and columns from every [workload, offering] array."""
    from polyfleet.scenario import load_scenario
    t = load_scenario(SMALL).rate_table()
    offs = [t.offerings[5], t.offerings[2]]
    sub = t.subset(workloads=["finetune", "chat"], offerings=offs)
    wi, oi = [t.w("finetune"), t.w("chat")], [5, 2]
    for name in ("rate", "feasible", "reason", "chips_per_unit", "measured", "rate_low", "rate_high", "stack"):
        assert np.array_equal(getattr(sub, name), getattr(t, name)[np.ix_(wi, oi)]), name
    assert sub.offerings == tuple(offs) and sub.kinds == ("training", "inference")


def test_a_subset_of_one_axis_keeps_all_of_the_other():
    """Offerings alone: every workload stays, in order (the plan subsets a scenario's table this way);
    workloads alone: every offering stays."""
    from polyfleet.scenario import load_scenario
    t = load_scenario(SMALL).rate_table()
    by_offering = t.subset(offerings=[t.offerings[3], t.offerings[0]])
    assert by_offering.workloads == t.workloads
    assert np.array_equal(by_offering.rate, t.rate[:, [3, 0]])
    by_workload = t.subset(workloads=[t.workloads[-1]])
    assert by_workload.offerings == t.offerings and np.array_equal(by_workload.rate, t.rate[[-1], :])


def test_replica_sizes_are_powers_of_two_and_the_whole_domain_within_the_limit(ctx):
    """GB200's NVLink domain is 72 chips: sizes 1, 2, 4, ... 64, and 72 itself once the limit reaches it."""
    from polyfleet.perf.estimate import chip_candidates
    gb200 = ctx.accelerator("gb200")
    assert chip_candidates(gb200, limit=72) == [1, 2, 4, 8, 16, 32, 64, 72]
    assert chip_candidates(gb200, limit=64) == [1, 2, 4, 8, 16, 32, 64]
    assert chip_candidates(gb200, limit=71) == [1, 2, 4, 8, 16, 32, 64]


def test_a_training_run_that_does_not_fit_trains_nothing(ctx):
    """405B's 16 bytes of state per parameter need 96 H100s; on 8 the run is infeasible, says so, and its
    throughput is 0 (not a placeholder the planner could buy)."""
    from polyfleet.perf import estimate_training
    e = estimate_training("llama-3.1-405b", "h100", chips=8, ctx=ctx)
    assert not e.feasible and "needs at least 96 chips" in e.reason
    assert e.tokens_per_s_per_chip == 0.0


def test_an_offering_of_another_chip_is_refused_with_both_names(ctx):
    from polyfleet.perf.estimate import estimate_inference
    with pytest.raises(UserError) as exc:
        estimate_inference("llama-3.1-8b", "h100", offering="gcp/tpu-v6e-8/us-east1", ctx=ctx)
    assert exc.value.field == "--offering" and "rents tpu-v6e, not h100" in exc.value.message


def test_a_chip_with_no_offering_has_an_unknown_price(ctx):
    """mi355x is in the catalog but nobody rents it yet: its estimate has no price and says 'unknown'."""
    from polyfleet.perf.estimate import estimate_inference
    assert not ctx.catalog.offerings_of("mi355x")
    e = estimate_inference("llama-3.1-8b", "mi355x", ctx=ctx)
    assert e.usd_per_chip_hour is None and e.price_status == "unknown"
