"""The service's pure parts, without a database: chips an outage leaves, prices per offering, which pools
an event names, status and share lost together, scenario diffs, plan comparisons, problem field paths."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyfleet.errors import UserError
from polyfleet.server.events import match
from polyfleet.server.fleet import by_offering, pool_chips
from polyfleet.server.pools import _status, check_if_match
from polyfleet.server.problems import ApiError, _validation_field
from polyfleet.server.scenarios import _walk
from polyfleet.server.schemas.events import Target
from polyfleet.server.schemas.fleet import PoolPatch
from polyfleet.server.web.compare import plan_changes


def _pool(i, offering, units=2, unit_chips=8, lost=0.0, price=None, **kw):
    base = dict(id=i, offering=offering, units=units, unit_chips=unit_chips, lost_share=lost, usd_per_chip_hour=price,
                provider=offering.split("/")[0], region=offering.split("/")[-1], accelerator="h100", family="gpu",
                vendor="nvidia", status="up", term="on_demand")
    return SimpleNamespace(**{**base, **kw})


def test_an_outage_leaves_whole_chips():
    assert pool_chips(2, 8, 0.3) == 11          # floor(16 x 0.7 = 11.2)
    assert pool_chips(3, 4, 0.25) == 9          # 12 x 0.75 exactly: no float loss below 9
    assert pool_chips(5, 16, 1.0) == 0 and pool_chips(5, 16, 0.0) == 80


@given(units=st.integers(0, 10_000), per=st.integers(1, 64), a=st.floats(0, 1), b=st.floats(0, 1))
def test_more_lost_never_leaves_more_chips(units, per, a, b):
    lo, hi = sorted((a, b))
    assert 0 <= pool_chips(units, per, hi) <= pool_chips(units, per, lo) <= units * per
    assert pool_chips(units, per, lo) >= units * per * (1 - lo) - 1


def test_placement_pays_a_chip_weighted_price_per_offering():
    """Each pool at its own price, else the catalog's for its term, else on-demand (where the term has no
    price), weighted by the chips each pool can serve now; offerings in pool order (bridges.placement)."""
    prices = np.array([[2.7, 1.08, 1.89, 1.22], [6.88, 1.41, np.nan, np.nan]])   # on-demand, spot, 1y, 3y
    table = SimpleNamespace(usd_per_chip_hour=prices, o=lambda o: {"gcp/v6e/r": 0, "aws/p5/r": 1}[o])
    model = SimpleNamespace(table=table)
    pools = [_pool(1, "aws/p5/r", units=2, price=4.0), _pool(2, "aws/p5/r", units=1, term="spot"),
             _pool(3, "gcp/v6e/r", units=1, lost=0.5)]
    ids, chips, price = by_offering(pools, model)
    assert ids == ["aws/p5/r", "gcp/v6e/r"] and chips.tolist() == [24.0, 4.0]
    assert math.isclose(price[0], (16 * 4.0 + 8 * 1.41) / 24)       # own price on 16 chips, spot's on 8
    assert price[1] == 2.7
    assert by_offering([_pool(4, "gcp/v6e/r", units=1, term="commit_1y")], model)[2].tolist() == [1.89]
    assert by_offering([_pool(5, "aws/p5/r", units=1, term="commit_1y")], model)[2].tolist() == [6.88]  # 1y unknown
    down = [_pool(1, "aws/p5/r", units=2, price=4.0, lost=1.0)]
    assert by_offering(down, model)[2].tolist() == [6.88]             # no chips left: on-demand, charged on none


def test_an_event_names_pools_by_every_field_it_gives():
    pools = [_pool(1, "aws/p5/us-east-1"), _pool(2, "aws/p5/us-west-2"), _pool(3, "gcp/v6e/us-east-1", family="tpu")]
    assert [p.id for p in match(pools, Target(provider="aws"))] == [1, 2]
    assert [p.id for p in match(pools, Target(region="us-east-1"))] == [1, 3]
    assert [p.id for p in match(pools, Target(region="aws/us-east-1"))] == [1]
    assert [p.id for p in match(pools, Target(provider="aws", pool_ids=[2, 3]))] == [2]
    with pytest.raises(UserError) as exc:
        match(pools, Target(family="trainium"))
    assert exc.value.field == "target" and "1: aws/p5/us-east-1 (on_demand)" in exc.value.allowed


@pytest.mark.parametrize("sent,now,want", [
    ({"status": "down"}, ("up", 0.0), ("down", 1.0)),
    ({"status": "up"}, ("degraded", 0.4), ("up", 0.0)),
    ({"lost_share": 0.4}, ("up", 0.0), ("degraded", 0.4)),
    ({"lost_share": 1.0}, ("degraded", 0.4), ("down", 1.0)),
    ({"status": "degraded"}, ("degraded", 0.4), ("degraded", 0.4)),
    ({"units": 3}, ("degraded", 0.25), ("degraded", 0.25)),
])
def test_status_and_share_lost_follow_each_other(sent, now, want):
    p = SimpleNamespace(status=now[0], lost_share=now[1])
    assert _status(p, PoolPatch(**sent)) == want


@pytest.mark.parametrize("sent", [{"status": "degraded"}, {"status": "up", "lost_share": 0.2},
                                  {"status": "down", "lost_share": 0.9}])
def test_a_status_that_contradicts_the_share_is_refused(sent):
    with pytest.raises(UserError) as exc:
        _status(SimpleNamespace(status="up", lost_share=0.0), PoolPatch(**sent))
    assert exc.value.field == "lost_share"


def test_if_match():
    check_if_match('"4"', 4, "pool 1")
    check_if_match('W/"4"', 4, "pool 1")
    check_if_match('"3", "4"', 4, "pool 1")
    check_if_match("*", 4, "pool 1")
    for header, status in (('"3"', 412), (None, 428)):
        with pytest.raises(ApiError) as exc:
            check_if_match(header, 4, "pool 1")
        assert exc.value.status == status and exc.value.field == "If-Match"


def test_a_scenario_diff_lists_fields_added_removed_and_changed():
    a = {"name": "x", "workloads": {"services": [{"id": "a", "tokens_per_s": 5}]}, "risk": {"max_share": 0.5}}
    b = {"name": "x", "workloads": {"services": [{"id": "a", "tokens_per_s": 7}, {"id": "b"}]}, "tenants": []}
    out: list[dict] = []
    _walk(a, b, (), out)
    assert out == [{"path": "workloads.services[0].tokens_per_s", "change": "changed", "before": 5, "after": 7},
                   {"path": "workloads.services[1]", "change": "added", "after": {"id": "b"}},
                   {"path": "risk", "change": "removed", "before": {"max_share": 0.5}},
                   {"path": "tenants", "change": "added", "after": []}]


def test_two_plans_side_by_side():
    def doc(cost, chips):
        return {"months": ["2026-01", "2026-02"], "totals": {"cost_usd": cost, "peak_chips": sum(chips.values()),
                                                             "mix_by_family_last_month": {"gpu": {"chips": 10.0}}},
                "plan": [{"month": "2026-02", "offering": o, "chips": c} for o, c in chips.items()] +
                        [{"month": "2026-01", "offering": "old", "chips": 99}],
                "survivability": {"rows": [{"label": "loss of provider aws", "all_demand": 0.5}]}}
    ch = plan_changes(doc(100.0, {"a": 8, "b": 16}), doc(130.0, {"a": 8, "c": 32}))
    assert {r["what"]: (r["a"], r["b"]) for r in ch["totals"]}["cost over the horizon"] == (100.0, 130.0)
    assert [(c["offering"], c["delta"]) for c in ch["chips"]] == [("c", 32.0), ("b", -16.0), ("a", 0.0)]
    assert ch["changed"] == 2 and ch["survivability"] == [{"label": "loss of provider aws", "a": 0.5, "b": 0.5}]
    assert plan_changes(None, doc(1.0, {})) is None


def test_validation_errors_name_the_body_field_without_the_union_tag():
    body = {"kind": "outage_start"}
    assert _validation_field(("body", "outage_start", "target", "pool_ids", 0), body) == "target.pool_ids[0]"
    assert _validation_field(("body", "lost_share"), body) == "lost_share"
    assert _validation_field(("query", "cursor"), None) == "query.cursor"
    assert _validation_field(("body", "function-after[_one(), DemandChange]"), body) == ""
