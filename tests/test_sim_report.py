"""What simulate and risk report: inference and training apart, causes, dates, unknowns as n/a,
the risk answer first with intervals, warnings and a computed headline, figures a board can read."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from simkit import make_setup

from polyfleet.report import html
from polyfleet.report.protect import plan_summary_section, risk_sections, simulation_sections
from polyfleet.report.risk_doc import headline, risk_doc, share
from polyfleet.report.sim_doc import run_doc
from polyfleet.scenario.faults import ChipFailures, Faults, RegionOutages
from polyfleet.sim.faults import FaultEvent
from polyfleet.sim.fleet import simulate
from polyfleet.sim.risk import run_risk


def mixed_setup():
    """Pool 0: 100 chips. Service w0 (enterprise 60% / self-serve 40%) needs 50 tokens/s; run w1
    trains on 40 of pool 0's chips at 2 tokens/s per chip (class batch)."""
    run_chips = np.zeros((2, 1, 2))
    run_chips[1, 0, :] = 40
    return make_setup([[100, 100]], [[50, 50], [80, 80]], rates=[[1.0], [2.0]], kinds=("inference", "training"),
                      classes=("enterprise", "self-serve", "batch"), share=[[0.6, 0.4, 0.0], [0.0, 0.0, 1.0]],
                      run_chips=run_chips, gang=[0, 40])


