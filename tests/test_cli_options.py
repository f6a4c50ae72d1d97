"""One option vocabulary: the same names and meanings on every command, --version, help texts that
say what they do, option combinations that do nothing refused before any work, and progress that
is never silent when stderr is a log."""

from __future__ import annotations

import io
import json
import re
import time

import pytest

from polyfleet.cli import app
from polyfleet.cli.progress import Heartbeat, elapsed

SCENARIO_COMMANDS = ("scenario", "plan", "place", "simulate", "risk")


def command(name: str):
    import typer.main
    group = typer.main.get_command(app)
    return group.commands[name]


def flags(name: str) -> set[str]:
    return {o for p in command(name).params for o in getattr(p, "opts", [])}


@pytest.mark.parametrize("name", SCENARIO_COMMANDS)
def test_scenario_is_the_positional_everywhere(name):
    args = [p for p in command(name).params if p.param_type_name == "argument"]
    assert [(a.name, a.metavar) for a in args] == [("scenario", "SCENARIO")]


@pytest.mark.parametrize("name,expected", [
    ("plan", {"--out", "--format", "--quiet", "--gap", "--time-limit", "--overwrite"}),
    ("place", {"--out", "--format", "--quiet", "--gap", "--time-limit", "--overwrite"}),
    ("simulate", {"--out", "--format", "--quiet", "--seed", "--gap", "--time-limit", "--months", "--what-if"}),
    ("risk", {"--out", "--format", "--quiet", "--seed", "--workers", "--gap", "--time-limit", "--months",
              "--what-if"}),
    ("compare", {"--out", "--format", "--overwrite"}),
    ("scenario", {"--format"}),
])
def test_shared_options_where_they_make_sense(name, expected):
    assert expected <= flags(name)


def test_shared_options_mean_the_same_everywhere():
    """An option's help text is the same on every command that has it (one definition)."""
    helps: dict[str, set[str]] = {}
    for name in ("plan", "place", "simulate", "risk"):
        for p in command(name).params:
            for o in getattr(p, "opts", []):
                if o in ("--out", "--quiet", "--gap", "--time-limit", "--overwrite"):
                    helps.setdefault(o, set()).add(p.help)
    assert helps and all(len(h) == 1 for h in helps.values()), helps


def test_scenario_format_help_does_not_mention_out(run_cli):
    code, out, _ = run_cli("scenario", "--help")
    assert code == 0 and "--out" not in out


def test_risk_help_names_the_ray_extra(run_cli):
    code, out, _ = run_cli("risk", "--help")
    assert code == 0 and "polyfleet[ray]" in out.replace("\n", "").replace(" ", "")


def test_help_documents_exit_codes(run_cli):
    code, out, _ = run_cli("--help")
    text = " ".join(out.split())
    assert code == 0 and "3 no feasible plan" in text and "2 bad input" in text and "1 a bug" in text


def test_version(run_cli):
    from importlib.metadata import version
    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == f"polyfleet {version('polyfleet')}"


@pytest.mark.parametrize("args,option", [
    (["plan", "--levels", "0,1"], "--levels"),
    (["plan", "--overwrite"], "--overwrite"),
    (["risk", "--ray", "auto", "--workers", "2"], "--workers"),
    (["compare", "--model", "llama-3.1-8b", "--inference", "--tokens", "1e12"], "--tokens"),
    (["compare", "--model", "llama-3.1-8b", "--training", "--tpot-ms", "30"], "--tpot-ms"),
    (["scenario", "frontier-2026", "--list"], "--list"),
])
def test_options_that_would_do_nothing_are_refused(run_cli, args, option):
    code, _, err = run_cli(*args)
    assert code == 2 and err.startswith(f"error: {option}: ") and len(err.strip().splitlines()) == 1


