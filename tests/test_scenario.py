"""Scenario files: sections with defaults, series, catalog overrides, and errors that name file:line."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from polyfleet.errors import UnknownNameError, UserError
from polyfleet.scenario import Scenario, Series, builtin_scenarios, load_scenario, month_labels

MINIMAL = """
workloads:
  services:
    - id: chat
      model: llama-3.1-8b
      tokens_per_s: 1000
"""


def write(tmp_path, text: str, name: str = "s.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def error_of(tmp_path, text: str) -> UserError:
    with pytest.raises(UserError) as info:
        load_scenario(write(tmp_path, text))
    return info.value


def test_minimal_scenario_takes_documented_defaults(tmp_path):
    scn = load_scenario(write(tmp_path, MINIMAL))
    assert scn.horizon.start == "2026-01" and scn.horizon.months == 24
    assert scn.months[0] == "2026-01" and scn.months[-1] == "2027-12"
    assert scn.supply.spot_availability == 0.6 and scn.power.pue == 1.2
    assert scn.money.commitment_tail == "prorated"
    assert scn.risk.required()["critical"] == 1.0 and scn.risk.required()["standard"] == 0.0
    assert scn.risk.auto_failures == ("provider", "vendor_supply", "region")
    # every offering with a price is usable; the unpriced TPU7x and Trainium3 are left out
    ids = scn.offering_ids()
    assert ids and not any("tpu7x" in o or "trn3" in o for o in ids)


def test_series_forms():
    assert np.allclose(Series.model_validate(5).expand("2026-01", 3), [5, 5, 5])
    assert np.allclose(Series.model_validate([1, 2, 3]).expand("2026-01", 3), [1, 2, 3])
    assert np.allclose(Series.model_validate({"start": 100, "monthly_growth": 0.1}).expand("2026-01", 3),
                       [100, 110, 121])
    grow7 = Series.model_validate({"start": 1, "annual_multiple": 7}).expand("2026-01", 13)
    assert grow7[12] == pytest.approx(7.0)
    # points: log-linear between, flat outside
    pts = Series.model_validate({"points": {"2026-02": 100, "2026-04": 400}}).expand("2026-01", 6)
    assert np.allclose(pts, [100, 100, 200, 400, 400, 400])
    assert Series.model_validate("2.0e10").value == 2e10          # YAML 1.1 reads 2.0e10 as text
    with pytest.raises(ValueError):
        Series.model_validate({"start": 1, "points": {"2026-01": 1}})
    with pytest.raises(ValueError, match="horizon has 4"):
        Series.model_validate([1, 2]).expand("2026-01", 4)


def test_month_labels_cross_years():
    assert month_labels("2026-11", 3) == ("2026-11", "2026-12", "2027-01")


def test_unknown_field_names_file_line_and_allowed_fields(tmp_path):
    err = error_of(tmp_path, MINIMAL + "      prioity: high\n")
    assert err.where.endswith("s.yaml:7") and err.field == "workloads.services[0].prioity"
    assert "priority" in err.allowed and "tokens_per_s" in err.allowed


def test_unknown_vendor_suggests_close_match(tmp_path):
    err = error_of(tmp_path, MINIMAL + "supply:\n  rules:\n    - vendor: nvida\n      max_chips: 10\n")
    assert isinstance(err, UnknownNameError)
    assert err.suggestions == ["nvidia"] and err.where.endswith("s.yaml:9")


def test_unknown_offering_in_fleet(tmp_path):
    err = error_of(tmp_path, MINIMAL + "fleet:\n  - {offering: aws/p5.48xlarge/us-east-9, units: 1}\n")
    assert isinstance(err, UnknownNameError) and "aws/p5.48xlarge/us-east-1" in err.suggestions


def test_bad_values_are_one_clear_message(tmp_path):
    assert "horizon has 24 months" in str(error_of(tmp_path, MINIMAL.replace("1000", "[1, 2]")))
    err = error_of(tmp_path, MINIMAL + "risk:\n  share_measure: watts\n")
    assert err.field == "risk.share_measure" and "'power' or 'chips'" in str(err)
    err = error_of(tmp_path, "horizon: {months: 3}\n")
    assert err.field == "workloads" and "required" in str(err)
    err = error_of(tmp_path, MINIMAL + "tenants:\n  - {id: a, share: 0.7}\n  - {id: b, share: 0.6}\n")
    assert "add up to 1.3" in str(err)
    err = error_of(tmp_path, MINIMAL + "risk:\n  caps_from: 2031-01\n")
    assert "outside the horizon" in str(err) and err.allowed == "2026-01 .. 2027-12"
    err = error_of(tmp_path, MINIMAL.replace("llama-3.1-8b", "llama-9"))
    assert isinstance(err, UnknownNameError) and err.where.endswith(":5")


def test_inline_catalog_override_prices_an_unpriced_chip(tmp_path):
    text = MINIMAL + """
catalog:
  offerings:
    - provider: gcp
      accelerator: ironwood
      instance: tpu7x-8
      unit_chips: 4
      prices: {on_demand: {value: 6.5, source: my guess, status: estimate, note: assumed}}
      regions: {us-central1: {}}
