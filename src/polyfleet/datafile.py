"""Reading user and built-in data files (YAML, CSV) with errors that name file, line and field.

A leaf utility like `errors`: every layer may import it, it imports no other layer.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import UserError


class Loader(yaml.SafeLoader):
    """YAML 1.1 safe loading, plus the float forms YAML 1.2 (and people) write: `2.0e10`, `1e6`."""


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


class DataFile:
    """A parsed YAML file that remembers where each value stood, for error messages."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        try:
            self.root_node = yaml.compose(text, Loader=Loader)
            self.data = yaml.load(text, Loader=Loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{name}:{mark.line + 1}" if mark is not None else name
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise UserError(f"not valid YAML: {problem}", where=where) from None

    @classmethod
    def of(cls, data: Any, name: str, root_node: yaml.Node | None = None) -> "DataFile":
        """Already-parsed data (a section of a larger file, rows of a CSV) under a name; `root_node`
        is the YAML node the data came from, for line numbers."""
        doc = cls.__new__(cls)
        doc.name, doc.data, doc.root_node = name, data, root_node
        return doc

    @classmethod
    def read(cls, path: str | Path) -> "DataFile":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError("file not found", where=str(path)) from None
        except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read: {exc.__class__.__name__}", where=str(path)) from None
        return cls(text, str(path))

    def line_of(self, loc: Sequence[Any]) -> int | None:
        """1-based line of the value at `loc` (keys and list indices), or the nearest parent."""
        node = self.root_node
        line = node.start_mark.line + 1 if node is not None else None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                nxt = next((v for k, v in node.value if k.value == str(key)), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                nxt = node.value[key]
            else:
                nxt = None
            if nxt is None:
                break
            node = nxt
            line = node.start_mark.line + 1
        return line

    def where(self, loc: Sequence[Any] = ()) -> str:
        line = self.line_of(loc)
        return f"{self.name}:{line}" if line else self.name


def field_path(loc: Sequence[Any]) -> str:
    """`('accelerators', 3, 'hbm_gb')` -> `accelerators[3].hbm_gb`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def user_error_from_validation(exc: ValidationError, where: str, locate: DataFile | None = None,
                               prefix: Sequence[Any] = ()) -> UserError:
    """The first problem of a pydantic ValidationError as a UserError naming file, line and field."""
    err = exc.errors()[0]
    loc = tuple(prefix) + tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    place = locate.where(loc) if locate is not None else where
    msg = err["msg"]
    allowed = None
    ctx = err.get("ctx") or {}
    if "expected" in ctx and str(ctx["expected"]) not in msg:
        allowed = str(ctx["expected"])
    more = len(exc.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return UserError(msg, where=place, field=field_path(loc) or None, allowed=allowed)


def validate(model: type[BaseModel], data: Any, where: str, locate: DataFile | None = None,
             prefix: Sequence[Any] = ()) -> Any:
    """Validate `data` into `model`, turning failures into a UserError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise user_error_from_validation(exc, where, locate, prefix) from None


def read_csv_rows(path: str | Path, required: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts; a missing required column is a UserError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("file not found", where=str(path)) from None
    reader = csv.DictReader(io.StringIO(text))
    cols = reader.fieldnames or []
    missing = [c for c in required if c not in cols]
    if missing:
        raise UserError(f"missing column(s) {', '.join(missing)}", where=f"{path}:1",
                        allowed=", ".join(required))
    return list(reader)
