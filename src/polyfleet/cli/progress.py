"""Progress on stderr: a spinner or a bar on a terminal; plain lines in a log (CI, `| tee`), so
long work is never silent: what it is doing, n of N, elapsed, every few seconds."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

PREFIX = "progress: "
FIRST_LINE_S = 2.0       # work done sooner prints nothing
EVERY_S = 10.0           # a line at least this often while the same step runs


def elapsed(seconds: float) -> str:
    """`12 s`, `3 min 05 s`, `1 h 02 min`."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Heartbeat:
    """Plain progress lines from a background thread: on each new step after `first_s`, and every
    `every_s` while a step runs. `say(msg)` sets the step; `advance(n)` counts toward `total`."""

    def __init__(self, total: int | None = None, unit: str = "", first_s: float = FIRST_LINE_S,
                 every_s: float = EVERY_S, stream=None) -> None:
        self.total, self.unit, self.first_s, self.every_s = total, unit, first_s, every_s
        self.stream = stream or sys.stderr
        self.msg, self.done, self.t0 = "working", 0, time.monotonic()
        self._printed: str | None = None
        self._last = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def line(self) -> str:
        count = f"{self.done:,} of {self.total:,}{' ' + self.unit if self.unit else ''}, " if self.total else ""
        return f"{PREFIX}{self.msg} ({count}{elapsed(time.monotonic() - self.t0)})"

    def say(self, msg: str) -> None:
        with self._lock:
            self.msg = msg

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n

    def tick(self) -> None:
        """Print a line if one is due (called by the thread; callable directly in tests)."""
        now = time.monotonic()
        with self._lock:
            if now - self.t0 < self.first_s:
                return
            if self.msg != self._printed or now - self._last >= self.every_s:
                print(self.line(), file=self.stream, flush=True)
                self._printed, self._last = self.msg, now

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.tick()

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


@contextmanager
def progress(quiet: bool) -> Iterator[Callable[[str], None]]:
    """A spinner (terminal) or plain lines (log) on stderr for work longer than a moment; yields a
    callback taking a message. `quiet`: nothing."""
    if quiet:
        yield lambda msg: None
        return
    if not sys.stderr.isatty():
        with Heartbeat() as beat:
            yield beat.say
        return
    console = Console(stderr=True)
    state = {"msg": "working", "status": None}
    lock = threading.Lock()

    def start() -> None:
        with lock:
            if state["status"] is None:
                state["status"] = console.status(state["msg"])
                state["status"].start()

    timer = threading.Timer(1.0, start)
    timer.daemon = True
    timer.start()

    def say(msg: str) -> None:
        with lock:
            state["msg"] = msg
            if state["status"] is not None:
                state["status"].update(msg)
    try:
        yield say
    finally:
        timer.cancel()
        with lock:
            if state["status"] is not None:
                state["status"].stop()


@contextmanager
def counter(quiet: bool, total: int, label: str, unit: str = "") -> Iterator[Callable[[int], None]]:
    """n of `total` done: a bar with time left (terminal) or plain lines (log); yields `advance(n)`."""
    if quiet:
        yield lambda n=1: None
        return
    if not sys.stderr.isatty():
        with Heartbeat(total=total, unit=unit) as beat:
            beat.say(label)
            yield beat.advance
        return
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)
