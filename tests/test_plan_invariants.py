"""A plan's JSON document checked against its own invariants: demand met, caps and power respected,
survivability as required - on a small scenario with every kind of limit, and on frontier-2026."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from polyfleet.plan import PlanOptions, SolveOptions, check_invariants, plan
from polyfleet.report.tables import jsonable
from polyfleet.scenario import load_scenario

SCENARIO = """
name: limits
horizon: {start: 2026-01, months: 6}
offerings:
  include:
    - {provider: gcp, accelerator: tpu-v6e, region: [gcp/us-east1, gcp/us-central1]}
    - {provider: aws, accelerator: h200, region: aws/us-east-1}
    - {provider: nebius, accelerator: h200}
workloads:
  services:
    - {id: chat, model: llama-3.1-70b, dtype: fp8, input_tokens: 2000, output_tokens: 400, tpot_s: 0.04,
       tokens_per_s: {start: 2.0e5, monthly_growth: 0.1}}
  training:
    - {id: tune, model: llama-3.1-8b, chips: 64, run: {tokens: 5.0e11, start: 2026-02, deadline: 2026-05}}
tenants:
  - {id: enterprise, share: 0.5, survive: 0.8}
supply:
  spot_max_chips: 0
  rules:
    - {id: tpu-supply, vendor: google, max_chips: 900, max_new_chips_per_month: 400}
power:
  pue: 1.2
  total_mw: 3.0
  limits:
    - {id: nebius-site, provider: nebius, mw: 0.8}
risk:
  max_share: {vendor: 0.7}
  auto_failures: [provider, vendor_supply]
  vendor_supply_months: 2
"""


@pytest.fixture(scope="module")
def limits_scn(tmp_path_factory):
    path = tmp_path_factory.mktemp("scn") / "limits.yaml"
    path.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    return load_scenario(path)


@pytest.fixture(scope="module")
def limits_doc(limits_scn):
    res = plan(limits_scn, PlanOptions(solve=SolveOptions(mip_rel_gap=1e-3)))
    return res, json.loads(json.dumps(jsonable(res.to_dict())))


def test_small_scenario_json_keeps_its_invariants(limits_doc):
    res, doc = limits_doc
    assert doc["feasible"] and doc["solver"]["optimal"] and doc["solver"]["status"] == "Optimal"
    assert check_invariants(doc) == []
    assert doc["policy"]["caps"] and doc["policy"]["power_limits"] and doc["policy"]["supply_limits"]


def test_windowed_training_gets_its_tokens(limits_doc):
    res, doc = limits_doc
    tune = [d for d in doc["demand"] if d["workload"] == "tune"]
    served = sum(d["served_tokens_per_s"] for d in tune) * 3600 * 730
    assert served >= 5.0e11 * (1 - 1e-6)
    assert all(d["served_tokens_per_s"] == pytest.approx(0, abs=1e-6) for d in tune
               if d["month"] in ("2026-01", "2026-06"))


def test_costs_add_up(limits_doc, tmp_path):
    """Each plan row's cost recomputed from the catalog, not from the plan's arrays: units held on each
    term x chips per unit x the catalog's price per chip-hour (on-demand x (1 - the scenario's commitment
    discount) where the catalog publishes no commitment price) x 730 hours. The months and the total are
    sums of those rows, and the solver's objective (HiGHS's own sum of the LP's coefficients) agrees."""
    from polyfleet.catalog import load_catalog
    res, doc = limits_doc
    cat = load_catalog()
    path = tmp_path / "limits.yaml"
    path.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    discount = load_scenario(path).money.commit_discount
    by_month: dict[str, float] = {}
    for row in doc["plan"]:
        off = cat.offering(row["offering"])
        od = off.price("on_demand").value
        cost = 0.0
        for term in ("on_demand", "spot", "commit_1y", "commit_3y"):
            price = off.price(term).value
            if price is None:
                price = od * (1 - discount[term])
            cost += row[f"{term}_units"] * off.unit_chips * price * 730
        assert row["cost_usd"] == pytest.approx(cost, rel=1e-9), row
        by_month[row["month"]] = by_month.get(row["month"], 0.0) + cost
    expected = [by_month.get(m, 0.0) for m in doc["months"]]
    assert [m["cost_usd"] for m in doc["months_summary"]] == pytest.approx(expected)
    assert doc["totals"]["cost_usd"] == pytest.approx(sum(by_month.values()), rel=1e-9)
    # with prorated commitments and no porting, the objective is what is paid inside the horizon
    assert doc["solver"]["objective_usd"] == pytest.approx(sum(by_month.values()), rel=1e-6)


