"""Observability: /metrics (a token needed) in Prometheus format with request latency by route, the job
queue by status and reconcile time; one JSON log line per request."""

from __future__ import annotations

import io
import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from polyfleet.server.logs import JsonFormatter


def _samples(text: str) -> dict[tuple, float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_count_requests_runs_and_reconciles(live):
    assert live.get("/metrics", role=None).status_code == 401
    for _ in range(3):
        live.get("/api/v1/fleet")
    live.post("/api/v1/events", {"id": "m1", "kind": "outage_start", "target": {"provider": "gcp"}})
    live.post("/api/v1/events", {"id": "m1", "kind": "outage_start", "target": {"provider": "gcp"}})   # replay
    for _ in range(2):
        live.post("/api/v1/runs", {"kind": "plan"}, role="operator")
    r = live.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    m = _samples(r.text)
    fleet = (("method", "GET"), ("route", "/api/v1/fleet"), ("status", "200"))
    assert m[("polyfleet_http_request_duration_seconds_count", fleet)] == 3
    assert m[("polyfleet_jobs", (("status", "queued"),))] == 2
    assert m[("polyfleet_jobs", (("status", "running"),))] == 0
    assert m[("polyfleet_events_total", (("kind", "outage_start"), ("outcome", "recorded")))] == 1
    assert m[("polyfleet_events_total", (("kind", "outage_start"), ("outcome", "replayed")))] == 1
    assert m[("polyfleet_reconcile_duration_seconds_count", ())] == 2       # activation and outage; not the replay
    assert m[("polyfleet_reconcile_duration_seconds_sum", ())] > 0


def test_logs_are_one_json_object_per_line():
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("polyfleet.test-json")
    log.addHandler(handler)
    log.setLevel("INFO")
    log.info("request", extra={"request_id": "abc", "status": 201, "ms": 1.5, "route": "/api/v1/events"})
    doc = json.loads(buf.getvalue())
    assert (doc["msg"], doc["level"], doc["request_id"], doc["status"], doc["ms"]) == ("request", "info", "abc", 201,
                                                                                       1.5)
    assert doc["ts"].endswith("+00:00")
