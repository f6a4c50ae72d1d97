"""Every shipped scenario (examples/*.yaml and each built-in) through every command, as a user runs
them: scenario, plan, place, simulate (2 months in hourly steps) and risk (2 runs), checking the exit
code (0; 3 for power-crunch, which is infeasible on purpose and must print its diagnosis) and that the
JSON parses with the fields a user reads. Nothing is skipped: a shipped example can never break again.
Options are the fastest that keep the commands' paths: short simulations, risk without the
single-vendor comparison (plan --compare solves six plans; the planner's tests cover it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyfleet.errors import EXIT_INFEASIBLE
from polyfleet.scenario import builtin_scenarios, load_scenario

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))
SCENARIOS = EXAMPLES + builtin_scenarios()
INFEASIBLE = {"examples/power-crunch.yaml"}
SIM = ("--months", "2", "--step-minutes", "60")
# a 5% MIP gap stops the mid-size plan long before the default time limit; the generous limit keeps a
# loaded machine from turning a slow solve into "no plan" (the test is about every path working)
SOLVE = ("--gap", "0.05", "--time-limit", "600")


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_every_example_is_listed_in_examples_readme():
    readme = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    assert EXAMPLES and all(Path(e).name in readme for e in EXAMPLES)
    assert all(f"`{b}`" in readme for b in builtin_scenarios())


def run_json(run_cli, *args):
    code, out, err = run_cli(*args, "--format", "json")
    return code, (json.loads(out) if out.strip() else None), err


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(run_cli, scenario):
    code, doc, err = run_json(run_cli, "scenario", scenario)
    scn = load_scenario(scenario)
    assert code == 0, err
    assert doc["name"] == scn.name and doc["horizon"]["months"] == scn.horizon.months
    assert doc["offerings"] >= 1 and doc["services"] + doc["training"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_plan(run_cli, scenario):
    if scenario in INFEASIBLE:
        code, out, _ = run_cli("plan", scenario, *SOLVE, "-q")
        assert code == EXIT_INFEASIBLE
        assert "No plan satisfies every constraint" in out and "power limit" in out
        return
    code, doc, err = run_json(run_cli, "plan", scenario, *SOLVE, "-q")
    assert code == 0, err
    assert doc["feasible"] is True and doc["status_line"].startswith("HiGHS status:")
    assert doc["totals"]["cost_usd"] > 0 and doc["totals"]["peak_chips"] > 0
    assert len(doc["months_summary"]) == load_scenario(scenario).horizon.months
    assert 0 <= doc["totals"]["mix_by_family_last_month"]["gpu"]["mw_share"] <= 1


def assert_infeasible_with_diagnosis(code, err):
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert code == EXIT_INFEASIBLE and len(lines) == 1
    assert "has no plan" in lines[0] and "power limit" in lines[0]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_place(run_cli, scenario):
    code, doc, err = run_json(run_cli, "place", scenario, *SOLVE, "-q")
    if scenario in INFEASIBLE and not load_scenario(scenario).fleet:
        assert_infeasible_with_diagnosis(code, err)
        return
    assert code == 0, err
    assert doc["fleet_chips"] and doc["month"] == load_scenario(scenario).months[0]
    assert all(0 <= t["served_share"] <= 1 for t in doc["tiers"])
    assert sum(r["chips"] for r in doc["replicas"]) <= sum(doc["fleet_chips"].values())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_simulate(run_cli, scenario):
    code, doc, err = run_json(run_cli, "simulate", scenario, *SIM, *SOLVE, "-q")
    if scenario in INFEASIBLE:
        assert_infeasible_with_diagnosis(code, err)
        return
    assert code == 0, err
    assert doc["months"] == 2 and doc["step_minutes"] == 60
    assert doc["classes"] and all(0 <= c["served_share"] <= 1 for c in doc["classes"])
    assert doc["cost_planned_usd"] > 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_risk(run_cli, scenario):
    code, doc, err = run_json(run_cli, "risk", scenario, "--runs", "2", "--no-compare", "--workers", "1", *SIM, *SOLVE,
                              "-q")
    if scenario in INFEASIBLE:
        assert_infeasible_with_diagnosis(code, err)
        return
    assert code == 0, err
    assert doc["runs"] == 2 and doc["months"] == 2 and doc["strategies"]
    assert doc["strategies"][0]["strategy"].startswith("policy")


def test_readme_library_example_runs_as_written():
    """The README's library section is code a user copies: run it exactly, so it cannot drift from the API."""
    import contextlib
    import io
    import re
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Using it as a library"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    out = io.StringIO()
    ns: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), ns)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("True Optimal")
    assert "('least cost (no risk policy)', True)" in lines[1] and float(lines[3]) > 0
    # the placement serves all 28,000 tokens/s on both pools; after the tpu pool is lost nothing runs
    # there, the 32 H100s are full, and only batch (the lower tier) may be short
    placed, after = ns["placed"], ns["after"]
    assert placed.shortfalls() == [] and placed.replicas[0].sum() > 0
    assert after.replicas[0, 0] == 0 and after.shortfalls()
    assert {s.tier for s in after.shortfalls()} == {"batch"}
