"""Errors a user can cause. The CLI turns each into one line and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class PolyfleetError(Exception):
    """Base class of every error polyfleet raises on purpose."""


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
        parts = []
        if self.where:
            parts.append(self.where)
        if self.field:
            parts.append(self.field)
        head = ": ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text


class UnknownNameError(UserError):
    """A name that is not in the catalog or library; suggests the closest valid ones."""

    def __init__(self, kind: str, name: str, valid: Iterable[str], *, where: str | None = None) -> None:
        valid = sorted(set(valid))
        close = difflib.get_close_matches(name.lower(), [v.lower() for v in valid], n=3, cutoff=0.5)
        lookup = {v.lower(): v for v in valid}
        close = [lookup[c] for c in close]
        hint = f"did you mean {', '.join(close)}?" if close else f"valid: {', '.join(valid[:30])}"
        super().__init__(f"unknown {kind} '{name}'; {hint}", where=where)
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
    """A request that cannot be met; carries the reason and, where known, what would work."""
