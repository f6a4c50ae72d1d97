"""Fixtures for the service's tests: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL: a database of its own per test session (other sessions share the server), dropped at
the end; skipped, with the reason shown, only where no server answers. Each test starts from empty
tables (and the fleet's settings row).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from polyfleet.server.db import Database, upgrade

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
PG_ADMIN = os.environ.get("POLYFLEET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TABLES = ("audit", "run_messages", "runs", "incidents", "placement_moves", "placement_tiers", "placement_replicas",
          "placements", "events", "pools", "fleet_state", "scenario_versions", "tokens")


def pytest_configure(config):
    # Starlette's test client announces a future move to httpx2; nothing for these tests to act on
    config.addinivalue_line("filterwarnings", "ignore:.*httpx2.*")


def _pg_unavailable() -> str | None:
    try:
        import psycopg
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory):
    """A database URL of each kind, fresh for this test session."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'polyfleet.db'}"
        return
    reason = _pg_unavailable()
    if reason:
        pytest.skip(f"PostgreSQL: no server answers at {PG_ADMIN} ({reason})")
    import psycopg
    name = f"polyfleet_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated(db_url):
    db = Database.connect(db_url)
    upgrade(db)
    yield db
    db.dispose()


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


@pytest.fixture
def db(migrated):
    wipe(migrated)
    return migrated


@pytest.fixture
def app(db):
    from polyfleet.server.app import create_app
    from polyfleet.server.settings import Settings
    return create_app(Settings(db_url=db.url, log_requests=False, sse_max_s=3.0, sse_poll_s=0.1), db)


@pytest.fixture
def tokens(db) -> dict[str, str]:
    """One token per role, made as `polyfleet serve token create` makes them."""
    from polyfleet.server.auth import create_token
    out = {}
    with db.write() as s:
        for role in ("viewer", "operator", "admin"):
            out[role] = create_token(s, f"{role}-1", role, "test")[1]
    return out


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


@pytest.fixture
def api(app, tokens):
    from fastapi.testclient import TestClient
    with TestClient(app) as client:
        yield Api(client, tokens)


@pytest.fixture
def live(api):
    """tiny.yaml uploaded and serving: pools from its fleet, placement v1."""
    r = api.post("/api/v1/scenarios", {"yaml": TINY.read_text()})
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/fleet/activate", {"scenario": "tiny-fleet"})
    assert r.status_code == 200, r.text
    return api


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
