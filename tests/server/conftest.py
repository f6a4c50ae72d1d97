"""Fixtures for the service's tests: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL: a database of its own per test session (other sessions share the server), dropped at
the end; skipped, with the reason shown, only where no server answers. Each test starts from empty
tables (and the fleet's settings row).
"""

from __future__ import annotations

import os
import uuid

import pytest
from server_support import TINY, Api, wipe

from polyfleet.server.db import Database, upgrade

PG_ADMIN = os.environ.get("POLYFLEET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


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


