"""A worker process: claims runs from the jobs table and does them, one at a time.

The work itself runs in a child process (forked, in its own process group) that reports
progress over a pipe; the worker writes that progress, heartbeats the lease, and on a cancel
request or a lost lease kills the child's whole group (Monte Carlo pools included). A child
whose worker dies kills itself. The outcome is written once, conditionally (see `jobs`).

    python -m polyfleet.server.worker --db URL [--ray ADDRESS]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass

from ..errors import PolyfleetError
from . import jobs
from .db.engine import Database
from .logs import setup_logging

log = logging.getLogger("polyfleet.worker")


@dataclass
class WorkerOptions:
    lease_s: float = 30.0
    poll_s: float = 1.0
    progress_every_s: float = 0.5
    ray_address: str | None = None
    risk_processes: int = 1
    parent_pid: int | None = None


def _child(conn, kind: str, inputs: dict, params: dict, ray_address: str | None, processes: int, parent: int) -> None:
    """The job process: its own process group; dies with its worker."""
    os.setpgrp()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def watchdog() -> None:
        while True:
            if os.getppid() != parent:
                os.killpg(0, signal.SIGKILL)
            time.sleep(0.5)
    threading.Thread(target=watchdog, daemon=True).start()
    from .runners import RUNNERS
    try:
        result = RUNNERS[kind](inputs, params, lambda f, m: conn.send(("progress", f, m)), ray_address, processes)
        conn.send(("done", result))
    except PolyfleetError as exc:             # the scenario's fault: the run fails with the CLI's message
        conn.send(("error", str(exc)))
    except BaseException as exc:  # noqa: BLE001  (a bug of ours: failed, with the traceback in the log)
        conn.send(("bug", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        conn.close()


class Worker:
    def __init__(self, db: Database, options: WorkerOptions | None = None, name: str | None = None) -> None:
        self.db = db
        self.options = options or WorkerOptions()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = False

    def orphaned(self) -> bool:
        ppid = self.options.parent_pid
        return ppid is not None and os.getppid() != ppid

    def run_forever(self) -> None:
        log.info("worker started", extra={"worker": self.name, "database": self.db.describe()})
        while not self.stopping and not self.orphaned():
            try:
                for run_id, status in jobs.reap(self.db):
                    log.warning("lease expired", extra={"run": run_id, "status": status})
                c = jobs.claim(self.db, self.name, self.options.lease_s)
            except Exception:
                log.exception("cannot reach the database; retrying")
                time.sleep(self.options.poll_s)
                continue
            if c is None:
                time.sleep(self.options.poll_s)
                continue
            self.execute(c)
        log.info("worker stopped", extra={"worker": self.name})

    def execute(self, c: jobs.Claim) -> None:
        """Run one claimed attempt to its end: done, failed, cancelled, or given up (lease lost)."""
        log.info("run started", extra={"run": c.run_id, "kind": c.kind, "attempt": c.attempt})
        ctx = mp.get_context("fork")
        ours, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(theirs, c.kind, c.inputs, c.params, self.options.ray_address,
                                                self.options.risk_processes, os.getpid()), daemon=False)
        proc.start()
        theirs.close()
        try:
            outcome = self._watch(c, proc, ours)
        finally:
            _kill(proc)
            ours.close()
        log.info("run ended", extra={"run": c.run_id, "outcome": outcome, "attempt": c.attempt})

    def _watch(self, c: jobs.Claim, proc, conn) -> str:
        beat = time.monotonic()
        last_write, pending = 0.0, None
        while True:
            if time.monotonic() - beat >= self.options.lease_s / 3:
                beat = time.monotonic()
                state = jobs.heartbeat(self.db, c, self.options.lease_s)
                if state == "lost":
                    return "lease lost"
                if state == "cancel":
                    _kill(proc)
                    jobs.finish(self.db, c, "cancelled", worker=self.name)
                    return "cancelled"
                if self.orphaned():
                    return "worker orphaned"
            if self.stopping:
                _kill(proc)
                jobs.release(self.db, c, worker=self.name)
                return "released (worker stopping)"
            if not conn.poll(0.2):
                if not proc.is_alive() and not conn.poll(0):
                    jobs.finish(self.db, c, "failed", error=f"the job process died (exit code {proc.exitcode})",
                                worker=self.name)
                    return "died"
                if pending and time.monotonic() - last_write >= self.options.progress_every_s:
                    jobs.progress(self.db, c, *pending)
                    last_write, pending = time.monotonic(), None
                continue
            try:
                msg = conn.recv()
            except EOFError:
                continue
            if msg[0] == "progress":
                # a new phase (no fraction) is always written; counted progress at most every progress_every_s
                pending = (msg[1], msg[2])
                if msg[1] is None or time.monotonic() - last_write >= self.options.progress_every_s:
                    jobs.progress(self.db, c, *pending)
                    last_write, pending = time.monotonic(), None
            elif msg[0] == "done":
                ok = jobs.finish(self.db, c, "succeeded", result=msg[1], worker=self.name)
                return "succeeded" if ok else "lease lost before the result was written"
            else:
                if msg[0] == "bug":
                    log.error("run failed on a bug", extra={"run": c.run_id, "traceback": msg[2]})
                jobs.finish(self.db, c, "failed", error=msg[1], worker=self.name)
                return "failed"


def _kill(proc) -> None:
    """End the job process and everything it started (its process group)."""
    if proc.pid is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass                     # not a group leader yet: the process itself, below
    if proc.is_alive():
        proc.kill()
    proc.join(timeout=5)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m polyfleet.server.worker", description=__doc__)
    ap.add_argument("--db", required=True)
    ap.add_argument("--ray", default=None)
    ap.add_argument("--lease-s", type=float, default=30.0)
    ap.add_argument("--poll-s", type=float, default=1.0)
    ap.add_argument("--risk-processes", type=int, default=1)
    ap.add_argument("--parent-pid", type=int, default=None)
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args(argv)
    setup_logging(args.log_level)
    db = Database.connect(args.db)
    w = Worker(db, WorkerOptions(lease_s=args.lease_s, poll_s=args.poll_s, ray_address=args.ray,
                                 risk_processes=args.risk_processes, parent_pid=args.parent_pid))
    signal.signal(signal.SIGTERM, lambda *_: setattr(w, "stopping", True))
    signal.signal(signal.SIGINT, lambda *_: setattr(w, "stopping", True))
    w.run_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