def test_the_document_states_its_limits_assumptions_and_status(limits_doc, tmp_path):
    """What the JSON says about its inputs, against the scenario text above: tpu-supply holds Google's
    two TPU offerings to 900 chips and 400 new chips a month on every term; each commitment price the
    catalog lacks is on-demand x (1 - the scenario's discount), for as many offerings as lack it; the
    status line carries the solver's status and objective."""
    from polyfleet.catalog import load_catalog
    res, doc = limits_doc
    (rule,) = doc["policy"]["supply_limits"]
    months = len(doc["months"])
    assert rule["name"] == "tpu-supply"
    assert sorted(rule["offerings"]) == sorted(o for o in res.inputs.offerings if o.startswith("gcp/tpu-v6e"))
    assert rule["terms"] == ["on_demand", "spot", "commit_1y", "commit_3y"]
    assert rule["max_chips"] == [900.0] * months and rule["max_new_chips_per_month"] == [400.0] * months
    path = tmp_path / "limits.yaml"
    path.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    discount = load_scenario(path).money.commit_discount
    cat = load_catalog()
    for term in ("commit_1y", "commit_3y"):
        lacking = sum(cat.offering(o).price(term).value is None for o in res.inputs.offerings)
        assert lacking > 0
        line = f"{term} price = on-demand x {1 - discount[term]:.2f} for {lacking} offerings"
        assert any(a.startswith(line) for a in doc["assumptions"]), doc["assumptions"]
    assert doc["status_line"].startswith("HiGHS status: Optimal")
    assert doc["solver"]["nodes"] > 0                      # whole units: HiGHS branched to close the gap
    assert f"${doc['solver']['objective_usd']:,.0f}" in doc["status_line"]


def test_invariant_checker_catches_violations(limits_doc):
    _, doc = limits_doc
    bad = json.loads(json.dumps(doc))
    bad["demand"][0]["served_tokens_per_s"] = 0.0
    bad["policy"]["power_limits"][0]["mw"] = [0.0] * len(bad["months"])
    bad["survivability"]["rows"][1]["enterprise"] = 0.1
    problems = check_invariants(bad)
    assert any("demand of chat" in p for p in problems)
    assert any("power limit" in p for p in problems)
    assert any("enterprise keeps only" in p for p in problems)


def test_frontier_2026_plan_is_optimal_and_keeps_its_invariants():
    res = plan("frontier-2026")
    doc = json.loads(json.dumps(jsonable(res.to_dict())))
    assert res.solution.optimal and res.solution.mip_gap <= 0.005
    assert check_invariants(doc) == []
    mix = res.mix_by_family(-1)
    assert set(mix) == {"tpu", "trainium", "gpu"} and all(v["chips"] > 0 for v in mix.values())
    # the fleet passes 1 GW in 2026 and holds hundreds of thousands of TPUs
    mw_2026 = np.nansum(res.mw, axis=0)[: 12]
    assert mw_2026.max() > 1000
    fams, chips = res.group_totals("family")
    assert chips[fams.index("tpu")].max() > 200_000
    surv = res.survivability
    assert surv.meets().all()
    assert res.binding and res.inputs.assumptions


def test_auto_failure_sets_name_each_provider_and_each_vendors_supply(limits_scn):
    """`auto_failures: [provider, vendor_supply]` with vendor_supply_months 2: one loss per provider
    (keep 0 on its offerings) and one supply stop per vendor (keep all, no new chips of its offerings for
    2 months), each with its id and label."""
    from polyfleet.plan.failures import contingencies
    from polyfleet.plan.from_scenario import inputs_from_scenario
    facts = inputs_from_scenario(limits_scn).facts
    sets, _ = contingencies(limits_scn, facts)
    by_id = {c.id: c for c in sets}
    vendors = sorted(set(facts.vendor))
    assert {f"supply:{v}" for v in vendors} <= set(by_id)
    assert {f"provider:{p}" for p in set(facts.provider)} <= set(by_id)
    for v in vendors:
        c = by_id[f"supply:{v}"]
        assert c.kind == "supply" and c.delay == 2 and c.label == f"{v} delivers nothing new for 2 months"
        assert (c.keep == 1).all() and c.delayed.tolist() == [x == v for x in facts.vendor]
