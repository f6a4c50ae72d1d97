"""Power sites: energisation dates, lead times and the chips a site is built for.

Hand cases: two offerings that serve the same workload at the same rate; A ($1/chip-h, 1 kW/chip)
lives on a site, B ($2/chip-h) is rented where power is the provider's. Demand needs 100 chips every
month (1,000 tokens/h at 10 tokens/chip-h); the site holds 60 kW = 60 chips of A.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from polyfleet.errors import UserError
from polyfleet.plan import PlanOptions, plan
from polyfleet.plan.api import check_invariants
from polyfleet.plan.inputs import Site, simple_inputs
from polyfleet.report.tables import jsonable
from polyfleet.scenario import load_scenario

HOURS = 730.0
OPTS = PlanOptions(binding=False, survivability=False)


def _inputs(site: Site, months: int = 4):
    return simple_inputs(
        offerings=[{"id": "A", "on_demand": 1.0, "mw_per_chip": 0.001},
                   {"id": "B", "on_demand": 2.0, "mw_per_chip": 0.001}],
        workloads=[{"id": "w", "demand": 1000.0, "rates": {"A": 10.0, "B": 10.0}}], months=months,
        sites=(site,))


def _site(**kw) -> Site:
    base = {"name": "s", "mask": np.array([True, False]), "mw": np.full(4, 0.06)}
    return Site(**{**base, **kw})


def test_a_site_under_way_holds_chips_only_from_its_energisation():
    """Energised in month 3 of 4: months 1-2 run 100 chips of B ($146,000 each = 100 x $2 x 730 h),
    months 3-4 run 60 of A and 40 of B ($43,800 + $58,400 = $102,200 each): $496,400."""
    res = plan(_inputs(_site(first=2)), OPTS)
    assert res.solution.optimal
    assert res.total_cost == pytest.approx(2 * 146_000 + 2 * 102_200, rel=1e-9)
    assert res.chips[0].tolist() == [0, 0, 60, 60]
    assert res.sites[0]["how"] == "under way" and res.sites[0]["energised"] == "m3"


def test_the_plan_orders_a_site_when_its_power_is_worth_the_lead_time():
    """Lead time 1 month at $100,000 per MW-month ($6,000 a month for 60 kW): a month on the site saves
    60 chips x $1 x 730 h = $43,800, so ordering in month 1 (energised months 2-4) saves
    3 x (43,800 - 6,000) = $113,400 on the $584,000 all-B plan: $470,600."""
    res = plan(_inputs(_site(lead=1, usd_per_mw_month=100_000.0)), OPTS)
    assert res.solution.optimal
    assert res.total_cost == pytest.approx(584_000 - 113_400, rel=1e-9)
    assert res.sites[0]["how"] == "ordered m1" and res.sites[0]["energised"] == "m2"
    assert res.site_cost.tolist() == pytest.approx([0, 6_000, 6_000, 6_000])


def test_a_site_dearer_than_what_it_saves_is_not_ordered():
    """At $1,000,000 per MW-month the site costs $60,000 a month against $43,800 saved: never ordered."""
    res = plan(_inputs(_site(lead=1, usd_per_mw_month=1_000_000.0)), OPTS)
    assert res.total_cost == pytest.approx(584_000, rel=1e-9)
    assert res.sites[0]["how"] == "not ordered"
    assert res.chips[0].sum() == 0


def test_a_lead_time_past_the_horizon_leaves_the_site_out():
    """Ordered in month 1 with a 4-month lead time it would be energised after the 4-month horizon."""
    res = plan(_inputs(_site(lead=4, usd_per_mw_month=1.0)), OPTS)
    assert res.total_cost == pytest.approx(584_000, rel=1e-9)
    assert res.sites[0]["energised"] == "-"


@settings(max_examples=15, deadline=None)
@given(first=st.integers(-2, 5), kw=st.floats(10, 150), lead=st.one_of(st.none(), st.integers(0, 3)))
def test_sites_never_supply_more_than_they_hold_and_the_check_agrees(first, kw, lead):
    """Whatever the energisation month, size or lead time, the plan draws no more than a site holds,
    nothing before it is energised, and check_invariants (which recomputes MW from the plan rows)
    finds nothing wrong."""
    site = _site(mw=np.full(4, kw / 1000), first=None if lead is not None else first, lead=lead,
                 usd_per_mw_month=50_000.0 if lead is not None else 0.0)
    res = plan(_inputs(site), OPTS)
    assert res.feasible
    doc = json.loads(json.dumps(jsonable(res.to_dict())))
    assert check_invariants(doc) == []
    drawn = np.array(doc["sites"][0]["mw_drawn"])
    assert (drawn <= kw / 1000 + 1e-9).all()
    if lead is None:
        assert (drawn[: max(first, 0)] <= 1e-12).all()


def test_check_invariants_catches_a_site_over_its_power():
    res = plan(_inputs(_site(first=0)), OPTS)
    doc = json.loads(json.dumps(jsonable(res.to_dict())))
    doc["sites"][0]["mw"] = [0.03] * 4
    assert any("site s supplies" in p for p in check_invariants(doc))


SCENARIO = """
name: sites
horizon: {start: 2026-01, months: 3}
offerings:
  include: [{offering: ["gcp/tpu-v6e-8/us-east5"]}]
