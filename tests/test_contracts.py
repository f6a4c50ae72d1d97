"""Contracts: take-or-pay, options, cancellation, candidates, terminal value, deals vs free choice.

Every case is one offering `a` (on-demand $2/chip-h unless stated), one workload served at 1 token
per chip-hour (so demand in tokens/h = chips needed) and 730 h a month: costs are derived by hand in
each test's comment.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet.errors import UserError
from polyfleet.plan import PlanOptions, check_invariants, deals_vs_free, plan, simple_inputs
from polyfleet.plan.contract_terms import ContractTerms, Tranche
from polyfleet.scenario import load_scenario

H = 730.0
QUICK = PlanOptions(binding=False, survivability=False)


def inputs(demand, months, od=2.0, **kw):
    return simple_inputs(offerings=[{"id": "a", "on_demand": od, **kw.pop("offering", {})}],
                         workloads=[{"id": "w", "demand": demand, "rates": {"a": 1.0}}], months=months, **kw)


def contract(deliveries, term, price, min_take=1.0, signed=True, options=(), cancel_from=None, fee=0.0):
    base = Tranche("base", np.asarray(deliveries, float), term, price)
    return ContractTerms("k", "p", "a", np.array([True]), signed, min_take, (base, *options), cancel_from, fee)


def solve(inp, *contracts, options=QUICK):
    r = plan(replace(inp, contracts=tuple(contracts)), options)
    assert r.feasible and r.solution.optimal
    return r


def test_min_take_declines_what_costs_more_than_it_serves():
    # 100 chips delivered in month 1 at $1.5, min take 50%; demand needs 40 chips for 3 months. Taking
    # the minimum (50 > 40) serves everything: 50 x 1.5 x 730 x 3 = $164,250; the other 50 are declined
    # (taking them would add $164,250 for nothing). Nothing on demand.
    r = solve(inputs(40.0, 3), contract([100, 0, 0], 3, 1.5, min_take=0.5))
    c = r.contracts[0]
    assert c["taken"][0] == pytest.approx(50) and c["held"] == pytest.approx([50, 50, 50])
    assert r.total_cost == pytest.approx(164_250)
    assert r.units.sum() == 0
    # with demand of 70 the plan takes 70 (between the minimum and the delivery): 70 x 1.5 x 2190 = $229,950
    r = solve(inputs(70.0, 3), contract([100, 0, 0], 3, 1.5, min_take=0.5))
    assert r.contracts[0]["taken"][0] == pytest.approx(70) and r.total_cost == pytest.approx(229_950)
    assert check_invariants(r.to_dict()) == []


def test_option_exercised_when_cheaper_and_valued_by_a_second_solve():
    # Demand 100 chips for 4 months. Base: 100 chips in month 1 at $1 for 2 months ($146,000). Option
    # decided in month 2: 100 chips in month 3 for 2 months. At $1.5 it beats on-demand ($2): with it
    # 146,000 + 100 x 1.5 x 730 x 2 = $365,000; without, 146,000 + 100 x 2 x 1460 = $438,000: worth $73,000.
    opt = Tranche("more", np.array([0, 0, 100.0, 0]), 2, 1.5, decision=1)
    r = solve(inputs(100.0, 4), contract([100, 0, 0, 0], 2, 1.0, options=(opt,)), options=PlanOptions(
        binding=False, survivability=False, option_values=True))
    o = r.contracts[0]["options"][0]
    assert o["exercised"] and o["value_usd"] == pytest.approx(73_000, rel=1e-6)
    assert r.total_cost == pytest.approx(365_000)
    # at $2.5 it is dearer than on-demand: not exercised, worth nothing; cost 146,000 + 292,000
    r = solve(inputs(100.0, 4), contract([100, 0, 0, 0], 2, 1.0, options=(replace(opt, usd_per_chip_hour=2.5),)))
    o = r.contracts[0]["options"][0]
    assert not o["exercised"] and o["value_usd"] == 0.0 and r.total_cost == pytest.approx(438_000)


def test_cancellation_pays_the_fee_once_when_it_saves_more():
    # 100 chips for 4 months at $1 ($292,000) but demand ends after month 2. Cancelling from month 3
    # saves 2 months (100 x 730 x 2 = $146,000): worth it for a $50,000 fee (total 146,000 + 50,000),
    # not for $200,000 (total $292,000).
    demand = [100.0, 100.0, 0.0, 0.0]
    r = solve(inputs(demand, 4), contract([100, 0, 0, 0], 4, 1.0, cancel_from=2, fee=50_000))
    c = r.contracts[0]
    assert c["cancelled"] and c["held"] == pytest.approx([100, 100, 0, 0])
    assert r.total_cost == pytest.approx(196_000) and r.month_cost[2] == pytest.approx(50_000)
    assert check_invariants(r.to_dict()) == []
    r = solve(inputs(demand, 4), contract([100, 0, 0, 0], 4, 1.0, cancel_from=2, fee=200_000))
    assert not r.contracts[0]["cancelled"] and r.total_cost == pytest.approx(292_000)


def test_cancellation_ends_the_obligation_after_the_horizon():
    # 100 chips at $1 for 6 months, horizon 3 months, no demand after month 1: held 3 months in the
    # horizon, 3 more owed after it ($219,000). Terms counted in full: cancelling from month 2 for $10,000
    # pays 1 month ($73,000) + fee and owes nothing after.
    inp = inputs([100.0, 0.0, 0.0], 3, commitment_tail="full")
    r = solve(inp, contract([100, 0, 0], 6, 1.0, cancel_from=1, fee=10_000))
    c = r.contracts[0]
    assert c["cancelled"] and c["owed_after_horizon_usd"] == 0.0
    assert r.total_cost == pytest.approx(83_000)
    r = solve(replace(inp, commitment_tail="prorated"), contract([100, 0, 0], 6, 1.0))
    assert r.contracts[0]["owed_after_horizon_usd"] == pytest.approx(219_000)
    assert r.obligation_after_usd == pytest.approx(219_000)


def test_candidate_signed_only_when_it_pays():
    # Demand 100 chips for 3 months: on-demand costs 100 x 2 x 2190 = $438,000. A candidate of 120 chips at
    # $1.5, all taken: 120 x 1.5 x 2190 = $394,200 < 438,000 -> signed. 150 chips: $492,750 -> not signed
    # (cheaper per chip, but take-or-pay on 50 idle chips).
    r = solve(inputs(100.0, 3), contract([120, 0, 0], 3, 1.5, signed=False))
    assert r.contracts[0]["signed_in_plan"] and r.total_cost == pytest.approx(394_200)
    r = solve(inputs(100.0, 3), contract([150, 0, 0], 3, 1.5, signed=False))
    assert not r.contracts[0]["signed_in_plan"] and r.total_cost == pytest.approx(438_000)
    assert r.contracts[0]["taken"] == pytest.approx([0, 0, 0])


@pytest.mark.parametrize("share, term", [(0.5, "commit_1y"), (0.8, "commit_3y")])
def test_terminal_value_moves_the_choice_between_1y_and_3y(share, term):
    # 1 chip for 12 months; 1y at $1.0, 3y at $0.6 (on-demand $5). Per 730 h: 1y costs 12 x 1.0 = 12;
    # 3y costs 0.6 x (12 + 24 (1 - share)). Break-even: 12 + 24 (1 - v) = 20, v = 2/3. At 0.5: 14.4 > 12
    # -> 1y; at 0.8: 10.08 < 12 -> 3y. (Prorated, 3y would cost 7.2 and always win.)
    inp = inputs(1.0, 12, od=5.0, offering={"commit_1y": 1.0, "commit_3y": 0.6},
                 commitment_tail="terminal_value", terminal_value_share=share)
    r = solve(inp)
    k = ["on_demand", "spot", "commit_1y", "commit_3y"].index(term)
    assert r.starts[0, k, 0] == 1 and r.starts.sum() == 1
    want = 12.0 if term == "commit_1y" else 0.6 * (12 + 24 * (1 - share))
    assert r.solution.objective == pytest.approx(want * H)
    totals = r.to_dict()["totals"]
    assert totals["accounting"] == "terminal_value" and f"{1 - share:.0%} of its price" in totals["accounting_note"]
    # the obligation after the horizon is reported in full either way: 3y -> 24 x 0.6 x 730
    assert totals["commitments_after_horizon_usd"] == pytest.approx(0.0 if term == "commit_1y" else 24 * 0.6 * H)


def test_deals_as_signed_next_to_free_choice():
    # A signed contract of 100 chips at $3 for 3 months ($657,000) against on-demand at $2 ($438,000):
    # the free choice does not sign it, and the signed deal costs $219,000 more.
    inp = replace(inputs(100.0, 3), contracts=(contract([100, 0, 0], 3, 3.0),))
    dl = deals_vs_free(inp, QUICK)
    d = dl.to_dict()
    assert d["as_signed"]["objective_usd"] == pytest.approx(657_000)
    assert d["free_choice"]["objective_usd"] == pytest.approx(438_000)
    assert d["signed_deals_cost_more_usd"] == pytest.approx(219_000)
    assert dl.rows()[0]["signed"] is True and dl.rows()[0]["free_signs"] is False


def test_contract_chips_count_in_limits_and_restrict_keeps_take_or_pay():
    # Power: 0.001 MW per chip, limit 0.08 MW -> at most 80 chips; a signed 100-chip contract cannot fit.
    from polyfleet.plan.inputs import PowerLimit
    inp = inputs(50.0, 2, offering={"mw_per_chip": 0.001})
    inp = replace(inp, power=(PowerLimit("site", np.array([True]), np.full(2, 0.08)),))
    r = plan(replace(inp, contracts=(contract([100, 0], 2, 1.0),)), QUICK)
    assert not r.feasible
    # dropping the contract's only offering keeps its minimum payments: 0.5 x 100 x 1 x 730 x 2 = $73,000
    full = replace(inputs(50.0, 2), contracts=(contract([100, 0], 2, 1.0, min_take=0.5),))
    sub = full.restrict(np.array([False]), "none")
    assert sub.contracts == () and sub.sunk.sum() == pytest.approx(73_000)


@settings(max_examples=12, deadline=None)
@given(d=st.lists(st.integers(0, 200), min_size=4, max_size=4), term=st.integers(1, 4),
       mt=st.sampled_from([0.0, 0.3, 0.7, 1.0]), price=st.sampled_from([0.5, 1.5, 2.5]),
       demand=st.integers(0, 150))
def test_property_taken_within_bounds_and_held_is_the_last_term(d, term, mt, price, demand):
    r = solve(inputs(float(demand), 4), contract(d, term, price, min_take=mt))
    c = r.contracts[0]
    s, g, dd = np.array(c["taken"]), np.array(c["held"]), np.array(d, float)
    assert np.all(s >= mt * dd - 1e-6) and np.all(s <= dd + 1e-6)
    band = np.array([s[max(0, t - term + 1):t + 1].sum() for t in range(4)])
    assert g == pytest.approx(band, abs=1e-6)
    assert check_invariants(r.to_dict()) == []


def test_check_invariants_catches_a_broken_contract():
    r = solve(inputs(40.0, 3), contract([100, 0, 0], 3, 1.5, min_take=0.5))
    doc = json.loads(json.dumps(r.to_dict()))
    doc["contracts"][0]["tranches"][0]["taken"][0] = 30.0          # below the 50 that must be taken
    doc["contracts"][0]["tranches"][0]["held"][2] = 10.0
    probs = check_invariants(doc)
    assert any("taken in m1" in p for p in probs) and any("held in m3" in p for p in probs)


# ---- the scenario section ---------------------------------------------------------------------------------------
BASE = """
horizon: {start: 2026-01, months: 6}
offerings:
  include:
    - {provider: gcp, accelerator: tpu-v6e, region: gcp/us-east1}
