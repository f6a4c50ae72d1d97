"""A figure: one number with its source, status and date.

Every number in the catalog is a `Figure`. An unknown stays unknown (`value=None`);
code that needs it calls `Figure.need()` and gets a clear error, or uses an
assumption that is itself a `Figure` with `assumed=True`, which outputs show.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..errors import MissingFigureError

# measured: read off what was actually paid or observed (a cloud bill, a benchmark run)
Status = Literal["official", "catalog", "third-party", "derived", "estimate", "user", "measured"]
STATUSES: tuple[str, ...] = ("official", "catalog", "third-party", "derived", "estimate", "user", "measured")


class Source(BaseModel):
    """Where figures come from: a URL or document, how far to trust it, and when it was read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str
    status: Status
    as_of: dt.date | None = None
    note: str | None = None


class Figure(BaseModel):
    """A number with its provenance. `value=None` means not known."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float | None = None
    source: str | None = None
    status: Status | None = None
    as_of: dt.date | None = None
    note: str | None = None
    assumed: bool = False

    @property
    def known(self) -> bool:
        return self.value is not None

    def need(self, what: str, field: str, hint: str = "") -> float:
        """The value, or a MissingFigureError naming what and which field is unknown."""
        if self.value is None:
            raise MissingFigureError(what, field, hint)
        return float(self.value)

    def label(self) -> str:
        """Short provenance label for tables: 'official', 'estimate (assumed)', ..."""
        if self.value is None:
            return "unknown"
        text = self.status or "unsourced"
        return f"{text} (assumed)" if self.assumed else text


def parse_figure(raw: Any, sources: dict[str, Source], default_source: str | None) -> Figure:
    """Read a figure written in a data file.

    Accepted forms: a bare number (takes the entry's default source), `null`
    (unknown), `[value, source_key]`, or a mapping with `value` and optionally
    `source` (a key of `sources` or a literal reference), `status`, `as_of`, `note`.
    """
    if isinstance(raw, Figure):
        return raw
    if raw is None:
        return Figure()
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return _resolve(float(raw), default_source, None, None, None, sources)
    if isinstance(raw, (list, tuple)) and len(raw) == 2:
        value, key = raw
        return _resolve(None if value is None else float(value), key, None, None, None, sources)
    if isinstance(raw, dict):
        unknown = set(raw) - {"value", "source", "status", "as_of", "note", "assumed"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)} in a figure "
                             "(allowed: value, source, status, as_of, note, assumed)")
        value = raw.get("value")
        fig = _resolve(None if value is None else float(value), raw.get("source", default_source),
                       raw.get("status"), raw.get("as_of"), raw.get("note"), sources)
        if raw.get("assumed"):
            fig = fig.model_copy(update={"assumed": True})
        return fig
    raise ValueError(f"a figure must be a number, null, [value, source] or a mapping, not {raw!r}")


def _resolve(value: float | None, key: str | None, status: str | None, as_of: Any, note: str | None,
             sources: dict[str, Source]) -> Figure:
    if value is None:
        return Figure(note=note)
    src = sources.get(key) if key else None
    if src is not None:
        return Figure(value=value, source=src.ref, status=status or src.status,
                      as_of=as_of or src.as_of, note=note or None)
    if key is None:
        raise ValueError("a figure with a value needs a source (set `source:` on the entry or the figure)")
    if status is None:
        raise ValueError(f"source '{key}' is not a known source key; a literal source needs a `status` "
                         f"(one of {', '.join(STATUSES)})")
    return Figure(value=value, source=key, status=status, as_of=as_of, note=note)
