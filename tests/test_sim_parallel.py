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
    ray.init(address="local", include_dashboard=False, log_to_driver=False, num_cpus=2,
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


def test_risk_same_numbers_on_pool_and_ray():
    """The whole Monte Carlo risk run: one process, a pool of two and Ray give identical distributions."""
    ray = pytest.importorskip("ray")
    import os
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    from simkit import make_setup

    from polyfleet.scenario.faults import Faults, RegionOutages
    from polyfleet.sim.risk import run_risk
    setup = make_setup([[100, 100], [60, 60]], [[120, 120]], share=[[0.5, 0.5]])
    from dataclasses import replace
    setup = replace(setup, faults=Faults(region_outages=RegionOutages(rate_per_region_year=20.0)))
    one = run_risk([setup], 4, seed=9, workers=1)
    two = run_risk([setup], 4, seed=9, workers=2)
    here = os.path.dirname(__file__)
    ray.init(address="local", include_dashboard=False, log_to_driver=False, num_cpus=2,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}})
    try:
        on_ray = run_risk([setup], 4, seed=9, ray_address="local")
    finally:
        ray.shutdown()
    assert one.rows() == two.rows() == on_ray.rows()
    assert one.strategies[0].unserved_share.sum() > 0          # the faults did cost something