workloads:
  services:
    - {id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tpot_s: 0.03, tokens_per_s: 2.0e5}
contracts:
  - id: tpus
    counterparty: gcp
    accelerator: tpu-v6e
    region: gcp/us-east1
    source: {ref: "https://example.com/deal", status: official, date: 2026-01-05}
    deliveries: {points: {2026-01: 0, 2026-03: 400}}
    term_months: 12
    usd_per_chip_hour: 1.5
    min_take: 0.5
"""


def load(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scenario(p)


def error(tmp_path, text) -> str:
    with pytest.raises(UserError) as info:
        load(tmp_path, text)
    return str(info.value)


def test_scenario_contracts_plan_and_check(tmp_path):
    scn = load(tmp_path, BASE + "    options: [{id: more, decision_month: 2026-03, deliveries: "
               "{points: {2026-03: 0, 2026-05: 200}}, usd_per_chip_hour: 1.4, term_months: 6}]\n"
               "    cancellation: {from_month: 2026-05, fee_months: 2}\n")
    from polyfleet.plan.from_scenario import inputs_from_scenario
    inp = inputs_from_scenario(scn)
    c = inp.contracts[0]
    # cumulative 0 -> 400 linear over two months: 200 new chips in Feb and in Mar
    assert c.tranches[0].deliveries == pytest.approx([0, 200, 200, 0, 0, 0])
    assert c.tranches[1].decision == 2 and c.tranches[1].deliveries == pytest.approx([0, 0, 0, 100, 100, 0])
    # fee: 2 months of the 400 chips held in May at $1.5 x 730 h
    assert c.cancel_fee_usd == pytest.approx(2 * 400 * 1.5 * scn.horizon.hours_per_month)
    r = plan(inp, QUICK)
    assert r.feasible and check_invariants(r.to_dict()) == []
    assert r.contracts[0]["source"]["ref"] == "https://example.com/deal"


@pytest.mark.parametrize("patch, words", [
    (("counterparty: gcp", "counterparty: gcpp"), ["contracts[0].counterparty", "gcp"]),
    (("2026-03: 400}", "2026-03: 400, 2026-05: 100}"), ["cumulative deliveries fall", "contracts[0].deliveries"]),
    (("min_take: 0.5", "min_take: 1.5"), ["min_take", "1"]),
    (("status: official", "status: rumour"), ["status", "official"]),
    (("accelerator: tpu-v6e\n    region", "region"), ["give accelerator"]),
    (("region: gcp/us-east1\n    source", "region: gcp/us-central1\n    source"), ["no offering the planner may use"]),
])
def test_bad_contract_fields_are_one_clear_message(tmp_path, patch, words):
    text = textwrap.dedent(BASE)
    assert patch[0] in text
    msg = error(tmp_path, text.replace(patch[0], patch[1], 1))
    assert "s.yaml:" in msg
    for w in words:
        assert w in msg


def test_bad_option_and_cancellation_months(tmp_path):
    opt = ("    options: [{id: more, decision_month: 2026-04, deliveries: {points: {2026-03: 0, 2026-04: 50}}, "
           "usd_per_chip_hour: 1.4, term_months: 6}]\n")
    msg = error(tmp_path, BASE + opt)
    assert "by its decision month" in msg and "contracts[0].options[0].deliveries" in msg
    msg = error(tmp_path, BASE + opt.replace("2026-04, deliv", "2027-04, deliv"))
    assert "outside the horizon" in msg and "2026-01 .. 2026-06" in msg
    msg = error(tmp_path, BASE + "    cancellation: {from_month: 2026-05, fee_usd: 1, fee_months: 2}\n")
    assert "exactly one of fee_usd or fee_months" in msg


def test_frontier_contracts_carry_sources():
    scn = load_scenario("frontier-2026")
    assert {c.id for c in scn.contracts} >= {"google-tpu", "aws-rainier", "azure-nvidia"}
    for c in scn.contracts:
        assert c.source.ref.startswith("https://") and c.source.date is not None
    assert scn.money.commitment_tail == "terminal_value"


def test_plan_deals_cli_and_json(run_cli, tmp_path):
    p = tmp_path / "deals.yaml"
    p.write_text(textwrap.dedent(BASE), encoding="utf-8")
    code, out, _ = run_cli("plan", str(p), "--deals", "--format", "json", "-q")
    assert code == 0
    doc = json.loads(out)
    assert check_invariants(doc) == []
    d = doc["deals"]
    # the free choice can only be as cheap or cheaper than holding the deal as signed (within the gaps)
    assert d["signed_deals_cost_more_usd"] >= -0.01 * d["as_signed"]["objective_usd"]
    assert doc["totals"]["accounting"] == "prorated" and doc["contracts"][0]["id"] == "tpus"
    assert any(n.startswith("contract tpus (gcp") for n in doc["notes"])
    code, out, _ = run_cli("plan", str(p), "--deals", "-q")
    assert code == 0 and "Contracts" in out and "The deals as signed next to the optimiser's choice" in out


def test_contract_payments_count_against_the_budget():
    # Demand 100 chips, 2 months; a candidate of 100 chips at $1 (100 x 730 = $73,000 a month) against
    # on-demand at $2 ($146,000 a month). A budget of $100,000 a month allows only the contract; with
    # the contract made dearer ($1.5 -> $109,500 a month) nothing fits: no plan.
    inp = replace(inputs(100.0, 2), budget=np.full(2, 100_000.0))
    r = solve(inp, contract([100, 0], 2, 1.0, signed=False))
    assert r.contracts[0]["signed_in_plan"] and r.total_cost == pytest.approx(146_000)
    r = plan(replace(inp, contracts=(contract([100, 0], 2, 1.5, signed=False),)), QUICK)
    assert not r.feasible


def test_enumerated_contract_choices_match_highs_alone(monkeypatch):
    # Two candidates and an option: the enumeration (deal_search) and HiGHS on the whole MILP agree on the
    # cost (both within the 0.5% gap) and the enumeration says how many choices it solved.
    import sys
    opt = Tranche("more", np.array([0, 0, 60.0, 0]), 2, 1.2, decision=1)
    cs = (contract([80, 0, 0, 0], 4, 1.5, signed=False, options=(opt,)),
          replace(contract([0, 50, 0, 0], 3, 1.8, min_take=0.5, signed=False), id="k2"))
    inp = inputs([100.0, 120.0, 150.0, 150.0], 4)
    r = solve(inp, *cs)
    assert "contract binaries enumerated" in r.solution.start
    monkeypatch.setattr(sys.modules["polyfleet.plan.heuristic"], "MAX_ENUMERATED", 0)
    plain = solve(inp, *cs)
    assert "enumerated" not in plain.solution.start
    assert r.solution.objective == pytest.approx(plain.solution.objective, rel=0.01)


def test_the_simulator_plans_to_pay_what_the_plan_pays_contracts_included(tmp_path):
    """The simulator's planned cost is the plan's total: contract payments (here most of the cost) are
    in it, not only the offerings' own terms; with no faults the actual cost is the same."""
    from polyfleet.scenario.faults import Faults
    from polyfleet.sim.build import setup_from_plan
    from polyfleet.sim.costs import run_costs

    scn = load(tmp_path, BASE)
    r = plan(scn, QUICK)
    assert r.contract_cost is not None and r.contract_cost.sum() > 0.5 * r.total_cost
    setup = setup_from_plan(scn, r, faults=Faults())
    planned, actual, _ = run_costs(setup, [])
    assert planned == pytest.approx(r.total_cost, rel=1e-9)
    assert actual == pytest.approx(planned, rel=1e-12)


