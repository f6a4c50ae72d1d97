"""Helpers of the service's tests (fixtures are in conftest.py): the test scenario, emptying the
tables, a client signed in as a role, real worker processes, waiting for a condition."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from polyfleet.server.db import Database

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
TABLES = ("audit", "run_messages", "runs", "incidents", "placement_moves", "placement_tiers", "placement_replicas",
          "placements", "events", "pools", "fleet_state", "scenario_versions", "tokens")


def wipe(db: Database) -> None:
    """Empty every table; the fleet's settings row back as the migration made it."""
    from sqlalchemy import text
    with db.write() as s:
        if db.dialect == "postgresql":
            s.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for t in TABLES:
                s.execute(text(f"DELETE FROM {t}"))
        s.execute(text("INSERT INTO fleet_state (id, demand_factors, version, updated_at) "
                       "VALUES (1, '{}', 1, CURRENT_TIMESTAMP)"))


class Api:
    """A test client that signs requests as one role or another."""

    def __init__(self, client, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def call(self, method: str, path: str, role: str | None = "admin", **kw):
        headers = dict(kw.pop("headers", {}) or {})
        if role:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return self.client.request(method, path, headers=headers, **kw)

    def get(self, path, role="viewer", **kw):
        return self.call("GET", path, role, **kw)

    def post(self, path, json=None, role="admin", **kw):
        return self.call("POST", path, role, json=json, **kw)

    def patch(self, path, json=None, role="operator", **kw):
        return self.call("PATCH", path, role, json=json, **kw)


def pool_id(api, offering: str) -> int:
    return next(p["id"] for p in api.get("/api/v1/fleet/pools").json()["items"] if p["offering"] == offering)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(db_url: str, *extra: str, log=None) -> subprocess.Popen:
    """A real worker process, as `polyfleet serve` starts them (short lease for the tests)."""
    return subprocess.Popen([sys.executable, "-m", "polyfleet.server.worker", "--db", db_url, "--lease-s", "2",
                             "--poll-s", "0.2", "--log-level", "warning", *extra],
                            stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)


def wait_for(predicate, timeout: float = 60.0, every: float = 0.1, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
