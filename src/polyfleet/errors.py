"""Errors polyfleet raises on purpose, and the exit code each one ends the command line with.

A `UserError` is bad input the user can fix (exit 2); an `InfeasibleError` is a request that
cannot be met (exit 3). Anything else that escapes is a bug of ours (exit 1, see `cli.main`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

EXIT_INTERNAL = 1
EXIT_USER = 2
EXIT_INFEASIBLE = 3
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141      # 128 + SIGPIPE: what `cat` and `git` end with when the reader goes away

MAX_LISTED = 30          # names listed when no close match is found
MAX_SUGGESTED = 5


def one_line(text: str) -> str:
    """`text` with its line breaks (pydantic, YAML and OS messages carry them) folded into one line."""
    return re.sub(r"\s*\n\s*", "; ", str(text).strip())


def listing(names: Iterable[str], limit: int = MAX_LISTED) -> str:
    """`a, b, c` — cut at `limit` names with `and N more` so a cut list never passes as complete."""
    names = list(names)
    head = ", ".join(names[:limit])
    return head + (f" and {len(names) - limit} more" if len(names) > limit else "")


class PolyfleetError(Exception):
    """Base class of every error polyfleet raises on purpose."""

    exit_code = EXIT_USER


class UserError(PolyfleetError):
    """Bad input: a file, a field or a name the user gave.

    `where` names the file (and line) or the option; `field` the path inside it;
    `allowed` what would have been accepted.
    """

    def __init__(self, message: str, *, where: str | None = None, field: str | None = None,
                 allowed: str | None = None) -> None:
        self.message = message
        self.where = where
        self.field = field
        self.allowed = allowed
        super().__init__(self.render())

    def render(self) -> str:
        parts = [p for p in (self.where, self.field) if p]
        head = ": ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return one_line(text)


_TOKEN = re.compile(r"[a-z]+|\d+")


def _tokens(name: str) -> list[str]:
    """`llama-3.1-70b` -> `['llama', '3', '1', '70', 'b']`: words and numbers, split where they meet."""
    return _TOKEN.findall(name.lower())


def _coverage(query: list[str], candidate: set[str]) -> float:
    """Share of the query's tokens found in the candidate; numbers weigh double (70b vs 8b matters)."""
    weights = [2.0 if t.isdigit() else 1.0 for t in query]
    if not weights:
        return 0.0
    return sum(w for t, w in zip(query, weights) if t in candidate) / sum(weights)


def closest_names(name: str, valid: Iterable[str] | Mapping[str, str], n: int = 3) -> list[str]:
    """Valid names close to `name`: those holding every word and number of it (`llama-70b` ->
    `llama-3.1-70b`), then close spellings (difflib). A mapping (alias -> canonical id) suggests
    canonical ids, each once."""
    canon = _canonical(valid)
    return [cid for cid, _ in _closest(name, canon, n)]


def _closest(name: str, canon: dict[str, str], n: int) -> list[tuple[str, str]]:
    """(canonical id, the spelling of it that matched) for the closest names; see `closest_names`."""
    query = _tokens(name)
    best: dict[str, tuple[float, float]] = {}
    spelled: dict[str, str] = {}
    for alias, cid in canon.items():
        cover = _coverage(query, set(_tokens(alias)))
        ratio = difflib.SequenceMatcher(None, name.lower(), alias.lower()).ratio()
        if (cover, ratio) > best.get(cid, (-1.0, -1.0)):
            best[cid] = (cover, ratio)
            spelled[cid] = alias
    for cid, alias in spelled.items():      # name the alias only where it, not the id, is what matched
        own = (_coverage(query, set(_tokens(cid))), difflib.SequenceMatcher(None, name.lower(), cid.lower()).ratio())
        if own[0] >= best[cid][0] and own[1] >= best[cid][1] - 0.2:
            spelled[cid] = cid
    full = sorted((c for c, (cov, _) in best.items() if cov >= 1.0), key=lambda c: -best[c][1])[:MAX_SUGGESTED]
    if not full:
        near = [c for c, (cov, r) in best.items() if r >= 0.6 or (cov >= 0.5 and r >= 0.4)]
        full = sorted(near, key=lambda c: -(best[c][0] + best[c][1]))[:n]
    return [(c, spelled[c]) for c in full]


def _canonical(valid: Iterable[str] | Mapping) -> dict[str, str]:
    """name -> canonical name: an alias mapping as given (string values), any other collection
    (a list, or a dict of objects by id) as its own names."""
    if isinstance(valid, Mapping) and all(isinstance(v, str) for v in valid.values()):
        return {str(k): v for k, v in valid.items()}
    return {str(v): str(v) for v in valid}


class UnknownNameError(UserError):
    """A name that is not in the catalog or library; suggests the closest valid ones.

    `valid` is the names accepted, or a mapping alias -> canonical id (suggestions are then ids).
    """

    def __init__(self, kind: str, name: str, valid: Iterable[str] | Mapping[str, str], *, where: str | None = None,
                 field: str | None = None, note: str = "") -> None:
        name = str(name)
        canon = _canonical(dict(valid) if isinstance(valid, Mapping) else list(valid))
        found = _closest(name, canon, 3)
        close = [cid for cid, _ in found]
        ids = sorted(set(canon.values()))
        shown = [cid if alias.lower() == cid.lower() else f"{cid} ({alias})" for cid, alias in found]
        hint = f"did you mean {', '.join(shown)}?" if close else f"valid: {listing(ids)}"
        super().__init__(f"unknown {kind} '{name}'; {hint}" + (f" ({note})" if note else ""), where=where,
                         field=field)
        self.kind = kind
        self.name = name
        self.suggestions = close


class MissingFigureError(UserError):
    """A computation needs a figure the catalog holds as unknown (None)."""

    def __init__(self, what: str, field: str, hint: str = "") -> None:
        msg = f"{what} has no known {field}; the catalog keeps unknowns unknown"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class InfeasibleError(PolyfleetError):
    """A request that cannot be met; carries the reason and, where known, what would work.

    `lines` are the diagnosis (what cannot hold together), printed one per line.
    """

    exit_code = EXIT_INFEASIBLE

    def __init__(self, message: str, lines: Iterable[str] = (), *, where: str | None = None) -> None:
        self.message = message
        self.lines = tuple(lines)
        self.where = where
        head = f"{where}: {message}" if where else message
        super().__init__(one_line(head + (": " + "; ".join(self.lines) if self.lines else "")))
