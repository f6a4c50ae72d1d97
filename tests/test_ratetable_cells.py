"""The rate table's cell arithmetic: pessimistic rates, measured overrides, $/Mtok, bands per kind,
training cells sized by deadline, a service's KV precision and a failing cell's reason, each against
an independent figure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polyfleet.errors import UserError
from polyfleet.perf import build_rate_table, estimate_inference, estimate_training
from polyfleet.perf.estimate import family_of
from polyfleet.perf.ratetable import RateTable
from polyfleet.perf.uncertainty import band_for
from polyfleet.workloads import InferenceService, TrainingRun


def _table(rate, low, measured, price=(2.0, 2.0, 2.0, 2.0)) -> RateTable:
    """One workload over len(rate) offerings, at the given rates, P10s and on-demand prices."""
    rate, low = np.array([rate], float), np.array([low], float)
    n = rate.shape[1]
    names = tuple(f"o{j}" for j in range(n))
    return RateTable(workloads=("w",), kinds=("inference",), offerings=names, accelerator=("h100",) * n,
                     vendor=("nvidia",) * n, family=("gpu",) * n, provider=("p",) * n, region=("r",) * n,
                     unit_chips=np.ones(n, int), rate=rate, feasible=rate > 0, reason=np.full((1, n), "", object),
                     chips_per_unit=np.ones((1, n), int),
                     usd_per_chip_hour=np.tile(np.array(price, float)[:n, None], (1, 4)),
                     watts_per_chip=np.full(n, 700.0), measured=np.array([measured]),
                     watts_assumed=np.zeros(n, bool), rate_low=low, rate_high=rate * 1.2)


def test_the_pessimistic_table_plans_at_the_band_floor_never_above_the_rate_and_keeps_measurements():
    """Modelled 100 with a P10 of 80 plans at 80; a P10 above the rate (120) still plans at 100; a P10 of
    0 leaves the cell infeasible; a measured 50 stays 50 whatever band it carries."""
    t = _table([100.0, 100.0, 100.0, 50.0], [80.0, 120.0, 0.0, 10.0], [False, False, False, True])
    low = t.pessimistic()
    assert low.rate[0].tolist() == [80.0, 100.0, 0.0, 50.0]
    assert low.feasible[0].tolist() == [True, True, False, True]
    assert low.rate_high[0].tolist() == t.rate[0].tolist()     # the central rate is kept as the band's top


def test_a_measured_rate_is_its_own_band_and_zero_is_infeasible(table):
    """A measurement replaces the modelled cell and its band (low = high = the measured rate); a measured
    zero makes the cell infeasible and says so."""
    w = table.w("chat")
    cols = [j for j, a in enumerate(table.accelerator) if a == "h100"]
    m = table.with_measured("chat", 5.0e5, accelerator="h100")
    for j in cols:
        assert m.rate[w, j] == m.rate_low[w, j] == m.rate_high[w, j] == 5.0e5 and m.feasible[w, j]
        assert m.reason[w, j] == ""       # a measured rate runs: no reason against it
    zero = table.with_measured("chat", 0.0, accelerator="h100")
    assert not zero.feasible[w, cols].any() and all(zero.reason[w, j] == "measured rate is zero" for j in cols)


def test_dollars_per_million_tokens_are_infinite_where_nothing_runs_even_at_an_unknown_price():
    """$2/chip-hour at 1e6 tokens/chip-hour is $2 per million; an infeasible cell costs infinity, also where
    its price is unknown (NaN), while a feasible cell at an unknown price is unknown (NaN)."""
    t = _table([1e6, 0.0, 1e6], [1e6, 0.0, 1e6], [False, False, False], price=(2.0, math.nan, math.nan))
    usd = t.usd_per_million_tokens()[0]
    assert usd[0] == pytest.approx(2.0) and usd[1] == math.inf and math.isnan(usd[2])


@pytest.fixture(scope="module")
def table(ctx):
    svcs = [InferenceService(id="chat", model="llama-3.1-70b", tpot_s=0.05, ttft_s=2.0)]
    runs = [TrainingRun(id="pretrain", model="llama-3.1-8b", tokens=1e12, deadline_days=10)]
    return build_rate_table(svcs, runs, ctx=ctx, offerings=["aws/p5.48xlarge/us-east-1"])


def test_each_cell_carries_the_band_of_its_own_kind(table, ctx):
    """The training cell's P10 and P90 are its rate times the training band of its family and stack,
    the service's the inference band of theirs (and the two differ)."""
    acc = ctx.accelerator("h100")
    for w, kind in ((table.w("chat"), "inference"), (table.w("pretrain"), "training")):
        band = band_for(family_of(acc), table.stack[w, 0], kind)
        assert table.rate_low[w, 0] == pytest.approx(table.rate[w, 0] * band.low, rel=1e-12)
        assert table.rate_high[w, 0] == pytest.approx(table.rate[w, 0] * band.high, rel=1e-12)
    assert band_for(family_of(acc), table.stack[table.w("pretrain"), 0], "training") != \
        band_for(family_of(acc), table.stack[table.w("pretrain"), 0], "inference")


