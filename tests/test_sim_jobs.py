"""The event engine, the job-level simulator and the Gavel trace reader (small hand-made traces)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet.errors import UnknownNameError, UserError
from polyfleet.place import RoundConfig, RoundMechanism
from polyfleet.sim import Engine, JobTrace, SimConfig, load_gavel_trace, simulate_jobs

DATA = Path(__file__).parent / "data" / "gavel_small"


def trace(arrival, thr, work, scale=None, types=("fast", "slow")) -> JobTrace:
    n = len(arrival)
    return JobTrace(arrival_s=np.array(arrival, float), throughput=np.array(thr, float),
                    scale_factor=np.array(scale if scale is not None else [1] * n, float),
                    total_work=np.array(work, float), types=types)


# ---------------------------------------------------------------- engine

def test_engine_orders_by_time_then_priority_then_fifo():
    engine, seen = Engine(), []
    engine.schedule(5.0, seen.append, "late")
    engine.schedule(1.0, seen.append, "b", priority=1)
    engine.schedule(1.0, seen.append, "a", priority=0)
    engine.schedule(1.0, seen.append, "c", priority=1)
    assert engine.run(until_s=2.0) == 2.0 and seen == ["a", "b", "c"]
    engine.run()
    assert seen[-1] == "late" and engine.now == 5.0 and engine.events_processed == 4
    with pytest.raises(ValueError):
        engine.schedule(1.0, seen.append, "past")


def test_engine_stop_ends_run():
    engine, seen = Engine(), []
    engine.schedule(1.0, lambda: (seen.append(1), engine.stop()))
    engine.schedule(2.0, seen.append, 2)
    engine.run()
    assert seen == [1] and engine.pending == 1


# ---------------------------------------------------------------- simulator, by hand

def test_single_job_runs_on_its_fastest_type():
    """5000 steps at 10/s on `fast`: round 1 runs int(10 x 360) = 3600 steps and ends at 360 s,
    round 2 the remaining 1400 steps in 140 s: done at 500 s (a round ends with its last task).
    One of two chips busy for 500 s: utilisation 0.5."""
    result = simulate_jobs(trace([0.0], [[10.0, 5.0]], [5000.0]), np.array([1.0, 1.0]))
    assert result.completion_s[0] == pytest.approx(500.0)
    assert result.rounds == 2 and result.end_s == pytest.approx(500.0)
    assert result.utilization == pytest.approx(0.5)


def test_arrival_waits_for_round_boundary_but_jct_counts_from_arrival():
    """Job 1 arrives at 100 s while round 1 (job 0) runs until 360 s; it is admitted there, gets an
    allocation at once (no reallocation has happened after t=0 yet) and needs 1440/4 = 360 s:
    done at 720 s, JCT = 620 s. Job 0 (3600 steps at 10/s) is done at 360 s."""
    result = simulate_jobs(trace([0.0, 100.0], [[10.0, 5.0], [4.0, 4.0]], [3600.0, 1440.0]),
                           np.array([1.0, 1.0]))
    np.testing.assert_allclose(result.completion_s, [360.0, 720.0])
    np.testing.assert_allclose(result.jct_s, [360.0, 620.0])
    assert result.average_jct_s() == pytest.approx(490.0)


def test_new_jobs_wait_for_reallocation_unless_backfill():
    """Job 0 arrives at 10 s (first reallocation, on `fast`); job 1 (1440 steps at 4/s anywhere)
    arrives at 100 s and is admitted at the 370 s boundary, but the next reallocation is only
    due 1920 s after 10 s: at the 2170 s boundary, so it finishes at 2530 s (Gavel). With
    backfill it takes the idle `slow` chip at 370 s and finishes at 730 s."""
    t = trace([10.0, 100.0], [[10.0, 5.0], [4.0, 4.0]], [36000.0, 1440.0])
    gavel = simulate_jobs(t, np.array([1.0, 1.0]))
    backfill = simulate_jobs(t, np.array([1.0, 1.0]), SimConfig(rounds=RoundConfig(backfill_new_jobs=True)))
    assert gavel.completion_s[1] == pytest.approx(2530.0)
    assert backfill.completion_s[1] == pytest.approx(730.0)
    assert gavel.completion_s[0] == backfill.completion_s[0] == pytest.approx(3610.0)


def test_idle_cluster_jumps_to_next_arrival():
    result = simulate_jobs(trace([0.0, 5000.0], [[10.0, 5.0], [10.0, 5.0]], [100.0, 100.0]),
                           np.array([1.0, 1.0]))
    np.testing.assert_allclose(result.completion_s, [10.0, 5010.0])


def two_jobs_one_chip(restart_cost_s: float):
    """Two identical jobs (7200 steps at 10/s = 2 rounds each) share one chip: X = 1/2 each."""
    t = trace([0.0, 0.0], [[10.0], [10.0]], [7200.0, 7200.0], types=("fast",))
    config = SimConfig(policy="max_min_fairness", rounds=RoundConfig(restart_cost_s=restart_cost_s))
    return simulate_jobs(t, np.array([1.0]), config)


def test_time_sharing_follows_priorities():
    """Rounds alternate by priority X/f: job 0 (tie, slot order), job 1 (f = 1/4 vs 3/4), job 0
    (tie again) finishing at 3 x 360 = 1080 s, then job 1 at 1440 s. No restart cost: Gavel's."""
    result = two_jobs_one_chip(0.0)
    np.testing.assert_allclose(result.completion_s, [1080.0, 1440.0])
    assert result.preemptions == 2 and result.restarts == 0