def test_a_cancelled_contract_holds_nothing_after_it_ends():
    # 100 chips at $1 for 4 months, cancellable from month 3 for $10,000; demand falls to 50 chips in
    # months 3-4 and on-demand costs $1.2. Keeping it: $292,000. Cancelling: months 1-2 ($146,000), the
    # fee and 50 on-demand chips for 2 months (50 x 1.2 x 1,460 = $87,600): $243,600. A cancelled contract
    # releases its chips: keeping 50 of them at $1 after cancelling (which would cost $229,000) is not allowed.
    r = solve(inputs([100.0, 100.0, 50.0, 50.0], 4, od=1.2), contract([100, 0, 0, 0], 4, 1.0, cancel_from=2,
                                                                      fee=10_000))
    c = r.contracts[0]
    assert c["cancelled"] and c["held"] == pytest.approx([100, 100, 0, 0])
    assert r.total_cost == pytest.approx(243_600)
    assert r.units.sum(axis=(0, 1)).tolist() == pytest.approx([0, 0, 50, 50])


def test_the_simulator_counts_contract_chips_as_firm_and_committed():
    """Min take 50 of 100 delivered, demand 40: the plan holds 50 contract chips and nothing else, and
    the simulated fleet has those 50 as firm and committed chips of the offering's family."""
    from polyfleet.sim.schedule import FleetSchedule
    r = solve(inputs(40.0, 3), contract([100, 0, 0], 3, 1.5, min_take=0.5))
    sched = FleetSchedule.from_plan(r)
    assert sched.committed[0].tolist() == pytest.approx([50, 50, 50])
    assert sched.firm[0].tolist() == pytest.approx([50, 50, 50])
    assert sched.mask("family", r.inputs.facts.family[0]).tolist() == [True]


def test_check_invariants_holds_a_supply_limit_only_where_it_covers_every_term():
    """100 chips held against a limit of 60: a limit on every term (4) is exceeded; one on some terms
    (on-demand only) cannot be judged from the total held and is not; one with no cap is skipped."""
    def doc(limit):
        return {"feasible": True, "months": ["2026-01"], "demand": [], "contracts": [], "allocation": [],
                "plan": [{"offering": "gcp/tpu", "month": "2026-01", "chips": 100.0, "mw": 0.1}],
                "policy": {"power_limits": [], "caps": [], "share_measure": "chips", "supply_limits": [limit]}}
    every = {"name": "tpu", "offerings": ["gcp/tpu"], "max_chips": [60.0],
             "terms": ["on_demand", "spot", "commit_1y", "commit_3y"]}
    assert check_invariants(doc(every)) == ["supply limit tpu exceeded in 2026-01: 100 > 60"]
    assert check_invariants(doc({**every, "terms": ["on_demand"]})) == []
    assert check_invariants(doc({**every, "max_chips": None})) == []
