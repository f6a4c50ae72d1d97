"""Starting the service: the database (created and migrated), the worker processes, the HTTP server.

`polyfleet serve` runs the API and dashboard in this process and the job workers as child
processes (restarted if one dies; each exits if this process dies). SQLite runs one worker: the
file has one writer at a time and no row locks to share work with.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from ..errors import UserError
from .db.engine import Database, normalise_url, sqlite_path
from .db.migrate import upgrade

log = logging.getLogger("polyfleet.server")


@dataclass(frozen=True)
class ServeOptions:
    db_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    ray_address: str | None = None
    lease_s: float = 30.0
    risk_processes: int = 1
    log_level: str = "info"


def open_database(url: str) -> tuple[Database, str]:
    """Connect, create the file or tables as needed, migrate; returns the database and a line saying which."""
    url = normalise_url(url)
    path = sqlite_path(url)
    existed = path is None or path.exists()
    if path is not None and not path.resolve().parent.is_dir():
        raise UserError(f"no directory {path.resolve().parent} for the SQLite file", field="--db")
    db = Database.connect(url)
    try:
        upgrade(db)
    except OperationalError as exc:
        db.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise UserError(f"cannot open the database {db.describe()}: {reason}", field="--db") from None
    if path is not None:
        what = f"SQLite database {path.resolve()} ({'existing' if existed else 'created'})"
    else:
        what = f"PostgreSQL database {db.describe()}"
    return db, what


def count_tokens(db: Database) -> int:
    from .db.tables import Token
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Token).where(Token.revoked_at.is_(None))))


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}", field="--port",
                            allowed="a free port, e.g. --port 8001") from None


class Workers:
    """The worker child processes, restarted when one exits unexpectedly."""

    def __init__(self, opts: ServeOptions) -> None:
        self.opts, self.procs, self.stopping = opts, [], False
        self._thread = threading.Thread(target=self._supervise, daemon=True)

    def command(self) -> list[str]:
        o = self.opts
        cmd = [sys.executable, "-m", "polyfleet.server.worker", "--db", o.db_url, "--parent-pid", str(os.getpid()),
               "--lease-s", str(o.lease_s), "--risk-processes", str(o.risk_processes), "--log-level", o.log_level]
        return cmd + (["--ray", o.ray_address] if o.ray_address else [])

    def start(self) -> None:
        self.procs = [subprocess.Popen(self.command()) for _ in range(self.opts.workers)]
        self._thread.start()

    def _supervise(self) -> None:
        while not self.stopping:
            time.sleep(2.0)
            for i, p in enumerate(self.procs):
                if p.poll() is not None and not self.stopping:
                    log.warning("worker exited; starting another", extra={"pid": p.pid, "code": p.returncode})
                    self.procs[i] = subprocess.Popen(self.command())

    def stop(self, grace_s: float = 10.0) -> None:
        self.stopping = True
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.monotonic() + grace_s
        for p in self.procs:
            try:
                p.wait(timeout=max(end - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                p.kill()


def _warm(app) -> None:
    """Build the live scenario's model before the first event needs it (a rate table can take seconds)."""
    from .db.tables import FleetState
    try:
        with app.state.db.read() as s:
            vid = s.get(FleetState, 1).scenario_version_id
        if vid is not None:
            app.state.cache.for_version(app.state.db, vid)
    except Exception:
        log.exception("could not prepare the live scenario's model")


def serve(opts: ServeOptions, say=print) -> None:
    """Run until interrupted: migrate, start the workers, serve HTTP."""
    import uvicorn

    from .app import create_app
    from .logs import setup_logging
    from .settings import Settings

    if opts.workers < 0:
        raise UserError("must be 0 or more", field="--workers")
    url = normalise_url(opts.db_url)
    if url.startswith("sqlite") and opts.workers > 1:
        raise UserError("SQLite runs one worker (one writer at a time)", field="--workers",
                        allowed="0 or 1 on SQLite; more on PostgreSQL (--db postgresql+psycopg://...)")
    check_port(opts.host, opts.port)
    setup_logging(opts.log_level)
    db, what = open_database(url)
    say(f"using the {what}")
    if count_tokens(db) == 0:
        say("no API token yet: create one with  polyfleet serve token create --role admin"
            + ("" if url.endswith("sqlite:///polyfleet.db") else f" --db '{db.describe()}'"))
    workers = Workers(ServeOptions(**{**opts.__dict__, "db_url": url}))
    if opts.workers:
        workers.start()
    say(f"serving http://{opts.host}:{opts.port}/ (dashboard), /api/v1 (API; spec at /api/v1/openapi.json), "
        f"/metrics; {opts.workers} worker{'s' if opts.workers != 1 else ''}" + (f" on Ray {opts.ray_address}"
                                                                               if opts.ray_address else ""))
    app = create_app(Settings(db_url=url), db)
    threading.Thread(target=_warm, args=(app,), daemon=True).start()
    config = uvicorn.Config(app, host=opts.host, port=opts.port, log_config=None, access_log=False,
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    try:
        server.run()
    finally:
        workers.stop()
        db.dispose()
    if server.started and server.should_exit:
        # stopped by Ctrl-C or SIGTERM: uvicorn re-raises the signal after shutting down, but asyncio's
        # runner can swallow it when the serving task ends before the cancellation lands; say so anyway
        raise KeyboardInterrupt
