"""`polyfleet place` on a scenario's fleet, with a failover what-if."""

from __future__ import annotations

import json
import textwrap

import pytest

SMALL = """
name: place-small
horizon: {start: 2026-01, months: 2}
workloads:
  services:
    - {id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tokens_per_s: 2.0e5}
  training:
    - {id: tune, model: llama-3.1-8b, chips: 64, tokens_per_month: 1.0e11}
tenants:
  - {id: enterprise, share: 0.5, survive: 0.8}
fleet:
  - {offering: "aws/p5en.48xlarge/us-east-1", units: 40}
  - {offering: "gcp/tpu-v6e-8/us-east1", units: 60}
"""


@pytest.fixture
def small(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(textwrap.dedent(SMALL), encoding="utf-8")
    return p


def test_place_uses_the_fleet_and_serves_tiers(run_cli, small):
    code, out, _ = run_cli("place", str(small), "--format", "json", "-q")
    assert code == 0
    doc = json.loads(out)
    assert doc["fleet_chips"] == {"aws/p5en.48xlarge/us-east-1": 320.0, "gcp/tpu-v6e-8/us-east1": 480.0}
    assert all(t["served_share"] == pytest.approx(1.0) for t in doc["tiers"])
    weights = {}
    for r in doc["replicas"]:
        weights[r["service"]] = weights.get(r["service"], 0.0) + r["routing_weight"]
    assert weights == {"chat": pytest.approx(1.0)}
    (tune,) = doc["training"]
    assert tune["tokens_per_s"] == pytest.approx(1.0e11 / (730 * 3600), rel=1e-6)   # fits in the chips left


def test_losing_a_pool_moves_only_what_was_there(run_cli, small):
    code, out, _ = run_cli("place", str(small), "--lose", "aws/p5en.48xlarge/us-east-1", "--format", "json", "-q")
    assert code == 0
    doc = json.loads(out)
    moves = doc["failover"]["moves"]
    before = {r["pool"] for r in doc["replicas"]}
    if "aws/p5en.48xlarge/us-east-1" in before:
        assert any(m["from_pool"] == "aws/p5en.48xlarge/us-east-1" for m in moves)
    assert all(m["to_pool"] != "aws/p5en.48xlarge/us-east-1" for m in moves)


def test_unknown_pool_is_a_clear_error(run_cli, small):
    code, _, err = run_cli("place", str(small), "--lose", "aws/p5en.48xlarge/us-east-9", "-q")
    assert code == 2 and "aws/p5en.48xlarge/us-east-1" in err and "Traceback" not in err
