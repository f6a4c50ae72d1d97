"""The round-based job simulator on traces small enough to follow round by round."""

from __future__ import annotations

import numpy as np
import pytest

from polyfleet.sim.jobs import JobTrace, SimConfig, simulate_jobs


def test_a_job_that_cannot_make_one_whole_step_in_a_round_fails():
    """Two one-chip jobs on two chips. Job 0 runs at 1e-4 steps/s: a 360 s round holds 0.036 steps, no
    whole one, so each round is a failed micro-task (Gavel's rule) and after max_failures = 5 rounds
    the job is dropped. Job 1 (500 steps at 1 step/s) holds its chip throughout and ends at 500 s."""
    trace = JobTrace(arrival_s=np.array([0.0, 0.0]), throughput=np.array([[1e-4], [1.0]]),
                     scale_factor=np.array([1.0, 1.0]), total_work=np.array([10.0, 500.0]), types=("v100",))
    r = simulate_jobs(trace, np.array([2.0]), SimConfig(max_failures=5))
    assert r.failed.tolist() == [True, False]
    assert r.completion_s[1] == pytest.approx(500.0)
    assert r.rounds == 5                          # job 0 is gone after its fifth failed round
