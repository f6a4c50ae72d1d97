"""Monte Carlo execution: same seed, same numbers, in one process, a pool, or Ray."""

from __future__ import annotations

import numpy as np
import pytest

from polyfleet.errors import UserError
from polyfleet.sim.parallel import run_many


def draw(payload, index, ss):
    rng = np.random.default_rng(ss)
    return (index, float(rng.normal(payload, 1.0)))


def test_pool_matches_single_process():
    one = run_many(draw, 5.0, 6, seed=11, workers=1)
    two = run_many(draw, 5.0, 6, seed=11, workers=2)
    assert one == two
    assert [i for i, _ in one] == list(range(6))
    assert run_many(draw, 5.0, 6, seed=12, workers=1) != one


def test_ray_matches_pool():
    """A local Ray instance started here; its workers must import this test module, hence the path."""
    ray = pytest.importorskip("ray")
    import os
    here = os.path.dirname(__file__)
    path = os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])
    ray.init(include_dashboard=False, log_to_driver=False, num_cpus=2,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        pool = run_many(draw, 5.0, 4, seed=3, workers=2)
        ray_res = run_many(draw, 5.0, 4, seed=3, ray_address="local")
    finally:
        ray.shutdown()
    assert ray_res == pool


def test_zero_runs_rejected():
    with pytest.raises(UserError, match="at least 1"):
        run_many(draw, 0.0, 0, seed=1)
