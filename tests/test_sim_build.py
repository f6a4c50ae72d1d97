"""The simulator's setup built from a plan: the rate table follows the plan's workloads whatever table
the caller passes, and only services carry a peak factor (training runs at its plan's pace, factor 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyfleet.plan import plan
from polyfleet.scenario import load_scenario
from polyfleet.sim.build import setup_from_plan

SMALL = Path(__file__).parent / "data" / "scenarios" / "small-fleet.yaml"


@pytest.fixture(scope="module")
def planned():
    scn = load_scenario(SMALL)
    return scn, plan(scn)


def test_the_table_is_aligned_with_the_plans_workloads(planned):
    """A table given with its workloads in reverse order (a calibrated copy, say) is re-indexed to the
    plan's order, so row w of every array in the setup is the plan's workload w."""
    scn, res = planned
    full = scn.rate_table()
    backwards = full.subset(workloads=list(reversed(full.workloads)))
    setup = setup_from_plan(scn, res, table=backwards)
    assert setup.table.workloads == tuple(res.inputs.workloads)
    assert setup.table.kinds == tuple(res.inputs.kinds)
    assert setup.table.offerings == tuple(setup.schedule.pools)


def test_peak_factor_is_the_services_and_one_for_training(planned):
    """chat is sized for 1.5 x its mean, code for 1 (the default); finetune trains at its plan's pace."""
    scn, res = planned
    setup = setup_from_plan(scn, res)
    assert setup.kinds == ("inference", "inference", "training")
    assert setup.peak_factor.tolist() == [1.5, 1.0, 1.0]
    assert setup.training_chips.tolist() == [0.0, 0.0, 8.0]


def test_tenants_without_customers_have_no_customer_model(planned):
    """small-fleet's tenants give no customer counts: there is no customer model (None), not one customer
    per tenant."""
    scn, res = planned
    assert all(not t.customers for t in scn.tenants)
    assert setup_from_plan(scn, res).customers is None


def test_the_scenarios_faults_reach_the_simulation_unless_others_are_given(planned):
    """The setup simulates the scenario's own `faults:` (here a chip failure rate of 0.5 per chip-year,
    not the 0.17 default); faults passed in replace them."""
    from polyfleet.scenario.faults import ChipFailures, Faults
    scn, res = planned
    mine = Faults(chip_failures=ChipFailures(annual_failure_rate=0.5))
    scn = scn.model_copy(update={"faults": mine})
    assert setup_from_plan(scn, res).faults.chip_failures.annual_failure_rate == 0.5
    given = Faults(chip_failures=ChipFailures(annual_failure_rate=0.3))
    assert setup_from_plan(scn, res, faults=given).faults.chip_failures.annual_failure_rate == 0.3
