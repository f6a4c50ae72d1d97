"""Connecting to the database: SQLite by default (a file, no set-up), PostgreSQL by URL.

`Database.read()` and `Database.write()` give a session for one unit of work. On SQLite a write
session starts with BEGIN IMMEDIATE, so two writers queue on the file lock instead of failing
when a read lock cannot be upgraded; the file runs in WAL mode so readers never wait for the
writer, with full fsync on commit (a commit acknowledged is on disk). On PostgreSQL the two are
ordinary transactions; writers that must not interleave lock a row (see `fleet_lock`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from ...errors import UserError

DEFAULT_URL = "sqlite:///polyfleet.db"
URL_HELP = "sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DATABASE"


def normalise_url(url: str) -> str:
    """The SQLAlchemy URL for `url`; `postgresql://` and `postgres://` use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"'{url}' is not a database URL", field="--db", allowed=URL_HELP) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise UserError(f"unsupported database '{parsed.get_backend_name()}'", field="--db", allowed=URL_HELP)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise UserError(f"unsupported PostgreSQL driver '{parsed.get_driver_name()}'", field="--db",
                        allowed="postgresql+psycopg://...")
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise UserError("SQLite needs a file (workers and the server share it)", field="--db", allowed=URL_HELP)
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, None for other databases."""
    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None


def _sqlite_engine(url: str) -> Engine:
    # as many pooled connections as the thread pool has threads: none is opened (and set up) per request
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, pool_size=40,
                           max_overflow=10)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None          # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("polyfleet_write")
                             else "BEGIN")

    return engine


@dataclass
class Database:
    """An engine and its read and write session factories."""

    url: str
    engine: Engine

    def __post_init__(self) -> None:
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(polyfleet_write=True), expire_on_commit=False)
        self.generation = 0                 # commits made through this object (see server.readcache)
        self._generation_lock = threading.Lock()

    @classmethod
    def connect(cls, url: str) -> Database:
        url = normalise_url(url)
        if url.startswith("sqlite"):
            return cls(url, _sqlite_engine(url))
        return cls(url, create_engine(url, pool_size=20, max_overflow=30, pool_pre_ping=True))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; closing it ends its transaction and leaves loaded objects usable."""
        with self._read() as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session that commits when the block ends without an exception and rolls back otherwise."""
        with self._write() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise
            finally:
                self.bump()

    def bump(self) -> None:
        """Mark what was read before as possibly stale (after a commit; also after a rollback, harmlessly)."""
        with self._generation_lock:
            self.generation += 1

    def fleet_lock(self, s: Session) -> None:
        """Serialise writers of the live fleet: a row lock on PostgreSQL (SQLite's BEGIN IMMEDIATE already
        serialises every writer)."""
        from .tables import FleetState
        if self.dialect == "postgresql":
            s.execute(select(FleetState.id).where(FleetState.id == 1).with_for_update())

    def describe(self) -> str:
        """The URL without its password, for messages and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()
