"""Storage: the migrations shipped in the package create exactly the tables the models describe, on
SQLite and on PostgreSQL; writers on SQLite queue instead of failing."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from polyfleet.server.db import current_revision, head_revision
from polyfleet.server.db.tables import Base, FleetState
from polyfleet.server.fleet import utcnow


def test_the_migrations_make_exactly_the_models_tables(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert current_revision(db) == head_revision() == "0002"
    with db.read() as s:
        state = s.get(FleetState, 1)
    assert (state.scenario_version_id, state.version, state.demand_factors) == (None, 1, {})


def test_concurrent_writers_all_commit(db):
    """Eight threads each bump the fleet's version 10 times: all 80 increments land (no lost update, no
    'database is locked'), because writers serialise (SQLite's BEGIN IMMEDIATE, PostgreSQL's row lock)."""
    errors = []

    def bump() -> None:
        try:
            for _ in range(10):
                with db.write() as s:
                    db.fleet_lock(s)
                    st = s.get(FleetState, 1)
                    st.version += 1
                    st.updated_at = utcnow()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as s:
        assert s.scalar(select(FleetState.version)) == 81
