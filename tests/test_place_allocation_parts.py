"""Training allocation: POP partitions, the solver options honoured, the final projection and the repair
pass's tier cut, each on a case small enough to work out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from polyfleet.place import AllocationProblem, SolveOptions, allocate


def identical_jobs(n: int, capacity: float) -> AllocationProblem:
    """n one-chip jobs, 3 steps/s on the only type (one with 2 on a second, slower type)."""
    thr = np.tile([3.0, 2.0], (n, 1))
    return AllocationProblem(throughput=thr, scale_factor=np.ones(n), capacity=np.array([capacity, 0.0]),
                             types=("fast", "slow"))


@pytest.mark.parametrize("partitions", [2, 3])
def test_pop_gives_every_job_its_share_when_jobs_outnumber_parts(partitions):
    """6 identical one-chip jobs and 6 fast chips: each job can hold a whole chip all the time, so
    max-min fairness gives x = 1 on 'fast' to every job, however the jobs are dealt into k parts of
    1/k of the capacity (6/k jobs and 6/k chips in each). A job dealt into no part would get nothing."""
    problem = identical_jobs(6, 6.0)
    result = allocate(problem, "max_min_fairness_perf", SolveOptions(partitions=partitions, merge=False))
    assert result.partitions == partitions
    assert result.x[:, 0] == pytest.approx(np.ones(6), abs=1e-6)
    assert result.x[:, 1] == pytest.approx(np.zeros(6), abs=1e-9)


@pytest.mark.parametrize("method", ["simplex", "ipm"])
def test_the_lp_method_asked_for_is_the_one_used(method):
    """SolveOptions.method reaches HiGHS: the allocation names the solver that ran."""
    result = allocate(identical_jobs(4, 2.0), "max_min_fairness_perf", SolveOptions(method=method, merge=False))
    assert result.solver == f"highs-{method}"
    assert result.x[:, 0].sum() == pytest.approx(2.0, abs=1e-6)    # two chips shared by four jobs


def test_projection_scales_an_overfull_type_back_to_its_capacity():
    """Round-off clipping by hand: rows above 1 are scaled to 1; a type used past its capacity is
    scaled down by capacity / used; values at 1e-12 or below vanish; masked cells are zeroed.
    Job 0 [0.6, 0.6] -> row 1.2 -> [0.5, 0.5]; job 1 [0.8, 1e-13] -> [0.8, 0]; gangs of 1 and 2:
    type 0 used 0.5 + 2 x 0.8 = 2.1 > 1.4, scaled by 1.4 / 2.1 = 2/3 -> 1/3 and 0.5333; type 1 used
    0.5 <= 1 stays."""
    from polyfleet.place.allocation import _project
    x = np.array([[0.6, 0.6], [0.8, 1e-13]])
    mask = np.array([[True, True], [True, True]])
    out = _project(x.copy(), mask, np.array([1.0, 2.0]), np.array([1.4, 1.0]))
    assert out == pytest.approx(np.array([[0.5 * 2 / 3, 0.5], [0.8 * 2 / 3, 0.0]]), rel=1e-12)
    masked = _project(x.copy(), np.array([[True, False], [True, True]]), np.array([1.0, 2.0]), np.array([9.0, 9.0]))
    assert masked == pytest.approx(np.array([[0.6, 0.0], [0.8, 0.0]]), rel=1e-12)


def test_cut_tier_is_the_first_tier_capacity_no_longer_covers():
    """Capacity 100 against cumulative tier demand [80, 150]: tier 0 is covered, tier 1 is cut (1);
    [120, 200]: cut at tier 0; [50, 100] (exactly covered, within tolerance): no cut (2 = K)."""
    from polyfleet.place.inference_tiers import _cut_tier
    cum = np.array([[80.0, 150.0], [120.0, 200.0], [50.0, 100.0]])
    assert _cut_tier(np.full(3, 100.0), cum).tolist() == [1, 0, 2]
