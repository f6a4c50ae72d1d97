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


def sleepy(payload, index, ss):
    import time
    time.sleep(60)
    return index


def test_ctrl_c_stops_the_workers_at_once():
    """Ctrl-C (here a KeyboardInterrupt raised by an alarm after 1 s) while two workers are each 60 s
    into a run: run_many lets the interrupt through and ends the workers without finishing their runs,
    so no child process is left and it returns long before the 60 s a run takes."""
    import multiprocessing
    import signal
    import time

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(1)
    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_many(sleepy, None, 6, seed=0, workers=2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert time.perf_counter() - t0 < 45
    assert multiprocessing.active_children() == []


def test_the_command_line_says_interrupted(run_cli, monkeypatch, tmp_path):
    """A KeyboardInterrupt inside `risk` reaches the top-level handler (typer would turn it into a
    silent exit 130): one line 'interrupted', exit code 130, no traceback."""
    import polyfleet.sim.risk as risk

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(risk, "run_risk", boom)
    scn = tmp_path / "s.yaml"
    scn.write_text("""
name: s
horizon: {start: 2026-01, months: 2}
offerings:
  include: [{provider: aws, accelerator: h200, region: aws/us-east-1}]
workloads:
  services: [{id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tokens_per_s: 1.0e5}]
""", encoding="utf-8")
    code, _, err = run_cli("risk", str(scn), "--runs", "2", "-q", "--no-compare")
    assert code == 130 and err.strip() == "interrupted"
