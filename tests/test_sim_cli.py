"""`polyfleet simulate` and `polyfleet risk` end to end on a small scenario, and their error paths."""

from __future__ import annotations

import json
import textwrap

import pytest

SMALL = """
name: sim-small
horizon: {start: 2026-01, months: 3}
offerings:
  include:
    - {provider: gcp, accelerator: tpu-v6e, region: [gcp/us-east1, gcp/us-central1]}
    - {provider: aws, accelerator: h200, region: aws/us-east-1}
workloads:
  services:
    - {id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tpot_s: 0.03,
       tokens_per_s: 2.0e5, peak_factor: 1.3}
tenants:
  - {id: enterprise, share: 0.5, survive: 0.8, customers: 50}
  - {id: self-serve, share: 0.5, customers: 2000}
simulation: {months: 2, step_minutes: 30}
"""


@pytest.fixture
def small(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(textwrap.dedent(SMALL), encoding="utf-8")
    return p


def test_help_has_examples(run_cli):
    for cmd in ("simulate", "risk"):
        code, out, _ = run_cli(cmd, "--help")
        assert code == 0 and "Example" in out and "--what-if" in out


def test_simulate_what_if_outage(run_cli, small, tmp_path):
    code, out, _ = run_cli("simulate", str(small), "--no-faults", "--what-if", "outage:provider=gcp,day=5,hours=12",
                           "--format", "json", "-q", "--out", str(tmp_path / "o"))
    assert code == 0
    doc = json.loads(out)
    (inc,) = doc["incidents"]
    assert inc["target"] == "provider:gcp" and inc["hours"] == 12
    ent = next(c for c in doc["classes"] if c["class"] == "enterprise")
    assert ent["served_share"] == pytest.approx(1.0)        # the plan protects 80% of it; h200s carry it
    assert {p.name for p in (tmp_path / "o").iterdir()} >= {"report.html", "simulation.json", "incidents.csv"}
    html = (tmp_path / "o" / "report.html").read_text()
    assert "<svg" in html and "http://" not in html.split("<svg")[0]


def test_risk_pool_and_one_process_agree(run_cli, small):
    args = ("risk", str(small), "--runs", "4", "--seed", "3", "--format", "json", "-q", "--no-compare")
    code1, out1, _ = run_cli(*args, "--workers", "1")
    code2, out2, _ = run_cli(*args, "--workers", "2")
    assert code1 == code2 == 0
    a, b = json.loads(out1), json.loads(out2)
    assert a["strategies"] == b["strategies"]
    assert a["strategies"][0]["runs"] == 4


@pytest.mark.parametrize("args,needle", [
    (["simulate", "--what-if", "outage:provider=gpc,day=3"], "gcp"),
    (["simulate", "--what-if", "outage:provider=gcp,hours=-4"], "positive"),
    (["simulate", "--what-if", "flood:provider=gcp"], "outage"),
    (["risk", "--runs", "0"], "at least 1"),
    (["simulate", "--months", "0"], "at least 1"),
])
def test_bad_input_is_one_line_exit_2(run_cli, small, args, needle):
    code, _, err = run_cli(args[0], str(small), *args[1:], "-q")
    assert code == 2 and needle in err and "Traceback" not in err


def test_negative_fault_rate_in_scenario_names_line(run_cli, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(textwrap.dedent(SMALL) + "faults:\n  region_outages: {rate_per_region_year: -1}\n", encoding="utf-8")
    code, _, err = run_cli("simulate", str(p), "-q")
    assert code == 2 and "bad.yaml:" in err and "rate_per_region_year" in err


@pytest.fixture
def trained(tmp_path):
    p = tmp_path / "trained.yaml"
    text = textwrap.dedent(SMALL).replace("simulation: {months: 2, step_minutes: 30}\n",
                                          "simulation: {step_minutes: 30}\n")
    text = text.replace("tokens_per_s: 2.0e5, peak_factor: 1.3}\n",
                        "tokens_per_s: 2.0e5, peak_factor: 1.3}\n  training:\n"
                        "    - {id: tune, model: llama-3.1-8b, chips: 8, tokens_per_month: 5.0e9}\n")
    p.write_text(text, encoding="utf-8")
    return p


def test_simulate_reports_training_apart_and_agrees_with_the_plan_when_nothing_fails(run_cli, trained):
    """--no-faults: no sampled faults and no chip failures. The whole 3-month horizon is simulated by
    default; the fine-tuning run trains where the plan put it, so it is on the plan's pace (what is
    left is whole-replica placement, named as such); the batch class (training only) is not in the
    inference table."""
    code, out, _ = run_cli("simulate", str(trained), "--no-faults", "--format", "json", "-q")
    assert code == 0
    doc = json.loads(out)
    assert doc["months"] == doc["horizon_months"] == 3 and doc["scope"] == "3 months"
    assert "batch" not in [c["class"] for c in doc["classes"]]
    (tune,) = doc["training"]
    assert tune["workload"] == "tune" and tune["trained_share"] > 0.9
    causes = {k: v for k, v in tune.items() if k.startswith("delay_days_")}
    assert sum(causes.values()) == pytest.approx(tune["delay_days"], abs=1e-9)
    assert all(v == 0 for k, v in causes.items() if k != "delay_days_placement")
    assert doc["chip_failures"] is False and doc["start"] == "2026-01-01 00:00"


def test_risk_json_has_training_intervals_warnings_and_a_headline(run_cli, trained):
    code, out, _ = run_cli("risk", str(trained), "--runs", "5", "--format", "json", "-q", "--no-compare",
                           "--workers", "1")
    assert code == 0
    doc = json.loads(out)
    assert doc["headline"].startswith("Over the 3 months, 'policy (diversified)'")
    assert any("of 5 runs" in w for w in doc["warnings"])
    (row,) = doc["strategies"]
    for key in ("tune_delay_days_mean", "tune_delay_days_p95", "tune_trained_share_mean", "cvar95_total_usd"):
        assert row[f"{key}_lo"] is None or row[f"{key}_lo"] <= row[key] + 1e-9
    assert [t["workload"] for t in doc["training"]] == ["tune"]
    assert {i["class"] for i in doc["inference"]} == {"enterprise", "self-serve"}


def test_months_beyond_a_what_if_are_refused(run_cli, small):
    code, _, err = run_cli("simulate", str(small), "--no-faults", "--what-if", "outage:provider=gcp,day=400", "-q")
    assert code == 2 and "after the simulated" in err