def self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*['"](?!#)""", page)


def test_simulation_doc_tells_inference_and_training_apart():
    """A 25% outage of pool 0 for 48 h from day 5: inference (50 of 75 chips) is whole, training gets
    25 of its 40 chips: 0.75 days behind, all of it the outage. The batch class carries no inference
    demand, so it is not in the inference table (it would read '100% served')."""
    s = mixed_setup()
    ev = FaultEvent("outage", "region", "x/r0", 5 * 86400.0, 48 * 3600.0, magnitude=0.25)
    r = simulate(s, [ev], np.random.default_rng(0), keep_series=True)
    doc = run_doc(s, r, seed=0, sampled=False, chip_failures=False, what_if=[])
    assert [c["class"] for c in doc["classes"]] == ["enterprise", "self-serve"]
    (tr,) = doc["training"]
    assert tr["workload"] == "w1" and tr["delay_days"] == pytest.approx(0.75)
    assert tr["delay_days_outage"] == pytest.approx(0.75) and tr["main_cause"] == "outages"
    assert tr["trained_share"] == pytest.approx(1 - 30 * 48 * 3600 / (80 * 2 * 730 * 3600))
    (inc,) = doc["incidents"]
    assert inc["when"] == "2026-01-06 00:00, 48 h" and inc["start"] == "2026-01-06 00:00"
    assert inc["customers_affected"] is None and inc["customer_hours"] is None      # no customer model: n/a
    assert inc["tiers_without_customer_model"] == []          # the outage cost inference nothing here
    assert doc["customers"] is None and doc["scope"] == "2 months"
    assert any("no chip failures" in n for n in doc["notes"])


def test_simulation_report_is_readable_and_self_contained():
    s = mixed_setup()
    ev = FaultEvent("outage", "region", "x/r0", 5 * 86400.0, 48 * 3600.0, magnitude=0.6)
    r = simulate(s, [ev], np.random.default_rng(0), keep_series=True)
    doc = run_doc(s, r, seed=0, sampled=False, chip_failures=True, what_if=[])
    page = html.render("simulate", simulation_sections(s, r, doc, "one what-if"))
    self_contained(page)
    titles = re.findall(r"<h2>(.*?)</h2>", page)
    assert titles[:2] == ["Inference: demand served by class", "Training against the plan"]
    assert "2026-01-06 00:00, 48 h" in page and "day 5" not in page
    assert page.count("<svg") == 2                      # hourly loss per class, training delay by cause
    assert ">n/a<" in page                              # customers hit: no customer model


def fragile_pair():
    """Two strategies on the same outages: one pool of 100 (fragile) or two pools of 60 (spread)."""
    faults = Faults(region_outages=RegionOutages(rate_per_region_year=20.0, provider_wide_share=0.0),
                    chip_failures=ChipFailures(annual_failure_rate=0.0))
    one = replace(make_setup([[100, 100]], [[90, 90]], share=[[0.5, 0.5]]), name="one pool", faults=faults)
    two = replace(make_setup([[60, 60], [60, 60]], [[90, 90]], share=[[0.5, 0.5]]), name="two pools", faults=faults)
    return one, two


def test_risk_report_answers_first_with_intervals_and_warnings():
    one, two = fragile_pair()
    risk = run_risk([two, one], 12, seed=3, workers=1, aliases=[["spread under another name"], []])
    doc = risk_doc(risk, what_if=[])
    assert doc["headline"].startswith("Over the 2 months, 'two pools' plans to spend")
    assert "in the worst 5% of 12 runs" in doc["headline"]
    assert any("CVaR95 of 12 runs" in w for w in doc["warnings"])
    assert [r["strategy"] for r in doc["money"]] == ["two pools", "spread under another name", "one pool"]
    assert doc["money"][1]["note"] == "same fleet as 'two pools' (run once)"
    for row in doc["inference"]:
        assert row["lost_mean_lo"] <= row["lost_mean"] <= row["lost_mean_hi"]
    for name, rows in doc["tail_incidents"].items():
        assert all(d["runs_with_it"] <= d["tail_runs"] == 1 for d in rows)   # ceil(12 x 5%) = 1 tail run
    sections = risk_sections(risk, doc)
    assert sections[0].title == "Risk: is diversification worth it?"
    page = html.render("risk", sections)
    self_contained(page)
    assert page.index("worst 5% of 12 runs") < page.index("<svg")        # the answer before any figure
    assert "boxplot" not in page and "P(X &gt; x)" in page                 # exceedance curves, not box plots
    assert "Too few runs" in page


def test_headline_against_least_cost_uses_the_digits_a_small_share_needs():
    assert share(0.0) == "0%" and share(0.0000412) == "0.0041%" and share(0.0123) == "1.2%"
    assert share(7e-8) == "<0.0001%" and share(1.2e-6) == "0.00012%"
    one, two = fragile_pair()
    risk = run_risk([replace(two, name="policy (diversified)"), replace(one, name="least cost (no risk policy)")],
                    12, seed=3, workers=1)
    text = headline(risk)
    assert "'least cost (no risk policy)'" in text and "enterprise loses" in text


def test_plan_summary_points_to_the_plan_report():
    from polyfleet.plan import plan, simple_inputs
    inp = simple_inputs(offerings=[dict(id="a", vendor="va", provider="pa", family="gpu", on_demand=1.0)],
                        workloads=[dict(id="w", demand=[10.0, 12.0], rates={"a": 1.0})], months=2)
    sec = plan_summary_section(plan(inp))
    assert sec.title == "The plan behind it" and "plan SCENARIO --out DIR" in sec.body


def test_customers_hit_are_unknown_where_a_hit_tier_has_no_customer_model():
    """Enterprise has 40 customers, self-serve none. An outage that costs only self-serve demand
    reports its customers hit as unknown (n/a) and names the tier; one that also costs enterprise
    counts the enterprise customers it hit beside that."""
    from polyfleet.scenario.simulation import CustomerModel
    from polyfleet.sim.customers import draw_customers
    cust = draw_customers(np.array([40, 0]), np.array([[1.0, 0.0]]), CustomerModel(), np.random.default_rng(0))
    s = make_setup([[100, 100]], [[90, 90]], share=[[0.6, 0.4]], customers=cust)
    small = FaultEvent("outage", "region", "x/r0", 2 * 86400.0, 10 * 3600.0, magnitude=0.3)   # 70 left: self-serve

    big = FaultEvent("outage", "region", "x/r0", 9 * 86400.0, 10 * 3600.0, magnitude=0.6)      # 40 left: both
    r = simulate(s, [small, big], np.random.default_rng(0))
    doc = run_doc(s, r, seed=0, sampled=False, chip_failures=False, what_if=[])
    rows = {row["start"][:10]: row for row in doc["incidents"]}
    only_self = rows["2026-01-03"]
    assert only_self["customers_affected"] is None and only_self["tiers_without_customer_model"] == ["self-serve"]
    both = rows["2026-01-10"]
    assert both["customers_affected"] is None and both["customers_affected_in_modelled_tiers"] == 40
