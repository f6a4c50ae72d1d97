"""Print rows as a Rich table, JSON or CSV: one code path for every command's `--format`."""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..errors import UserError
from .units import NA, share

FORMATS = ("table", "json", "csv")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: Callable[[Any], str] | None = None
    justify: str = "right"


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown format '{fmt}'", field="--format", allowed=", ".join(FORMATS))
    return fmt


def num(digits: int = 2) -> Callable[[Any], str]:
    def f(v: Any) -> str:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return NA
        if isinstance(v, (int, float)) and abs(v) >= 10 ** 5:
            return f"{v:,.0f}"
        text = f"{v:,.{digits}f}"
        return text[1:] if text.startswith("-") and not text.strip("-0.,") else text    # never "-0.0"
    return f


def sig(v: Any) -> str:
    """A number with 3 significant figures, "n/a" for unknown."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return NA
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def jsonable(obj: Any, is_share: bool = False) -> Any:
    """Make dataclass dicts JSON-safe: NaN/inf -> None, numpy scalars -> Python, -0.0 -> 0.0, and
    values under a key ending in `share` cleared of rounding noise outside [0, 1] (`units.share`)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v, str(k).endswith("share")) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, is_share) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        obj = obj.tolist()
        if isinstance(obj, list):
            return jsonable(obj, is_share)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return None
        return share(obj) if is_share else obj + 0.0
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def emit(rows: Sequence[dict], fmt: str, columns: Sequence[Column], *, title: str | None = None,
         document: Any = None, notes: Sequence[str] = (), console: Console | None = None) -> None:
    """Write rows in the chosen format. JSON prints `document` (default: the rows) in full;
    CSV and the table show `columns`; the table adds `notes` under it."""
    check_format(fmt)
    if fmt == "json":
        print(json.dumps(jsonable(document if document is not None else list(rows)), indent=2))
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        for r in rows:
            writer.writerow(["" if r.get(c.key) is None else jsonable(r.get(c.key)) for c in columns])
        return
    console = console or Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title=escape(title) if title else None, title_justify="left", header_style="bold cyan",
                  show_lines=False)
    for c in columns:
        table.add_column(escape(c.header), justify=c.justify)  # type: ignore[arg-type]
    for r in rows:
        # cells are Text, never markup: names from user files may hold brackets
        table.add_row(*[Text((c.fmt or sig)(r.get(c.key)) if c.fmt or not isinstance(r.get(c.key), str)
                             else (r.get(c.key) or "")) for c in columns])
    console.print(table)
    for n in notes:
        console.print(Text(n, style="dim"))
