"""Two-stage planning over demand paths: hand-derived commitments, the CVaR term, nonanticipativity,
sampled paths, and the `uncertainty:` section's errors."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet.errors import UserError
from polyfleet.plan import simple_inputs
from polyfleet.plan.extensive import first_stage
from polyfleet.plan.inputs import C1, SupplyLimit
from polyfleet.plan.stochastic import StochasticOptions, build_extensive, cvar, plan_paths, solve_extensive
from polyfleet.plan.solve import SolveOptions
from polyfleet.scenario import load_scenario
from polyfleet.scenario.uncertainty import DrawnPath, Sampling, demand_paths, draw_multipliers

RATE = 1e6            # tokens per chip-hour: a chip serves 1e6 tokens/h, so demand in tokens/h / 1e6 = chips
EXACT = SolveOptions(mip_rel_gap=1e-9)


def two_month_inputs(mean_chips: float = 7.0):
    """One offering: on-demand $2/chip-h, 1y $1.2/chip-h; 2 months of 730 h; commitments prorated to the
    horizon (a 1y unit started in month 1 pays 2 months: $1,752; an on-demand unit-month $1,460)."""
    return simple_inputs(offerings=[{"id": "o", "vendor": "v", "on_demand": 2.0, "commit_1y": 1.2}],
                         workloads=[{"id": "chat", "demand": mean_chips * RATE, "rates": {"o": RATE}}], months=2)


def low_high(inp, low: float = 4.0, high: float = 10.0) -> list[DrawnPath]:
    mean = inp.demand[0, 0] / RATE
    return [DrawnPath("low", 0.5, np.full((1, 2), low / mean)), DrawnPath("high", 0.5, np.full((1, 2), high / mean))]


def commitments(result) -> np.ndarray:
    return result.starts[:, C1, :].sum(axis=0)


@pytest.mark.parametrize("exact, integer_recourse", [(False, False), (True, False), (False, True)])
def test_two_paths_commit_for_the_low_path_not_the_mean(exact, integer_recourse):
    # Demand 4 or 10 chips, p = 0.5 each (mean 7). c units of 1y signed in month 1 cost 1,752 c; the rest is
    # on-demand, 2 x 1,460 a unit over both months. d E[cost]/dc = 1,752 - 2,920 P(D > c): negative below 4,
    # +292 from 4 to 10, so the plan commits 4 (a month-2 start: 876 - 1,460 P(D > c) > 0 from 4 on: none).
    # E[cost] = 4 x 1,752 + 0.5 x 2,920 x 6 = 15,768 (low 7,008, high 24,528).
    # Planning for the mean (7) commits 7: 12,264 + 0.5 x 2,920 x 3 = 16,644 on the same paths (876 more).
    inp = two_month_inputs()
    r = plan_paths(inp, low_high(inp), 0, EXACT, StochasticOptions(exact=exact, integer_recourse=integer_recourse))
    assert commitments(r).tolist() == [4.0, 0.0]
    p = r.paths
    assert p["expected_usd"] == pytest.approx(15_768, abs=1e-3)
    assert [x["cost_usd"] for x in p["paths"]] == pytest.approx([7_008, 24_528], abs=1e-3)
    assert all(x["unmet_share"] == 0 for x in p["paths"])
    assert p["deterministic_usd"] == pytest.approx(16_644, abs=1e-3)
    assert p["value_of_stochastic_usd"] == pytest.approx(876, abs=1e-3)
    # on the low path every committed chip serves: 4 committed, 4 used; the mean plan idles 3 of 7
    assert p["low"]["id"] == "low" and p["low"]["idle_committed_chip_share"] == pytest.approx(0.0, abs=1e-9)
    assert p["deterministic"]["low"]["idle_committed_chip_share"] == pytest.approx(3 / 7, abs=1e-9)


def test_a_rounded_first_stage_says_how_it_was_found_and_its_gap_to_the_lp_bound():
    """The default (not exact) solve rounds the first stage from the LP relaxation and reports its gap
    against the whole problem's LP bound: here the LP is already whole (4 units), so the bound is the
    hand-derived 15,768 and the gap 0."""
    inp = two_month_inputs()
    sol = plan_paths(inp, low_high(inp), 0, EXACT, StochasticOptions(exact=False)).solution
    assert sol.start == "first stage rounded from the LP relaxation"
    assert sol.status.endswith("(first stage rounded from the LP relaxation; 0.000% above the LP bound)")
    assert sol.dual_bound == pytest.approx(15_768, abs=1e-3) and sol.mip_gap == pytest.approx(0.0, abs=1e-9)
    assert sol.optimal


@pytest.mark.parametrize("weight, expected", [(0.1, 4.0), (1.0, 10.0)])
def test_cvar_weight_moves_toward_more_commitment(weight, expected):
    # alpha = 0.5 with two equiprobable paths: CVaR is the high path's cost, 1,752 c + 2,920 (10 - c) for
    # 4 <= c <= 10. d/dc of E + w CVaR = 292 + w (1,752 - 2,920) = 292 - 1,168 w: positive for w = 0.1
    # (stay at 4), negative for w = 1 (commit the high path's 10).
    inp = two_month_inputs()
    r = plan_paths(inp, low_high(inp), 0, EXACT, StochasticOptions(alpha=0.5, weight=weight, deterministic=False))
    assert commitments(r)[0] == expected
    costs = np.array([x["cost_usd"] for x in r.paths["paths"]])
    assert r.paths["cvar_usd"] == pytest.approx(costs.max(), rel=1e-9)


def test_a_path_beyond_supply_shows_its_unmet_demand_at_its_price():
    # Supply holds 8 chips. The high path (10) leaves 2 chips unmet both months: 2 x 1e6 tokens/h x 730 h
    # = 1,460 Mtok a month at max($10 value, 2 x $2 on-demand per Mtok, the cheapest) = $14,600, $29,200 in all.
    # Commitments: 1,752 - 2,920 P(D > c) < 0 below 4, +292 from 4 to 8: still 4. High path: 7,008 +
    # 2,920 x 4 + 29,200 = 47,888; expected 0.5 x 7,008 + 0.5 x 47,888 = 27,448.
    inp = replace(two_month_inputs(), supply=(SupplyLimit("cap", np.ones(1, bool), np.ones(4, bool),
                                                          max_chips=np.full(2, 8.0)),))
    r = plan_paths(inp, low_high(inp), 0, EXACT, StochasticOptions(deterministic=False))
    assert commitments(r).tolist() == [4.0, 0.0]
    high = r.paths["paths"][1]
    assert high["unmet_share"] == pytest.approx(0.2) and high["cost_usd"] == pytest.approx(47_888)
    assert r.paths["expected_usd"] == pytest.approx(27_448)


def test_on_demand_dearer_on_the_high_path_buys_more_commitment():
    # The high path also doubles the vendor's on-demand price: an on-demand unit there costs 5,840 over the
    # two months, so d E/dc = 1,752 - 0.5 x 5,840 < 0 up to 10: commit 10 (17,520 on both paths). The
    # commitment price is fixed when signed, so the low path pays the same 17,520.
    inp = two_month_inputs()
    low, high = low_high(inp)
    paths = [low, replace(high, prices={"v": np.array([2.0, 2.0])})]
    r = plan_paths(inp, paths, 0, EXACT, StochasticOptions(deterministic=False))
    assert commitments(r).tolist() == [10.0, 0.0]
    assert [x["cost_usd"] for x in r.paths["paths"]] == pytest.approx([17_520, 17_520])


def test_cvar_of_a_discrete_distribution():
    # worst 25% of {1 (p .5), 2 (p .25), 10 (p .25)} is the 10; at alpha 0.5: (0.25 x 10 + 0.25 x 2) / 0.5 = 6
    c, p = np.array([1.0, 2.0, 10.0]), np.array([0.5, 0.25, 0.25])
    assert cvar(c, p, 0.75) == pytest.approx(10.0)
    assert cvar(c, p, 0.5) == pytest.approx(6.0)
    assert cvar(c, p, 0.0) == pytest.approx(c @ p)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.floats(0.3, 2.5), min_size=2, max_size=4), st.integers(0, 3), st.sampled_from([0.0, 0.7]))
def test_first_stage_columns_are_equal_on_every_path(mults, ref, weight):
    inp = simple_inputs(offerings=[{"id": "a", "vendor": "v", "on_demand": 2.0, "commit_1y": 1.3, "commit_3y": 0.9},
                                   {"id": "b", "vendor": "w", "on_demand": 2.5, "spot": 1.0, "commit_1y": 1.5}],
                        workloads=[{"id": "chat", "demand": [3e6, 5e6, 8e6], "rates": {"a": RATE, "b": 1.2 * RATE}}],
                        months=3)
    ref = ref % len(mults)
    paths = [DrawnPath(f"p{i}", 1 / len(mults), np.linspace(1.0, m, 3)[None, :]) for i, m in enumerate(mults)]
    sto = StochasticOptions(alpha=0.6, weight=weight)
    ext = build_extensive(inp, paths, ref, sto)
    sol = solve_extensive(ext, EXACT, sto)
    assert sol.has_solution
    firsts = [sol.x[first_stage(m, sto.first_stage) + ext.col_start[s]] for s, m in enumerate(ext.models)]
    for f in firsts:
        assert np.allclose(f, firsts[ref], atol=1e-6)
    assert np.allclose(firsts[ref], np.round(firsts[ref]), atol=1e-6)
    # the objective HiGHS reports is E[cost] + weight x CVaR of the path costs read back from the point
    costs = np.array([ext.cost_of(s, sol.x) for s in range(len(paths))])
    assert sol.objective == pytest.approx(costs @ ext.prob + weight * cvar(costs, ext.prob, 0.6), rel=1e-7)


def test_sampled_paths_are_reproducible_and_centred_on_the_forecast():
    spec = Sampling(paths=200, seed=3, growth_sd=0.5, correlation=0.7)
    a, b = draw_multipliers(3, 2, 12, spec), draw_multipliers(3, 2, 12, spec)
    assert all(np.array_equal(x.multiplier, y.multiplier) for x, y in zip(a, b))
    c = draw_multipliers(3, 2, 12, spec.model_copy(update={"seed": 4}))
    assert not np.array_equal(a[1].multiplier, c[1].multiplier)
    assert a[0].id == "forecast" and np.all(a[0].multiplier == 1.0)
    assert sum(p.probability for p in a) == pytest.approx(1.0)
    # training (the third workload) stays at its forecast; services spread
    assert all(np.all(p.multiplier[2] == 1.0) for p in a)
    # E[m] = 1 every month: over 20 seeds x 199 draws the end-month mean is within ~4 standard errors
    # (sd of a log-normal with s = 0.5 is 0.53; 0.53 / sqrt(3980) = 0.0085)
    ends = np.concatenate([[p.multiplier[:2, -1] for p in draw_multipliers(3, 2, 12, spec.model_copy(
        update={"seed": s}))[1:]] for s in range(20)])
    assert ends.mean() == pytest.approx(1.0, abs=0.035)
    assert np.log(ends).std() == pytest.approx(0.5, abs=0.03)
    # correlation between the two services' log multipliers is the one asked for
    lg = np.log(ends)
    assert np.corrcoef(lg[:, 0], lg[:, 1])[0, 1] == pytest.approx(0.7, abs=0.05)


SCN = """
horizon: {start: 2026-01, months: 3}
workloads:
  services:
    - id: chat
      model: llama-3.1-8b
      tokens_per_s: 1000
