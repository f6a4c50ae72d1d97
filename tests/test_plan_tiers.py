"""Tier shares and customer counts that move over the horizon.

Hand case: one workload needing 100 chips a month, two vendors a ($1/chip-h) and b ($1.5/chip-h), a
failure set for each (test_plan_hand's `two_vendors`); the protected tier must keep all its traffic (required 1.0) when either fails,
so each vendor alone must carry the tier's share s_t: b >= 100 s_t and a >= 100 s_t, a + b >= 100.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from polyfleet.errors import UserError
from polyfleet.plan import PlanOptions, SolveOptions, plan
from polyfleet.scenario import load_scenario

from test_plan_hand import lose, two_vendors

EXACT = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9, time_limit=30), binding=False)


def _tiered(shares: list[float]):
    inp = two_vendors(months=len(shares), contingencies=(lose(0), lose(1)))
    inp = replace(inp, classes=("gold", "rest"), required=np.array([1.0, 0.0]),
                  class_share=np.array([[np.mean(shares), 1 - np.mean(shares)]]),
                  loss_usd_per_mtok=np.full(2, 10.0))
    s = np.array(shares)
    return replace(inp, class_share_t=np.stack([s, 1 - s])[None, :, :])


def test_a_growing_tier_is_protected_month_by_month_not_on_average():
    """Shares 0.2 then 0.6: month 1 needs b = 20, a = 80 ($80 + $30 = $110 at 1 h a month); month 2
    needs a = b = 60 ($60 + $90 = $150): $260. Planning on the mean share 0.4 would hold a = 60,
    b = 40 ($120) both months ($240) and leave month 2's tier short: the series is what is planned."""
    r = plan(_tiered([0.2, 0.6]), EXACT)
    assert r.solution.optimal
    assert r.total_cost == pytest.approx(260.0)
    assert r.chips[:, 0].tolist() == [80, 20] and r.chips[:, 1].tolist() == [60, 60]
    flat = plan(replace(_tiered([0.2, 0.6]), class_share_t=None), EXACT)
    assert flat.total_cost == pytest.approx(240.0)
    worst = min(row["gold"] for row in r.survivability.rows()[1:])
    assert worst == pytest.approx(1.0)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.05, 0.95), min_size=2, max_size=4))
def test_each_vendor_carries_the_protected_share_of_its_month(shares):
    """Whatever the series, the cheapest plan holds b = 100 s_t and a = max(100 - b, b) (a is cheaper):
    cost sum_t (a_t + 1.5 b_t) at one hour a month, with whole chips."""
    r = plan(_tiered(shares), EXACT)
    s = np.array(shares)
    b = np.ceil(100 * s - 1e-9)
    a = np.maximum(100 - b, np.ceil(100 * s - 1e-9))
    assert r.total_cost == pytest.approx(float((a + 1.5 * b).sum()), abs=1e-6)


SCENARIO = """
name: tiers
horizon: {start: 2026-01, months: 3}
offerings:
  include: [{offering: ["gcp/tpu-v6e-8/us-east5"]}]
workloads:
  services:
    - {id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tpot_s: 0.05,
       runtimes: [jax], tokens_per_s: 1000}
tenants:
"""


def _load(tmp_path, tenants: str):
    path = tmp_path / "t.yaml"
    path.write_text(SCENARIO + tenants)
    return load_scenario(str(path))


def test_shares_and_customers_as_series_reach_the_plan(tmp_path):
    """Listed month by month: the class shares follow the list, what the tenants leave is the
    workload's own class, and the plan's tier rows carry the accounts."""
    scn = _load(tmp_path, "  - {id: big, customers: [10, 40, 70], share: {chat: [0.1, 0.3, 0.5]}}\n"
                          "  - {id: small, share: [0.5, 0.4, 0.3]}\n")
    classes, share = scn.class_shares_t()
    assert share[0, classes.index("big")].tolist() == pytest.approx([0.1, 0.3, 0.5])
    assert share[0, classes.index("standard")].tolist() == pytest.approx([0.4, 0.3, 0.2])
    res = plan(scn, PlanOptions(binding=False, survivability=False))
    big = [r for r in res.tier_rows() if r["tier"] == "big"]
    assert [r["customers"] for r in big] == [10, 40, 70]
    assert [r["share"] for r in big] == pytest.approx([0.1, 0.3, 0.5])


def test_shares_adding_up_above_one_in_a_month_name_it(tmp_path):
    with pytest.raises(UserError) as info:
        _load(tmp_path, "  - {id: big, share: [0.1, 0.3, 0.7]}\n  - {id: small, share: [0.5, 0.4, 0.4]}\n")
    assert "add up to 1.1" in str(info.value) and "2026-03" in str(info.value)


def test_a_share_series_above_one_is_refused(tmp_path):
    with pytest.raises(UserError) as info:
        _load(tmp_path, "  - {id: big, share: {chat: [0.5, 1.2, 0.5]}}\n")
    assert "tenants[0].share" in str(info.value) or "tenants.0.share" in str(info.value)
