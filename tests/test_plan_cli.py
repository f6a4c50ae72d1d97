"""`polyfleet plan` and `polyfleet scenario` through the real entry point."""

from __future__ import annotations

import csv
import io
import json
import textwrap

import pytest

SMALL = """
name: cli-small
horizon: {start: 2026-01, months: 3}
offerings:
  include:
    - {provider: gcp, accelerator: tpu-v6e, region: gcp/us-east1}
    - {provider: aws, accelerator: h200, region: aws/us-east-1}
workloads:
  services:
    - {id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tpot_s: 0.03, tokens_per_s: 2.0e5}
tenants:
  - {id: enterprise, share: 0.5, survive: 0.8}
"""


@pytest.fixture
def small(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(textwrap.dedent(SMALL), encoding="utf-8")
    return p


def test_help_has_examples(run_cli):
    for cmd in (["plan"], ["scenario"]):
        code, out, _ = run_cli(*cmd, "--help")
        assert code == 0 and "Example" in out
    code, out, _ = run_cli("plan", "--help")
    assert "--compare" in out and "--frontier" in out and "--out" in out


def test_plan_json_and_csv(run_cli, small):
    code, out, _ = run_cli("plan", str(small), "--format", "json", "-q")
    assert code == 0
    doc = json.loads(out)
    assert doc["feasible"] and doc["solver"]["status"] == "Optimal" and doc["plan"]
    from polyfleet.plan import check_invariants
    assert check_invariants(doc) == []
    code, out, _ = run_cli("plan", str(small), "--format", "csv", "-q")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows and {"month", "offering", "chips", "mw", "cost_usd"} <= set(rows[0])


def test_plan_table_shows_status_limits_and_survivability(run_cli, small):
    code, out, _ = run_cli("plan", str(small), "-q")
    assert code == 0
    assert out.startswith("Summary") and "What to sign" in out and "Lock-in" in out
    assert out.index("Summary") < out.index("HiGHS status")
    for text in ("HiGHS status: Optimal", "MIP gap", "Capacity, power and cost by month", "What limits the plan",
                 "Survivability", "enterprise"):
        assert text in out


def test_default_plan_table_shows_whole_chip_counts_not_solver_noise(run_cli):
    """The built-in scenario's contracts leave the LP's tolerance (about 1e-12 chips) in months a
    contract delivers nothing; the table of chips per offering reads those as 0, never as 5.66e-12."""
    import re
    code, out, _ = run_cli("plan", "-q")
    assert code == 0 and "Plan: chips per offering" in out
    table = out[out.index("Plan: chips per offering"):out.index("Training runs")]
    assert not re.search(r"│\s*-?\d+(\.\d+)?e-\d+\s*│", table), table


def test_out_dir_written_and_foreign_files_never_replaced(run_cli, small, tmp_path):
    out = tmp_path / "out"
    code, _, err = run_cli("plan", str(small), "--out", str(out), "-q", "--compare", "--frontier", "--levels", "0,1")
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    assert {"plan.json", "plan.csv", "months.csv", "survivability.csv", "binding.csv", "procurement.csv",
            "report.html", "compare.csv", "frontier.csv"} <= names
    proc = list(csv.DictReader(io.StringIO((out / "procurement.csv").read_text(encoding="utf-8"))))
    owed = sum(float(r["after_horizon_usd"]) for r in proc)
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert owed == pytest.approx(doc["totals"]["commitments_after_horizon_usd"])
    assert "lock_in" in doc and "lock_in_share" in (out / "compare.csv").read_text(encoding="utf-8")
    # re-running into the same directory replaces only polyfleet's own files
    code, _, _ = run_cli("plan", str(small), "--out", str(out), "-q")
    assert code == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html").write_text("my notes", encoding="utf-8")
    code, _, err = run_cli("plan", str(small), "--out", str(mine), "-q")
    assert code == 2 and "report.html" in err and "--overwrite" in err
    assert (mine / "report.html").read_text(encoding="utf-8") == "my notes"
    assert not (mine / "plan.json").exists()                       # nothing was written


def test_infeasible_scenario_exits_3_with_named_conflicts(run_cli, small, tmp_path):
    """An infeasible plan is not bad input: its own exit code (3), with the diagnosis printed."""
    p = tmp_path / "tight.yaml"
    p.write_text(small.read_text() + "power:\n  total_mw: 0.01\n", encoding="utf-8")
    code, out, _ = run_cli("plan", str(p), "-q")
    assert code == 3
    assert "Infeasible" in out and "demand of chat cannot be met" in out and "power limit 'total'" in out


def test_bad_scenario_is_one_line_exit_2(run_cli, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("workloads:\n  services:\n    - {id: a, model: llama-3.1-8b, tokens_per_s: 1, colour: red}\n")
    code, out, err = run_cli("plan", str(p))
    assert code == 2 and "bad.yaml:3" in err and "colour" in err and "Traceback" not in err
    code, _, err = run_cli("plan", "no-such-scenario")
    assert code == 2 and "frontier-2026" in err


def test_scenario_command_validates_and_summarises(run_cli, small):
    code, out, _ = run_cli("scenario", str(small), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["services"] == ["chat"] and doc["protected_classes"]["enterprise"] == 0.8
    code, out, _ = run_cli("scenario", "--list")
    assert code == 0 and "frontier-2026" in out
