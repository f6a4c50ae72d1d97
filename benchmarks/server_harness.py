"""What the server benchmarks share: a fresh database (a temporary SQLite file, or a database of its own
on the local PostgreSQL), a real `polyfleet serve` process, tokens, a scenario made live, and the
machine's load while a figure was taken."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "server" / "data" / "tiny.yaml"
PG_ADMIN = os.environ.get("POLYFLEET_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def fresh_db(kind: str) -> Iterator[str]:
    """A migrated, empty database of `kind` (sqlite | postgresql); dropped afterwards."""
    from polyfleet.server.db import Database, upgrade
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            url = f"sqlite:///{d}/polyfleet.db"
            db = Database.connect(url)
            upgrade(db)
            db.dispose()
            yield url
        return
    import psycopg
    name = f"polyfleet_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    try:
        db = Database.connect(url)
        upgrade(db)
        db.dispose()
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def token(url: str, role: str = "admin", name: str = "bench") -> str:
    from polyfleet.server.auth import create_token
    from polyfleet.server.db import Database
    db = Database.connect(url)
    with db.write() as s:
        raw = create_token(s, name, role, "benchmark")[1]
    db.dispose()
    return raw


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, port: int, *, workers: int = 0, log: Path | None = None, extra: tuple[str, ...] = ()
          ) -> subprocess.Popen:
    """`polyfleet serve` as a user starts it; returns once /api/v1/health answers."""
    out = open(log, "a") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-c", "from polyfleet.cli import main; main()", "serve", "--db", url,
                             "--port", str(port), "--workers", str(workers), *extra],
                            stdout=out, stderr=out if log else subprocess.DEVNULL, cwd=tempfile.gettempdir())
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}" + (f"; see {log}" if log else ""))
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not answer within 120 s")


def make_live(base: str, admin: str, text: str, timeout: float = 600) -> dict:
    """Upload a scenario and make it live; returns the fleet document."""
    h = {"Authorization": f"Bearer {admin}"}
    r = httpx.post(f"{base}/api/v1/scenarios", json={"yaml": text}, headers=h, timeout=timeout)
    r.raise_for_status()
    r = httpx.post(f"{base}/api/v1/fleet/activate", json={"scenario": r.json()["name"]}, headers=h, timeout=timeout)
    r.raise_for_status()
    return r.json()


def load_note() -> str:
    """The machine's load average and cores, to print beside every figure."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (and its waited-for children) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