def test_restart_cost_charged_when_a_job_resumes():
    """With 60 s lost per resume: rounds 1-2 are first starts (free, 3600 steps each); round 3
    (job 0 resumes) yields int(10 x 300) = 3000 steps, round 4 likewise for job 1; round 5 job 0
    resumes for its last 600 steps: 60 + 60 s -> done at 1440 + 120 = 1560 s; job 1 the same
    way at 1680 s. Four restarts charged."""
    result = two_jobs_one_chip(60.0)
    np.testing.assert_allclose(result.completion_s, [1560.0, 1680.0])
    assert result.restarts == 4


def test_gang_job_needs_all_its_chips_at_once():
    """A 2-chip gang on a cluster of 1 fast + 1 slow chip can never run (no type has 2 chips);
    the 1-chip job (slow only, 5/s) runs: 20 s. With 2 fast chips the gang runs at its
    whole-gang rate of 7 steps/s: 700 steps in 100 s."""
    t = trace([0.0, 0.0], [[7.0, 0.0], [0.0, 5.0]], [700.0, 100.0], scale=[2, 1])
    stuck = simulate_jobs(t, np.array([1.0, 1.0]))
    assert np.isnan(stuck.completion_s[0]) and stuck.completion_s[1] == pytest.approx(20.0)
    ok = simulate_jobs(t, np.array([2.0, 1.0]))
    assert ok.completion_s[0] == pytest.approx(100.0)


def test_gang_with_less_work_than_chips_fails_like_gavel():
    """Gavel splits a gang's steps evenly over its workers; with 1 step left for 2 workers one
    gets none and the micro-task fails. After 5 failures in a row the job is dropped and left
    out of the average JCT."""
    t = trace([0.0, 0.0], [[7.0, 0.0], [0.0, 5.0]], [1.0, 100.0], scale=[2, 1])
    result = simulate_jobs(t, np.array([2.0, 1.0]))
    assert result.failed.tolist() == [True, False]
    assert result.average_jct_s() == pytest.approx(20.0)


def test_window_stop_rule():
    """Counting only job 0, the run stops at the first boundary after it is done: the end of
    round 1 at 360 s, since job 1 ran the whole round (job 1 stays unfinished)."""
    t = trace([0.0, 0.0], [[10.0, 5.0], [1.0, 1.0]], [100.0, 1e6])
    result = simulate_jobs(t, np.array([1.0, 1.0]), SimConfig(window=(0, 1)))
    assert result.completion_s[0] <= 20.0 and np.isnan(result.completion_s[1])
    assert result.end_s == pytest.approx(360.0) and result.rounds == 1


@pytest.mark.parametrize("policy", ["max_min_fairness", "max_min_fairness_perf", "fifo", "srpt_perf",
                                    "finish_time_fairness_perf", "makespan"])
def test_simulation_is_deterministic(policy):
    rng = np.random.default_rng(0)
    n = 30
    t = trace(np.sort(rng.uniform(0, 5000, n)), rng.choice([0.0, 2.0, 5.0, 9.0], (n, 2)) + [1.0, 0.0],
              rng.uniform(1e3, 2e4, n), scale=rng.choice([1, 2], n))
    a = simulate_jobs(t, np.array([3.0, 2.0]), SimConfig(policy=policy))
    b = simulate_jobs(t, np.array([3.0, 2.0]), SimConfig(policy=policy))
    np.testing.assert_array_equal(a.completion_s, b.completion_s)
    assert np.isfinite(a.completion_s).all()