def test_what_if_beyond_the_simulated_months_is_refused_before_the_solve(run_cli, monkeypatch):
    """Day 400 of a 12-month simulation (365.25 days) would be silently dropped; refused, and no plan is solved."""
    import polyfleet.plan
    monkeypatch.setattr(polyfleet.plan, "plan", lambda *a, **k: pytest.fail("the plan was solved before the check"))
    code, _, err = run_cli("simulate", "--months", "12", "--what-if", "outage:provider=gcp,day=400,hours=48")
    assert code == 2 and "--what-if" in err and "day 400 is after the simulated 12 months (365.25 days)" in err
    code, _, err = run_cli("risk", "--what-if", "outage:provider=azurex,day=3")
    assert code == 2 and "unknown provider 'azurex'" in err


def test_scenario_json_gives_the_horizon_as_data_and_lists_as_lists(run_cli):
    code, out, _ = run_cli("scenario", "--format", "json")
    doc = json.loads(out)
    assert doc["horizon"] == {"start": "2026-01", "end": "2027-12", "months": 24, "hours_per_month": 730.0}
    assert not doc["description"].endswith("\n") and isinstance(doc["services"], list)
    code, out, _ = run_cli("scenario")
    services = next(ln for ln in out.splitlines() if " services " in ln)
    assert "coding-agents, chat-frontier" in services and "[" not in services


def test_place_and_compare_write_out(run_cli, tmp_path):
    out = tmp_path / "cmp"
    code, _, _ = run_cli("compare", "--model", "llama-3.1-8b", "--inference", "--out", str(out))
    rows = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert code == 0 and rows[0]["rank"] == 1
    assert (out / "compare.csv").read_text(encoding="utf-8").startswith("rank,")
    assert json.loads((out / ".polyfleet-outputs.json").read_text(encoding="utf-8")) == ["compare.csv",
                                                                                        "compare.json"]


# ---- progress --------------------------------------------------------------------------------------

def test_heartbeat_says_what_n_of_total_and_elapsed():
    buf = io.StringIO()
    beat = Heartbeat(total=100, unit="runs", first_s=0.0, every_s=3600, stream=buf)
    beat.say("Monte Carlo, 4 strategies")
    beat.advance(40)
    beat.tick()
    beat.tick()                                    # nothing new, not yet due: no second line
    beat.say("writing the report")
    beat.tick()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"progress: Monte Carlo, 4 strategies \(40 of 100 runs, \d+ s\)", lines[0])
    assert lines[1].startswith("progress: writing the report (40 of 100 runs, ")


def test_heartbeat_is_silent_for_short_work_and_repeats_while_long_work_runs():
    buf = io.StringIO()
    beat = Heartbeat(first_s=3600, stream=buf)
    beat.tick()
    assert buf.getvalue() == ""                    # a command done in a moment prints no progress
    beat = Heartbeat(first_s=0.0, every_s=0.0, stream=buf)
    beat.tick()
    time.sleep(0.01)
    beat.tick()
    assert buf.getvalue().count("progress: working") == 2


def test_elapsed_reads_as_minutes_and_hours():
    assert [elapsed(s) for s in (7, 72, 3725)] == ["7 s", "1 min 12 s", "1 h 02 min"]


def test_a_peak_the_simulated_day_cannot_draw_is_refused_by_simulate_not_by_plan(run_cli, tmp_path, monkeypatch):
    """peak_factor 2.5 plans fine; simulated, its day would need a peak of 2.5 / (7 / 6.4) = 2.29x the mean,
    past the cosine's 2x (negative traffic at night): simulate and risk refuse it before any solve."""
    import polyfleet.plan
    p = tmp_path / "spiky.yaml"
    p.write_text("horizon: {months: 2}\nofferings: {include: [{provider: aws}]}\nworkloads:\n  services:\n"
                 "    - {id: api, model: llama-3.1-8b, tokens_per_s: 1.0e5, peak_factor: 2.5}\n", encoding="utf-8")
    code, _, _ = run_cli("scenario", str(p))
    assert code == 0
    monkeypatch.setattr(polyfleet.plan, "plan", lambda *a, **k: pytest.fail("solved before the check"))
    for cmd in ("simulate", "risk"):
        code, _, err = run_cli(cmd, str(p), "-q")
        assert code == 2 and "spiky.yaml:5: workloads.services[0].peak_factor" in err and "2.29x" in err
        assert "up to 2.19" in err
