"""The board's one-page summary and the procurement / demand / lock-in sections of the plan report."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from polyfleet.plan import Contingency, PlanOptions, SolveOptions, plan, simple_inputs
from polyfleet.report import html
from polyfleet.report.board import MAX_CONTRACTS, MAX_ROWS, board, board_lines, board_section

OPTS = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9))


def committed():
    """As tests/test_plan_schedule.py: va's two 1y tranches total 2 x 100 x 0.6 x 730 x 12 = $1,051,200,
    vb's 3y 50 x 0.5 x 730 x 36 = $657,000; so va's comes first."""
    offs = [dict(id="a", vendor="va", provider="pa", accelerator="chip-a", on_demand=1.0, commit_1y=0.6),
            dict(id="b", vendor="vb", provider="pb", accelerator="chip-b", on_demand=1.0, commit_3y=0.5)]
    wls = [dict(id="w1", demand=100.0, rates={"a": 1.0}, classes={"gold": 1.0}),
           dict(id="w2", demand=50.0, rates={"b": 1.0, "a": 1.0}, classes={"gold": 1.0})]
    inp = simple_inputs(offerings=offs, workloads=wls, months=14, classes={"gold": 0.2})
    conts = (Contingency("lose-b", "loss of vb", "vendor", np.array([1.0, 0.0]), np.zeros(2, bool)),)
    return plan(replace(inp, contingencies=conts), OPTS)


@pytest.fixture(scope="module")
def res():
    return committed()


def test_largest_commitment_first_with_its_dollars(res):
    b = board(res)
    first, second = b.sign
    assert (first["provider"], first["term"], first["when"]) == ("pa", "1y", "m1..m13, 2 tranches")
    assert first["term_usd"] == pytest.approx(1_051_200) and second["term_usd"] == pytest.approx(657_000)
    text = "\n".join(board_lines(b))
    assert text.index("$1.05M") < text.index("$657K")
    assert "owe $840K after it" in text                      # 10 x 43,800 + 22 x 18,250 = 839,500
    assert "prorated" in text and "not computed - run --paths" in text


def test_summary_names_the_worst_failure_and_lock_in(res):
    b = board(res)
    assert "1 of 1 failure sets" in b.protects[0] and "loss of vb" in b.protects[1]
    assert "Lock-in: 66.7%" in b.lock_in                     # w1 (100 of 150 tokens/h) runs only on va


def test_summary_tables_are_bounded():
    offs = [dict(id=f"o{i}", vendor=f"v{i}", provider=f"p{i}", on_demand=1.0, commit_1y=0.5) for i in range(10)]
    wls = [dict(id=f"w{i}", demand=10.0 * (i + 1), rates={f"o{i}": 1.0}) for i in range(10)]
    r = plan(simple_inputs(offerings=offs, workloads=wls, months=12), OPTS)
    r.contracts = [dict(id=f"c{i}", counterparty="x", cost_usd=float(i)) for i in range(20)]
    b = board(r)
    assert len(b.sign) == MAX_ROWS and "and 4 more commitments" in b.sign_more
    assert [c["id"] for c in b.contracts] == ["c19", "c18", "c17", "c16", "c15"][:MAX_CONTRACTS]
    body = board_section(b).body
    assert body.count("<tr>") <= MAX_ROWS + MAX_CONTRACTS + 2  # two tables, a header row each
    assert len(board_lines(b)) <= 30
    assert b.sign[0]["provider"] == "p9"                     # the largest demand, the largest commitment


def test_optional_sections_render_when_present(res):
    r = committed()
    r.contracts = [dict(id="tpu-deal", counterparty="google", accelerator="tpu-v7", signed="2025-10",
                        source="https://example.org/deal", delivered=[1.0] * 14, cost_usd=2e9,
                        owed_after_usd=5e9, options=[dict(id="expand", exercised=True, value_usd=3e8)])]
    r.paths = dict(paths=[dict(id="low", probability=0.3, cost_usd=1e6)], expected_usd=1.2e6, cvar_usd=1.5e6,
                   alpha=0.9, low=dict(cost_usd=1e6, idle_committed_chip_share=0.25))
    page = html.render("plan", html.plan_sections(r))
    assert "tpu-deal" in page and "expand: exercised, worth $300M" in page and "chip-months delivered" in page
    assert "If demand comes in low: $1.00M, with 25.0% of committed chips idle" in page
    assert "not computed" not in page
    plain = html.render("plan", html.plan_sections(res))
    assert "not computed - run --paths" in plain and "tpu-deal" not in plain


def test_report_opens_with_summary_procurement_and_demand(res):
    titles = [s.title for s in html.plan_sections(res)]
    assert titles[:4] == ["Summary", "Procurement schedule", "Demand against capacity", "Solver"]
    assert "Lock-in" in titles
    page = html.render("plan", html.plan_sections(res))
    assert "break-after:page" in page                       # the summary prints as its own page
    proc = page[page.index("id='procurement'"):page.index("id='demand'")]
    assert re.search(r"va \$438K, vb \$402K", proc)        # owed after the horizon, largest first


def test_infeasible_plan_has_no_summary():
    offs = [dict(id="a", vendor="va", on_demand=1.0, max_units=1)]
    r = plan(simple_inputs(offerings=offs, workloads=[dict(id="w", demand=10.0, rates={"a": 1.0})]), OPTS)
    assert not r.feasible
    assert [s.title for s in html.plan_sections(r)][0] == "Solver"


def test_power_sites_the_plan_orders_are_things_to_sign():
    from polyfleet.plan.inputs import Site
    # as tests/test_plan_sites.py: ordering the 60 kW site in m1 (lead 1 month) beats renting B
    inp = simple_inputs(offerings=[{"id": "A", "on_demand": 1.0, "mw_per_chip": 0.001},
                                   {"id": "B", "on_demand": 2.0, "mw_per_chip": 0.001}],
                        workloads=[{"id": "w", "demand": 1000.0, "rates": {"A": 10.0, "B": 10.0}}], months=4,
                        sites=(Site(name="s", mask=np.array([True, False]), mw=np.full(4, 0.06), lead=1,
                                    usd_per_mw_month=100_000.0),))
    b = board(plan(inp, OPTS))
    assert b.sites == ["Order power site s in m1 (energised m2, 60.0 kW at $100K per MW-month)"]
    assert "power sites $18.0K" in b.cost[0]                # 3 months x 0.06 MW x $100,000
    assert b.sites[0] in board_lines(b)[5]