def test_a_training_cell_is_sized_up_to_its_deadline_in_tokens_per_chip_hour(table, ctx):
    """1e12 tokens in 10 days need 1,157,407 tokens/s: at the rate of the fewest H100 that hold Llama-3.1-8B
    that is ceil(1,157,407 / that rate) chips, more than the fewest, and the cell is tokens/s per chip at
    that size x 3,600."""
    need = estimate_training("llama-3.1-8b", "h100", 1, ctx=ctx).min_chips
    at_need = estimate_training("llama-3.1-8b", "h100", need, ctx=ctx).tokens_per_s_per_chip
    size = math.ceil(1e12 / (10 * 86400) / at_need)
    assert size > need and 1e12 / (10 * 86400) / at_need % 1 > 0
    w = table.w("pretrain")
    assert table.chips_per_unit[w, 0] == size
    e = estimate_training("llama-3.1-8b", "h100", size, ctx=ctx)
    assert table.rate[w, 0] == pytest.approx(e.tokens_per_s_per_chip * 3600, rel=1e-9)


def test_an_fp4_service_keeps_its_cache_in_fp8_as_the_one_off_estimate_does(ctx):
    """FP4 (or FP8) weights default to an FP8 KV cache in the table as in `estimate_inference`; an FP4
    cache (half the bytes) would give a different cell."""
    svc = InferenceService(id="chat-fp4", model="llama-3.1-70b", dtype="fp4", tpot_s=0.05, ttft_s=2.0)
    t = build_rate_table([svc], ctx=ctx, offerings=["aws/p6-b200.48xlarge/us-east-1"])
    e = estimate_inference("llama-3.1-70b", "b200", dtype="fp4", tpot_s=0.05, ttft_s=2.0, ctx=ctx)
    fp4_kv = estimate_inference("llama-3.1-70b", "b200", dtype="fp4", kv_dtype="fp4", tpot_s=0.05, ttft_s=2.0,
                                ctx=ctx)
    assert t.rate[0, 0] == pytest.approx(e.output_tokens_per_s_per_chip * 3600, rel=1e-9)
    assert fp4_kv.output_tokens_per_s_per_chip != pytest.approx(e.output_tokens_per_s_per_chip, rel=1e-3)


def test_a_cell_nothing_fits_says_why_its_largest_replica_fails(ctx):
    """Llama-3.1-405B in FP8 (405 GB) under a 1 ms TPOT limit on H100: replicas of 1 to 4 chips cannot hold
    the weights, 8 chips hold them but miss the limit; the cell gives the 8-chip reason, the one that
    says what would have to change."""
    svc = InferenceService(id="fast", model="llama-3.1-405b", dtype="fp8", tpot_s=0.001)
    t = build_rate_table([svc], ctx=ctx, offerings=["aws/p5.48xlarge/us-east-1"])
    assert not t.feasible[0, 0] and t.reason[0, 0] == "TPOT SLO unreachable at any batch"


def test_two_workloads_with_one_id_are_refused(ctx):
    svc = InferenceService(id="twice", model="llama-3.1-8b")
    with pytest.raises(UserError, match="workload id 'twice' is used twice"):
        build_rate_table([svc, svc], ctx=ctx, offerings=["aws/p5.48xlarge/us-east-1"])
