"""What the command faces share: reading the scenario, output folders that never clobber, CSV text,
number formats (through `report.units`) and progress (in `progress.py`)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import typer

from ..errors import UserError
from ..report import units
from ..report.tables import jsonable
from .progress import counter, progress  # noqa: F401  (commands import them from here)

MANIFEST = ".polyfleet-outputs.json"

_pending: list[UserError] = []


def reset_pending() -> None:
    _pending.clear()


def pending() -> UserError | None:
    """An error to report after the command printed its result (output that could not be written)."""
    return _pending[0] if _pending else None


def pct(v) -> str:
    """A share as a percentage (`report.units.pct`): "n/a" when unknown, never "-0.0%"."""
    return units.pct(v)


def money(v) -> str:
    """Dollars scaled to their size (`report.units.money`): $850K, $17.7M, $1.23B; "n/a" when unknown."""
    return units.money(v)


def load(ctx: typer.Context, name: str):
    """The scenario `name` with the global --catalog/--models files (each checked first, so a missing
    one is named as the option's, not blamed on a line of the scenario)."""
    from ..scenario import load_scenario
    state = ctx.obj
    if state is not None:
        state.check_files()
    scn = load_scenario(name)
    if state is not None and (state.catalog_files or state.model_files):
        scn = scn.with_extra_files(state.catalog_files, state.model_files)
    return scn


def ours(out: Path) -> set[str]:
    """Files in `out` that polyfleet wrote (its manifest)."""
    try:
        names = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return {str(n) for n in names} if isinstance(names, list) else set()
    except (OSError, ValueError):
        return set()


def clashes(out: Path, names, overwrite: bool = False) -> list[str]:
    """Files among `names` already in `out` that polyfleet did not write (none with `overwrite`)."""
    if overwrite or not out.is_dir():
        return []
    mine = ours(out)
    return [n for n in names if (out / n).exists() and n not in mine]


def write_outputs(out: Path, files: dict[str, str], overwrite: bool = False) -> list[Path]:
    """Write `files` into `out` (empty texts are skipped: no 0-byte CSVs). A file already there is
    replaced only if polyfleet wrote it (it is in the directory's manifest) or `overwrite` is set.

    The command checked `out` before its work (`preflight.out_dir`). If writing still fails (disk
    full, permissions changed), nothing is left half-written, the command goes on to print its
    result, and the error is reported after it with a non-zero exit."""
    files = {n: t for n, t in files.items() if t}
    clash = clashes(out, files, overwrite)
    if clash:
        raise UserError(f"{', '.join(clash)} already exist(s) and polyfleet did not write them; nothing was written",
                        where=str(out), field="--out", allowed="another directory, or --overwrite")
    temps: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            tmp = out / f".{name}.polyfleet-tmp"
            temps.append(tmp)
            tmp.write_text(text, encoding="utf-8")
        # the manifest first: every name in `files` is new here or already ours (clashes were refused)
        (out / MANIFEST).write_text(json.dumps(sorted(ours(out) | set(files)), indent=1), encoding="utf-8")
        written = []
        for name, tmp in zip(files, temps):
            os.replace(tmp, out / name)
            written.append(out / name)
        return written
    except OSError as exc:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        _pending.append(UserError(f"cannot write there ({exc.strerror or exc}); the result was printed, not saved",
                                  where=str(out), field="--out"))
        return []


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
