"""Prometheus metrics: request latency per route, the job queue by status, reconcile time, events.

One registry per app (tests build several apps in one process). Run counts are read from the
jobs table at scrape time, so they are right whichever process changed them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from .db.tables import RUN_STATUSES

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram("polyfleet_http_request_duration_seconds", "HTTP request latency by route",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.reconcile = Histogram("polyfleet_reconcile_duration_seconds", "Time to re-place the fleet after a change",
                                   buckets=LATENCY_BUCKETS, registry=self.registry)
        self.events = Counter("polyfleet_events_total", "Fleet events received", ["kind", "outcome"],
                              registry=self.registry)
        self.jobs = Gauge("polyfleet_jobs", "Runs by status; status=queued is the job queue depth", ["status"],
                          registry=self.registry)

    def render(self, depth: dict[str, int]) -> bytes:
        for status in RUN_STATUSES:
            self.jobs.labels(status).set(depth.get(status, 0))
        return generate_latest(self.registry)