"""
    scn = load_scenario(write(tmp_path, text))
    off = scn.context().catalog.offering("gcp/tpu7x-8/us-central1")
    assert off.on_demand.value == 6.5 and off.on_demand.status == "estimate"
    assert "gcp/tpu7x-8/us-central1" in scn.offering_ids()
    table = scn.rate_table()
    assert table.rate.shape == (1, len(scn.offering_ids()))


def test_inline_catalog_error_points_into_the_scenario(tmp_path):
    text = MINIMAL + "catalog:\n  offerings:\n    - {provider: gcp, accelerator: nope, instance: x, unit_chips: 1," \
                     " regions: {us-central1: {}}}\n"
    err = error_of(tmp_path, text)
    assert err.where.endswith("s.yaml:9") and "accelerator" in (err.field or "")


def test_tenants_split_service_demand_into_classes(tmp_path):
    text = MINIMAL + "tenants:\n  - {id: gold, share: 0.25, survive: 0.9}\n  - {id: silver, share: {chat: 0.5}}\n"
    scn = load_scenario(write(tmp_path, text))
    classes, share = scn.class_shares()
    assert share[0, classes.index("gold")] == 0.25 and share[0, classes.index("silver")] == 0.5
    assert share[0, classes.index("standard")] == pytest.approx(0.25)
    assert scn.priority_classes()["gold"] == 0.9


def test_measured_rates_replace_modelled_cells(tmp_path):
    text = MINIMAL + "rates:\n  - {workload: chat, accelerator: h100, tokens_per_chip_hour: 1234}\n"
    scn = load_scenario(write(tmp_path, text))
    t = scn.rate_table()
    cols = [i for i, a in enumerate(t.accelerator) if a == "h100"]
    assert cols and np.all(t.rate[0, cols] == 1234) and t.measured[0, cols].all()


def test_builtin_frontier_scenario_loads_and_labels_assumptions():
    assert "frontier-2026" in builtin_scenarios()
    scn = load_scenario("frontier-2026")
    assert scn.workloads.services and scn.workloads.training and len(scn.tenants) == 3
    business = next(i for i, t in enumerate(scn.tenants) if t.id == "business")
    assert scn.customers_now(business) >= 300_000            # "over 300,000 business customers"
    assert scn.tenant_customers(business)[-1] > scn.customers_now(business)
    cat = scn.context().catalog
    for oid in ("gcp/tpu7x-8/us-central1", "aws/trn3-gen2-ultraserver/us-east-2"):
        fig = cat.offering(oid).on_demand
        assert fig.known and fig.status == "estimate" and fig.note      # every assumed price is labelled


def test_unknown_builtin_name_lists_choices():
    with pytest.raises(UnknownNameError) as info:
        load_scenario("frontier-2025")
    assert "frontier-2026" in info.value.suggestions


def test_scenario_from_a_dict_and_extra_files(tmp_path):
    scn = Scenario.model_validate({"workloads": {"training": [
        {"id": "t", "model": "llama-3.1-8b", "run": {"tokens": 1e12, "start": "2026-02", "deadline": "2026-05"}}]}})
    assert scn.workloads.training[0].priority == "batch"
    cat = write(tmp_path, "offerings:\n  - {provider: aws, accelerator: h100, instance: p5.48xlarge, unit_chips: 8,"
                          " source: mine, regions: {us-east-1: {on_demand: {value: 3.0, status: user}}}}\n",
                "prices.yaml")
    base = load_scenario(write(tmp_path, MINIMAL))
    more = base.with_extra_files([cat])
    assert more.context().catalog.offering("aws/p5.48xlarge/us-east-1").on_demand.value == 3.0
    assert base.context().catalog.offering("aws/p5.48xlarge/us-east-1").on_demand.value != 3.0


def test_a_tenant_named_like_the_default_class_is_explained_not_suggested_back(tmp_path):
    """A tenant called `standard` takes that class's name; a service left at the default priority then
    names a tenant. The error says so and offers the risk classes no tenant holds, never the same word."""
    text = MINIMAL + "tenants:\n  - {id: standard, share: 0.5}\n"
    err = error_of(tmp_path, text)
    assert err.field == "workloads.services[0].priority" and err.where.endswith("s.yaml:4")   # the service (its priority is the default)
    assert "is a tenant's id" in str(err) and "did you mean" not in str(err)
    assert err.allowed.split(", ") == ["critical", "high", "batch"]
    err = error_of(tmp_path, MINIMAL.replace("tokens_per_s: 1000", "tokens_per_s: 1000\n      priority: standrd")
                   + "tenants:\n  - {id: standard, share: 0.5}\n")
    assert "unknown priority class 'standrd'" in str(err) and "did you mean standard" not in str(err)


def test_points_interpolate_log_linearly_unless_asked_for_straight_lines():
    """100 -> 400 over two steps: log-linear gives the geometric middle 200; linear gives 250. Shares
    written as linear points add up month by month (0.2 + 0.8 -> 0.6 + 0.4 stays 1)."""
    log = Series.model_validate({"points": {"2026-01": 100, "2026-03": 400}})
    lin = Series.model_validate({"points": {"2026-01": 100, "2026-03": 400}, "interpolation": "linear"})
    assert log.expand("2026-01", 3).tolist() == pytest.approx([100, 200, 400])
    assert lin.expand("2026-01", 3).tolist() == pytest.approx([100, 250, 400])
    a = Series.model_validate({"points": {"2026-01": 0.2, "2026-12": 0.6}, "interpolation": "linear"})
    b = Series.model_validate({"points": {"2026-01": 0.8, "2026-12": 0.4}, "interpolation": "linear"})
    assert (a.expand("2026-01", 12) + b.expand("2026-01", 12)).tolist() == pytest.approx([1.0] * 12)
    with pytest.raises(ValueError, match="points only"):
        Series.model_validate({"value": 3, "interpolation": "linear"})
