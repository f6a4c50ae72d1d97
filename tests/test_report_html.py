"""The HTML report: self-contained (inline CSS and SVG, no scripts or network), built from sections."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from polyfleet.plan import (Contingency, PlanOptions, PowerLimit, SolveOptions, compare, frontier, plan,
                            simple_inputs)
from polyfleet.report import html, plots

OPTS = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-6))


@pytest.fixture(scope="module")
def small():
    offs = [dict(id="a", vendor="va", provider="pa", family="gpu", on_demand=1.0, commit_1y=0.7, mw_per_chip=0.001),
            dict(id="b", vendor="vb", provider="pb", family="tpu", on_demand=1.5, mw_per_chip=0.001)]
    wls = [dict(id="w", demand=[80.0, 100.0, 120.0], rates={"a": 1.0, "b": 1.0}, classes={"gold": 1.0})]
    inp = simple_inputs(offerings=offs, workloads=wls, months=3, hours=730.0, classes={"gold": 0.5})
    conts = (Contingency("lose-a", "loss of a", "vendor", np.array([0.0, 1.0]), np.zeros(2, bool)),)
    return replace(inp, contingencies=conts, power=(PowerLimit("site", np.ones(2, bool), np.full(3, 1.0)),))


def self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r"""(src|href)\s*=\s*['"](?!#)""", page)       # only in-page anchors
    assert "url(http" not in page and "@import" not in page


def test_plan_report_has_every_section_and_inline_figures(small):
    res = plan(small, OPTS)
    sections = html.plan_sections(res)
    titles = [s.title for s in sections]
    for t in ("Solver", "Capacity", "Cost", "Power", "Shares of capacity", "What limits the plan", "Survivability",
              "The plan (month x offering)", "Assumptions and notes"):
        assert t in titles
    page = html.render("plan", sections, "a small test")
    self_contained(page)
    assert page.count("<svg") == 4                                    # MW, chips, cost, power
    assert "Optimal" in page and "loss of a" in page


def test_report_accepts_extra_sections(small):
    cmp = compare(small, OPTS)
    fr = frontier(small, [0.0, 0.5], OPTS)
    extra = html.Section("Placement", "<p>added by a later engine</p>", "placement")
    page = html.render("plan", [*html.plan_sections(plan(small, OPTS)), html.compare_section(cmp),
                                html.frontier_section(fr), extra])
    self_contained(page)
    assert "Diversification" in page and "Cost vs resilience" in page and "added by a later engine" in page
    assert page.count("<svg") == 6


def test_infeasible_report_explains(small):
    res = plan(replace(small, power=(PowerLimit("site", np.ones(2, bool), np.full(3, 0.09)),)), OPTS)
    page = html.render("plan", html.plan_sections(res))
    self_contained(page)
    assert "Why there is no plan" in page and "power limit" in page


def test_plots_are_svg_strings():
    svg = plots.stacked_area(("m1", "m2"), {"tpu": np.array([1.0, 2.0])}, "MW", "t", plots.FAMILY_COLORS)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    svg = plots.frontier_curve([0.0, 0.5, 1.0], [1e9, 1.2e9, None], [0.0, 0.5, None])
    assert "no plan" in svg
