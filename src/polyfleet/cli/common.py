"""What the command faces share: progress on stderr, output folders that never clobber, CSV text."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from ..errors import UserError
from ..report.tables import jsonable

MANIFEST = ".polyfleet-outputs.json"


def pct(v) -> str:
    return "-" if v is None else f"{v:.1%}"


def money(v) -> str:
    return "-" if v is None else f"${v / 1e9:,.2f}B" if abs(v) >= 1e9 else f"${v / 1e6:,.1f}M"


@contextmanager
def progress(quiet: bool) -> Iterator:
    """A spinner on stderr for solves longer than a second; yields a callback taking a message."""
    console = Console(stderr=True)
    state = {"msg": "working", "status": None}
    lock = threading.Lock()

    def start() -> None:
        with lock:
            if state["status"] is None and not quiet:
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


def load(ctx: typer.Context, name: str):
    from ..scenario import load_scenario
    scn = load_scenario(name)
    state = ctx.obj
    if state is not None and (state.catalog_files or state.model_files):
        scn = scn.with_extra_files(state.catalog_files, state.model_files)
    return scn


def write_outputs(out: Path, files: dict[str, str], overwrite: bool = False) -> list[Path]:
    """Write `files` into `out`. A file already there is replaced only if polyfleet wrote it (it is in the
    directory's manifest) or `overwrite` is set; otherwise nothing is written and the user is told why."""
    if out.exists() and not out.is_dir():
        raise UserError("exists and is not a directory", where=str(out), field="--out")
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    ours: set[str] = set()
    if manifest_path.exists():
        try:
            ours = set(json.loads(manifest_path.read_text(encoding="utf-8")))
        except (ValueError, TypeError):
            ours = set()
    clash = [n for n in files if (out / n).exists() and n not in ours]
    if clash and not overwrite:
        raise UserError(f"{', '.join(clash)} already exist(s) and polyfleet did not write them; nothing was written",
                        where=str(out), field="--out", allowed="another directory, or --overwrite")
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    manifest_path.write_text(json.dumps(sorted(ours | set(files)), indent=1), encoding="utf-8")
    return written


def to_csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: cell(r.get(k)) for k in keys})
    return buf.getvalue()


def cell(v) -> object:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v)
    return jsonable(v)


