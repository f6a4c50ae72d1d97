"""`polyfleet plan --paths N` and `--sensitivity` through the real entry point."""

from __future__ import annotations

import csv
import io
import json
import textwrap

import pytest

SMALL = """
name: cli-paths
horizon: {start: 2026-01, months: 3}
offerings:
  include:
    - {provider: gcp, accelerator: tpu-v6e, region: gcp/us-east1}
    - {provider: aws, accelerator: h200, region: aws/us-east-1}
workloads:
  services:
    - {id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tpot_s: 0.03, tokens_per_s: 2.0e5}
"""
PATHS = """
uncertainty:
  paths:
    - {id: low, probability: 0.5, demand: {chat: [1.0, 0.7, 0.5]}}
    - {id: base, probability: 0.5}
"""


@pytest.fixture
def small(tmp_path):
    def make(extra: str = ""):
        p = tmp_path / "small.yaml"
        p.write_text(textwrap.dedent(SMALL) + textwrap.dedent(extra), encoding="utf-8")
        return p
    return make


def test_paths_json_table_and_files(run_cli, small, tmp_path):
    code, out, _ = run_cli("plan", str(small(PATHS)), "--paths", "5", "--quiet", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    p = doc["paths"]
    assert [r["id"] for r in p["paths"]] == ["low", "base"]          # the scenario's own paths, not 5 sampled
    assert p["reference"] == "base" and p["expected_usd"] == pytest.approx(
        sum(r["probability"] * r["cost_usd"] for r in p["paths"]))
    assert p["low"]["id"] == "low" and p["cvar_usd"] >= p["expected_usd"] - 1e-6
    assert any("2 demand paths" in a for a in doc["assumptions"])
    out_dir = tmp_path / "out"
    code, out, _ = run_cli("plan", str(small()), "--paths", "4", "--sensitivity", "--quiet", "--out", str(out_dir))
    assert code == 0 and "Demand paths" in out and "Sensitivity of cost" in out
    rows = list(csv.DictReader(io.StringIO((out_dir / "paths.csv").read_text())))
    assert [r["id"] for r in rows] == ["forecast", "path-01", "path-02", "path-03"]
    sens = list(csv.DictReader(io.StringIO((out_dir / "sensitivity.csv").read_text())))
    assert {"price google", "price nvidia", "demand chat"} <= {r["input"] for r in sens}
    html = (out_dir / "report.html").read_text()
    assert "Demand paths" in html and "Sensitivity (tornado)" in html and "<svg" in html


@pytest.mark.parametrize("value", ["1", "201", "x"])
def test_bad_paths_count_is_refused_before_work(run_cli, small, value):
    code, _, err = run_cli("plan", str(small()), "--paths", value, "--quiet")
    assert code == 2 and "--paths" in err


def test_an_infeasible_scenario_is_explained_with_paths_too(run_cli):
    from polyfleet.errors import EXIT_INFEASIBLE
    code, out, _ = run_cli("plan", "examples/power-crunch.yaml", "--paths", "3", "--quiet")
    assert code == EXIT_INFEASIBLE
    assert "No plan satisfies every constraint" in out and "power limit" in out