workloads:
  services:
    - {id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tpot_s: 0.05,
       runtimes: [jax], tokens_per_s: 1000}
power:
  sites:
"""


def _error(tmp_path, site: str) -> UserError:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO + "    - " + site + "\n")
    with pytest.raises(UserError) as info:
        load_scenario(str(path))
    return info.value


def test_a_site_needs_a_date_or_a_lead_time_but_not_both(tmp_path):
    err = _error(tmp_path, "{id: a, region: gcp/us-east5, mw: 10, energised: 2026-01, lead_time_months: 3}")
    assert "either energised" in str(err) and "s.yaml" in str(err)
    err = _error(tmp_path, "{id: a, region: gcp/us-east5, mw: 10}")
    assert "either energised" in str(err)


def test_a_site_in_an_unknown_region_names_the_field(tmp_path):
    err = _error(tmp_path, "{id: a, region: gcp/mars-1, mw: 10, energised: 2026-01}")
    assert "power.sites[0].region" in str(err) or "power.sites.0.region" in str(err)


def test_what_a_site_under_way_costs_counts_against_the_budget():
    """A 60 kW site under way at $1,000,000 per MW-month costs $60,000 a month whatever the plan does;
    the best month is then 60 A + 40 B = $102,200 + $60,000 = $162,200. A $170,000 budget holds
    ($648,800 over 4 months); a $150,000 one cannot (all B would be $146,000 + $60,000)."""
    site = _site(first=0, usd_per_mw_month=1_000_000.0)
    ok = plan(replace(_inputs(site), budget=np.full(4, 170_000.0)), OPTS)
    assert ok.total_cost == pytest.approx(4 * 162_200, rel=1e-9)
    doc = json.loads(json.dumps(jsonable(ok.to_dict())))
    assert check_invariants(doc) == []
    doc["policy"]["budget_usd"] = [160_000.0] * 4
    assert sum("budget exceeded" in p for p in check_invariants(doc)) == 4
    tight = plan(replace(_inputs(site), budget=np.full(4, 150_000.0)), PlanOptions(binding=False, survivability=False,
                                                                                 diagnose=False))
    assert not tight.feasible


def test_check_invariants_catches_work_on_chips_not_held():
    """The allocation rows of plan.json are audited against the chips each offering holds."""
    res = plan(_inputs(_site(first=0)), OPTS)
    doc = json.loads(json.dumps(jsonable(res.to_dict())))
    assert check_invariants(doc) == []
    assert sum(a["chips"] for a in doc["allocation"] if a["month"] == "m1") == pytest.approx(100)
    doc["allocation"][0]["chips"] += 5
    assert any("serves" in p and "but holds" in p for p in check_invariants(doc))


def test_an_infeasible_plan_says_how_much_more_power_would_serve_every_demand():
    """Only A (on the site) can serve; the site holds 60 kW from month 2. The least relative violation
    drops demand (month 1: all 100 chips short; months 2-4: 40 chips short); the remedy with every
    demand held is the site's MW: month 1 needs 100 kW (0.1 MW) before it is energised, months 2-4
    40 kW more than its 60 kW, so 'up to 0.1 MW' in m1..m4."""
    inp = simple_inputs(offerings=[{"id": "A", "on_demand": 1.0, "mw_per_chip": 0.001}],
                        workloads=[{"id": "w", "demand": 1000.0, "rates": {"A": 10.0}}], months=4,
                        sites=(Site("tiny", np.array([True]), np.full(4, 0.06), first=1),))
    res = plan(inp, PlanOptions(binding=False, survivability=False))
    assert not res.feasible
    lines = res.diagnosis.lines()
    assert any(line.startswith("demand of w cannot be met") for line in lines)
    remedy = res.diagnosis.remedies
    assert [r.kind for r in remedy] == ["site"]
    assert remedy[0].worst_amount == pytest.approx(0.1, rel=1e-6)
    assert remedy[0].months == (0, 1, 2, 3)
    assert "to serve every demand in full instead: power site 'tiny' would have to rise by up to 0.1 MW" in lines[-1]


def test_a_budget_too_small_says_by_how_much_it_would_have_to_rise():
    """The $150,000 budget of the case above: the cheapest month is $162,200 (60 A + 40 B and the site's
    $60,000), so serving every demand needs the budget $12,200 higher in every month."""
    site = _site(first=0, usd_per_mw_month=1_000_000.0)
    res = plan(replace(_inputs(site), budget=np.full(4, 150_000.0)), OPTS)
    assert not res.feasible
    (remedy,) = res.diagnosis.remedies
    assert remedy.kind == "budget" and remedy.months == (0, 1, 2, 3)
    assert remedy.worst_amount == pytest.approx(12_200, rel=1e-6)
    assert "the budget would have to rise by up to $12,200" in res.diagnosis.lines()[-1]
