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
