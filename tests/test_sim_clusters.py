"""The simulator agrees with a plan whose training runs sit on one cluster each: with no faults, every
run finishes its planned tokens by its deadline (0 days behind), on the offerings of the cluster the plan
chose and nowhere else."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from polyfleet.plan import PlanOptions, SolveOptions, check_invariants, plan
from polyfleet.scenario import load_scenario
from polyfleet.scenario.faults import ChipFailures
from polyfleet.sim.build import setup_from_plan
from polyfleet.sim.faults import sample_timeline
from polyfleet.sim.fleet import simulate

SCENARIO = """
name: two-clusters
horizon: {start: 2026-01, months: 6}
offerings:
  include:
    - {provider: gcp, accelerator: tpu-v6e, region: gcp/us-east1}
    - {provider: aws, accelerator: h200, region: aws/us-east-1}
workloads:
  services:
    - {id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 300, tokens_per_s: 2.0e4, peak_factor: 1.3}
  training:
    - {id: tune-a, model: llama-3.1-8b, chips: 64, run: {tokens: 4.0e11, start: 2026-02, deadline: 2026-04}}
    - {id: tune-b, model: llama-3.1-8b, chips: 64, cluster: gpus, goodput: 0.85,
       run: {tokens: 3.0e11, start: 2026-03, deadline: 2026-06}}
clusters:
  - {id: tpus, accelerator: tpu-v6e, provider: gcp, region: us-east1, max_chips: 4096, note: one pod}
  - {id: gpus, accelerator: h200, provider: aws, region: [us-east-1]}
supply: {spot_max_chips: 0}
"""


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    path = tmp_path_factory.mktemp("scn") / "two-clusters.yaml"
    path.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    scn = load_scenario(path)
    return scn, plan(scn, PlanOptions(solve=SolveOptions(mip_rel_gap=1e-4)))


def test_each_run_on_its_cluster_in_the_plan(planned):
    scn, res = planned
    assert res.solution.optimal
    by_run = {r["run"]: r for r in res.clusters}
    assert by_run["tune-b"]["cluster"] == "gpus" and by_run["tune-b"]["goodput"] == 0.85
    assert by_run["tune-a"]["cluster"] in ("tpus", "gpus") and by_run["tune-a"]["goodput"] == 0.9
    from polyfleet.report.tables import jsonable
    import json
    assert check_invariants(json.loads(json.dumps(jsonable(res.to_dict())))) == []


def test_no_fault_simulation_finishes_every_run_on_its_cluster(planned):
    scn, res = planned
    faults = scn.faults.model_copy(update={"chip_failures": ChipFailures(annual_failure_rate=0.0)})
    setup = setup_from_plan(scn, res, faults=faults)
    events = sample_timeline(setup.faults, setup.universe, setup.horizon_s, np.random.default_rng(0), sampled=False,
                             month_s=setup.month_s)
    run = simulate(setup, events, np.random.default_rng(1))
    pools = list(setup.schedule.pools)
    for rec in res.clusters:
        w = res.inputs.workloads.index(rec["run"])
        on = {pools[p] for p in np.flatnonzero(setup.runs[w].sum(axis=1) > 0)}
        assert on == set(rec["offerings"])                                # one cluster, the plan's
        assert run.training_delay_days[w] == pytest.approx(0.0, abs=1e-6)
        planned_tokens = res.served[w].sum() * res.inputs.hours
        assert planned_tokens == pytest.approx(rec["tokens_required"], rel=1e-6)


def test_report_and_table_show_the_runs(planned, capsys):
    """The HTML report has a training-runs section naming each run's cluster; the CLI table lists them."""
    from rich.console import Console

    from polyfleet.cli.plan_views import print_runs as _print_runs
    from polyfleet.report.html import plan_sections
    scn, res = planned
    (sec,) = [s for s in plan_sections(res) if s.title == "Training runs"]
    assert all(r["run"] in sec.body and r["cluster"] in sec.body for r in res.clusters)
    _print_runs(res, Console(width=200))
    out = capsys.readouterr().out
    assert "Training runs (each on one cluster)" in out and "tune-b" in out and "gpus" in out