"""


def write(tmp_path, extra: str):
    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(SCN) + textwrap.dedent(extra), encoding="utf-8")
    return p


def test_explicit_paths_expand_to_multipliers(tmp_path):
    scn = load_scenario(write(tmp_path, """
        uncertainty:
          paths:
            - {id: low, probability: 0.25, demand: {all: [1.0, 0.8, 0.5]}, prices: {nvidia: 1.3}}
            - {id: base, probability: 0.75}
        """))
    paths = demand_paths(scn, 20)            # the scenario's own paths win over a count
    assert [p.id for p in paths] == ["low", "base"]
    assert paths[0].multiplier[0].tolist() == [1.0, 0.8, 0.5] and np.all(paths[1].multiplier == 1.0)
    assert paths[0].prices["nvidia"].tolist() == [1.3] * 3 and paths[1].prices is None


@pytest.mark.parametrize("extra, words", [
    ("uncertainty:\n  paths:\n    - {id: a, probability: 0.5}\n    - {id: b, probability: 0.4}\n", "add up to 0.9"),
    ("uncertainty:\n  paths:\n    - {id: a, probability: 1.0}\n  sample: {paths: 5}\n", "paths or sample"),
    ("uncertainty:\n  paths:\n    - {id: a, probability: 0.5}\n    - {id: a, probability: 0.5}\n", "used twice"),
    ("uncertainty:\n  sample: {growth_sd: -0.1}\n", "growth_sd"),
    ("uncertainty:\n  sample: {paths: 1}\n", "paths"),
    ("uncertainty:\n  cvar: {alpha: 1.0}\n", "alpha"),
    ("uncertainty:\n  failure_sets: some\n", "failure_sets"),
    ("uncertainty:\n  paths:\n    - {id: a, probability: 1.0}\n  reference: b\n", "reference 'b'"),
    ("uncertainty:\n  paths:\n    - {id: a, probability: 1.0, demand: {chta: 1.2}}\n", "chta"),
    ("uncertainty:\n  paths:\n    - {id: a, probability: 1.0, demand: {chat: [1, 2]}}\n", "3 months"),
    ("uncertainty:\n  paths:\n    - {id: a, probability: 1.0, prices: {nvidai: 1.2}}\n", "nvidai"),
])
def test_bad_uncertainty_fields_are_one_clear_error(tmp_path, extra, words):
    with pytest.raises(UserError) as info:
        load_scenario(write(tmp_path, extra))
    msg = str(info.value)
    assert words in msg and "s.yaml:" in msg and "uncertainty" in msg


def test_failure_sets_on_every_path_hold_the_reserve_on_each():
    # Providers a (on-demand $2, 1y $0.8: 2,920 / 1,168 a unit over both months) and b ($3, $1.8: 4,380 /
    # 2,628); one class that must keep 100% after losing either provider, so a path with failure sets holds
    # its demand on a alone and on b alone. Low path (4, the reference) and high (10), p = 0.5.
    # Reference only: the high path needs 10 chips from either; d E/dc_b above 4 = 2,628 - 0.5 x 2,920 > 0
    # (a's on-demand serves it cheaper), d E/dc_a up to c_a + c_b = 10 = 1,168 - 0.5 x 2,920 < 0: (6, 4),
    # 17,520 on both paths. On every path the high path needs 10 on each: d E/dc_a = 1,168 - 1,460 < 0 up to
    # 10, d E/dc_b = 2,628 - 0.5 x 4,380 > 0 above 4: (10, 4); low 22,192, high 22,192 + 6 x 4,380 = 48,472.
    from polyfleet.plan.inputs import Contingency
    offs = [{"id": "a", "vendor": "v", "provider": "p1", "on_demand": 2.0, "commit_1y": 0.8},
            {"id": "b", "vendor": "v", "provider": "p2", "on_demand": 3.0, "commit_1y": 1.8}]
    conts = tuple(Contingency(f"lose-{i}", f"loss of {i}", "provider", keep, np.zeros(2, bool))
                  for i, keep in (("a", np.array([0.0, 1.0])), ("b", np.array([1.0, 0.0]))))
    inp = simple_inputs(offerings=offs, workloads=[{"id": "chat", "demand": 7 * RATE,
                                                    "rates": {"a": RATE, "b": RATE}}], months=2,
                        classes={"critical": 1.0}, contingencies=conts)
    paths = low_high(inp)
    ref_only = plan_paths(inp, paths, 0, EXACT, StochasticOptions(deterministic=False))
    every = plan_paths(inp, paths, 0, EXACT, StochasticOptions(deterministic=False, security="all"))
    assert ref_only.starts[:, C1, 0].tolist() == [6.0, 4.0]
    assert [x["cost_usd"] for x in ref_only.paths["paths"]] == pytest.approx([17_520, 17_520])
    assert every.starts[:, C1, 0].tolist() == [10.0, 4.0]
    assert [x["cost_usd"] for x in every.paths["paths"]] == pytest.approx([22_192, 48_472])
    assert all(x["unmet_share"] == 0 for x in every.paths["paths"])


def test_a_windowed_run_on_a_path_scales_by_the_mean_multiplier_over_its_window():
    """A run of 300 tokens due in a window: over one month (m2) at multiplier 2 it needs 600 tokens on
    the path; over two months (m1, m2) at 1 and 2, 450; demand scales month by month."""
    from polyfleet.plan.stochastic import path_inputs
    inp = simple_inputs(offerings=[{"id": "o", "on_demand": 1.0}],
                        workloads=[{"id": "run", "demand": 10.0, "rates": {"o": 1.0}}], months=3)
    mult = np.array([[1.0, 2.0, 4.0]])
    one = replace(inp, window_tokens=np.array([300.0]), window=np.array([[False, True, False]]))
    assert path_inputs(one, mult, reference=True).window_tokens.tolist() == pytest.approx([600.0])
    two = replace(inp, window_tokens=np.array([300.0]), window=np.array([[True, True, False]]))
    out = path_inputs(two, mult, reference=False)
    assert out.window_tokens.tolist() == pytest.approx([450.0])
    assert out.demand[0].tolist() == pytest.approx([10.0, 20.0, 40.0])