# ---------------------------------------------------------------- invariants over whole runs

@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["max_min_fairness", "max_min_fairness_perf", "fifo", "srpt_perf"]),
       st.floats(0.0, 120.0))
def test_every_round_respects_capacity_gangs_and_feasibility(seed, policy, restart):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 15))
    thr = rng.choice([0.0, 1.0, 4.0], (n, 3))
    thr[:, 0] = np.maximum(thr[:, 0], 1.0)  # everyone can run on type 0
    t = trace(np.sort(rng.uniform(0, 3000, n)), thr, rng.uniform(100, 5000, n),
              scale=rng.choice([1, 2, 4], n), types=("a", "b", "c"))
    capacity = np.array([4.0, float(rng.integers(0, 4)), 2.0])
    seen = []
    original = RoundMechanism.place

    def spy(self, thr_active, scale_active):
        rows, types = original(self, thr_active, scale_active)
        seen.append((thr_active[rows, types], np.bincount(types, weights=scale_active[rows], minlength=3),
                     rows.size - len(set(rows.tolist()))))
        return rows, types

    RoundMechanism.place = spy
    try:
        result = simulate_jobs(t, capacity, SimConfig(policy=policy, rounds=RoundConfig(restart_cost_s=restart)))
    finally:
        RoundMechanism.place = original
    for rates, used, duplicates in seen:
        assert np.all(rates > 0)  # never on a type the job cannot run on
        assert np.all(used <= capacity)  # whole gangs, never over capacity
        assert duplicates == 0
    assert np.all(np.isfinite(result.completion_s))
    assert 0.0 < result.utilization <= 1.0 + 1e-9


# ---------------------------------------------------------------- Gavel's trace format

def test_load_gavel_trace():
    jobs = load_gavel_trace(DATA / "small.trace", DATA / "throughputs.json", ("fast", "slow"))
    assert jobs.num_jobs == 3
    np.testing.assert_allclose(jobs.arrival_s, [0.0, 100.0, 2000.5])
    np.testing.assert_allclose(jobs.throughput, [[10.0, 5.0], [4.0, 4.0], [7.0, 0.0]])
    np.testing.assert_array_equal(jobs.scale_factor, [1, 1, 2])
    np.testing.assert_allclose(jobs.total_work, [3600.0, 1440.0, 7000.0])
    csv_jobs = load_gavel_trace(DATA / "small.jobs.csv", DATA / "throughputs.json", ("fast", "slow"))
    np.testing.assert_allclose(csv_jobs.total_work, [3600.5, 1440.0])
    result = simulate_jobs(jobs, np.array([2.0, 2.0]), SimConfig(policy="max_min_fairness_perf"))
    assert np.isfinite(result.completion_s).all()


def test_bad_trace_line_names_file_line_and_field():
    with pytest.raises(UserError) as err:
        load_gavel_trace(DATA / "bad_steps.trace", DATA / "throughputs.json", ("fast", "slow"))
    assert "bad_steps.trace:2" in str(err.value) and "total_steps" in str(err.value)


def test_unknown_type_or_job_key():
    with pytest.raises(UnknownNameError, match="fast"):
        load_gavel_trace(DATA / "small.trace", DATA / "throughputs.json", ("fats",))
    with pytest.raises(UserError, match="small.trace"):
        load_gavel_trace(DATA / "small.trace", DATA / "throughputs.json", ("fast_unconsolidated",))


def test_a_job_type_the_throughputs_lack_is_named_with_the_ones_they_have():
    with pytest.raises(UnknownNameError) as err:
        load_gavel_trace(DATA / "small.trace", DATA / "throughputs.json", ("fast_unconsolidated",))
    text = str(err.value)
    assert "job type" in text and "ModelB x1" in text and "ModelA x1" in text


def test_arrivals_out_of_order_name_the_job_and_the_field(tmp_path):
    lines = (DATA / "small.trace").read_text().splitlines()
    swapped = tmp_path / "swapped.trace"
    swapped.write_text("\n".join([lines[0], lines[2], lines[1]]) + "\n")   # arrivals 0, 2000.5, 100
    with pytest.raises(UserError) as err:
        load_gavel_trace(swapped, DATA / "throughputs.json", ("fast", "slow"))
    text = str(err.value)
    assert "arrival times must not decrease" in text and "arrival_time" in text and "job 2" in text
