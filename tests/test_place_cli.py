"""`polyfleet place` on a scenario's fleet, with a failover what-if."""

from __future__ import annotations

import json
import re
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


LOST = "gcp/tpu-v6e-8/us-east1"


def test_losing_the_serving_pool_shows_after_with_before(run_cli, tmp_path):
    """The TPU pool holds all of chat's replicas; losing it leaves 2 p5en units (16 chips). The
    report is the state after: the lost pool holds 0 chips and 0 replicas (its replicas before are
    beside them), every moved replica left the lost pool, the moves add up to the replica changes,
    and each tier's share served is what the replicas' capacity serves in tier order (enterprise
    first), computed here from the replica rows."""
    p = tmp_path / "small.yaml"
    p.write_text(textwrap.dedent(SMALL).replace("units: 40", "units: 2"), encoding="utf-8")
    code, out, _ = run_cli("place", str(p), "--lose", LOST, "--format", "json", "-q")
    assert code == 0
    doc = json.loads(out)
    assert doc["fleet_chips"][LOST] == 0 and doc["fleet_chips_before"][LOST] == 480
    on_lost = [r for r in doc["replicas"] if r["pool"] == LOST]
    assert on_lost and all(r["replicas"] == 0 and r["replicas_before"] > 0 for r in on_lost)
    held = sum(r["replicas_before"] for r in on_lost)
    moves = doc["failover"]["moves"]
    assert all(m["from_pool"] == LOST for m in moves)
    assert sum(m["from_replicas"] for m in moves) == held
    for r in doc["replicas"]:
        started = sum(m["to_replicas"] for m in moves if m["to_pool"] == r["pool"] and m["service"] == r["service"])
        stopped = sum(m["from_replicas"] for m in moves if m["from_pool"] == r["pool"] and m["service"] == r["service"])
        assert r["replicas"] - r["replicas_before"] == started - stopped
    capacity = sum(r["tokens_per_s"] for r in doc["replicas"])
    tiers = {t["tier"]: t for t in doc["tiers"]}
    assert list(tiers) == ["enterprise", "standard"]                 # priority order, highest first
    assert 0 < capacity < 100_000                                    # 16 chips cannot hold the enterprise half
    assert tiers["enterprise"]["served_share"] == pytest.approx(capacity / 100_000, rel=1e-9)
    assert tiers["standard"]["served_share"] == pytest.approx(0.0, abs=1e-12)
    assert tiers["enterprise"]["served_share_before"] == tiers["standard"]["served_share_before"] == pytest.approx(1.0)
    assert doc["placement"]["served_share_by_tier"]["enterprise"] == pytest.approx(capacity / 100_000, rel=1e-9)
    assert doc["failover"]["rebalance"] is False


def test_rebalance_and_the_table_say_what_they_did(run_cli, small):
    code, out, _ = run_cli("place", str(small), "--lose", LOST, "--rebalance", "-q")
    assert code == 0
    assert "global re-placement" in out and "served before" in out and "replicas before" in out
    code, out, _ = run_cli("place", str(small), "--lose", LOST, "-q")
    assert "only what the lost pools held" in out
    assert not re.search(r"(?<![\d.])0\.0%", out)                   # no replica row routed at 0.0%


def test_unknown_pool_is_a_clear_error(run_cli, small):
    code, _, err = run_cli("place", str(small), "--lose", "aws/p5en.48xlarge/us-east-9", "-q")
    assert code == 2 and "aws/p5en.48xlarge/us-east-1" in err and "Traceback" not in err
