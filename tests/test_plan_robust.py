"""`plan --robust`: plans at the low end of each modelled rate's band and prices that certainty."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from polyfleet.scenario import load_scenario

SMALL = Path(__file__).parent / "data" / "scenarios" / "small-fleet.yaml"


def test_pessimistic_rates_never_exceed_central_and_keep_measured_cells():
    scn = load_scenario(str(SMALL))
    modelled_table = scn.rate_table(scn.context())
    # one measured cell, so that keeping measurements is tested on a table that has one
    j = int(np.flatnonzero(modelled_table.feasible[0])[0])
    table = modelled_table.with_measured(modelled_table.workloads[0], 0.5 * modelled_table.rate[0, j],
                                         offering=modelled_table.offerings[j])
    assert table.measured.sum() == 1
    low = table.pessimistic()
    assert np.all(low.rate <= table.rate + 1e-9)
    assert np.array_equal(low.rate[table.measured], table.rate[table.measured])
    modelled = table.feasible & ~table.measured
    # the band is not degenerate: some modelled cell really is planned lower
    assert np.any(low.rate[modelled] < 0.99 * table.rate[modelled])


def test_robust_plan_costs_at_least_the_nominal_one_within_its_gap(run_cli):
    code, out, _ = run_cli("plan", str(SMALL), "--robust", "--format", "json", "--quiet")
    assert code == 0
    r = json.loads(out)["robust"]
    assert r["nominal_feasible"] and r["robust_feasible"]
    # lower rates only shrink the feasible set, so the robust optimum is >= the nominal optimum; the
    # nominal plan found may sit above its optimum by at most its gap
    nominal_gap = r["mip_gaps"][1]
    assert r["robust_cost_usd"] >= r["nominal_cost_usd"] * (1 - nominal_gap) - 1e-6
    assert abs(r["extra_usd"] - (r["robust_cost_usd"] - r["nominal_cost_usd"])) < 1e-6
    assert json.loads(out)["totals"]["cost_usd"] == r["robust_cost_usd"]


def test_robust_table_output_names_the_cost_of_certainty(run_cli):
    code, out, _ = run_cli("plan", str(SMALL), "--robust", "--quiet")
    assert code == 0
    assert "Robust plan" in out and "more" in out and "nominal -> robust" in out
