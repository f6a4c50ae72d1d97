"""Reading user and built-in data files (YAML, CSV) with errors that name file, line and field.

A leaf utility like `errors`: every layer may import it, it imports no other layer. Reading is
guarded: files over `MAX_FILE_BYTES` are refused before parsing, YAML nested deeper than
`MAX_DEPTH` or expanding (through anchors) to more than `MAX_NODES` values is refused, and a key
given twice in one mapping is an error naming both lines (YAML would silently keep the last).
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

from .errors import UserError, one_line

MAX_FILE_BYTES = 10 * 1024 * 1024   # the largest shipped scenario is 12 KB; 10 MB parses in seconds
MAX_DEPTH = 64                      # scenarios nest 6 levels; deeper is not a scenario
MAX_NODES = 1_000_000               # values after anchors/aliases are expanded ("billion laughs")


class _TooDeep(yaml.MarkedYAMLError):
    pass


class Loader(yaml.SafeLoader):
    """YAML 1.1 safe loading, plus the float forms YAML 1.2 (and people) write: `2.0e10`, `1e6`;
    nesting is limited to `MAX_DEPTH` (PyYAML's composer recurses and would hit Python's limit)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _TooDeep(problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def _check_nodes(root: yaml.Node, name: str) -> None:
    """Duplicate keys (naming both lines), cycles and oversized expansions in a composed document."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        if id(node) in sizes and not done:
            continue
        children = _children(node)
        if done:
            open_.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_NODES:
                raise UserError(f"expands to more than {MAX_NODES:,} values through anchors and aliases",
                                where=f"{name}:{node.start_mark.line + 1}")
            continue
        if id(node) in open_:
            raise UserError("an alias refers to the node that contains it (a cycle)",
                            where=f"{name}:{node.start_mark.line + 1}")
        open_.add(id(node))
        if isinstance(node, yaml.MappingNode):
            _check_duplicates(node, name)
        stack.append((node, True))
        for c in children:
            if id(c) in open_:
                raise UserError("an alias refers to the node that contains it (a cycle)",
                                where=f"{name}:{c.start_mark.line + 1}")
            if id(c) not in sizes:
                stack.append((c, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for kv in node.value for n in kv]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_duplicates(node: yaml.MappingNode, name: str) -> None:
    seen: dict[str, int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        line = key.start_mark.line + 1
        if key.value in seen:
            raise UserError(f"key '{key.value}' is given twice (lines {seen[key.value]} and {line}); "
                            "YAML would keep only the last", where=f"{name}:{line}", field=str(key.value))
        seen[key.value] = line


def read_text(path: str | Path, what: str = "file") -> str:
    """A UTF-8 text file, refused with one clear line if missing, a directory, unreadable, over
    `MAX_FILE_BYTES` or not UTF-8 (the line of the first bad byte is named)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise UserError(f"is a directory, not a {what}", where=str(path))
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserError(f"is {size / 1e6:,.1f} MB; a {what} may be at most {MAX_FILE_BYTES / 2**20:.0f} MiB",
                            where=str(path))
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError("file not found", where=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc.__class__.__name__}", where=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise UserError(f"is not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
                        where=f"{path}:{line}") from None
    return text[1:] if text.startswith("\ufeff") else text


class DataFile:
    """A parsed YAML file that remembers where each value stood, for error messages.

    `prefix` is the path of this document inside a larger one (an inline `catalog:` section of a
    scenario): field paths in errors start with it.
    """

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.prefix: tuple = ()
        if len(text) > MAX_FILE_BYTES:
            raise UserError(f"is over {MAX_FILE_BYTES / 2**20:.0f} MiB", where=name)
        loader = None
        try:
            loader = Loader(text)           # the reader refuses control characters here already
            self.root_node = loader.get_single_node()
            if self.root_node is not None:
                _check_nodes(self.root_node, name)
            self.data = loader.construct_document(self.root_node) if self.root_node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{name}:{mark.line + 1}" if mark is not None else name
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise UserError(f"not valid YAML: {problem}", where=where) from None
        finally:
            if loader is not None:
                loader.dispose()

    @classmethod
    def of(cls, data: Any, name: str, root_node: yaml.Node | None = None, prefix: Sequence[Any] = ()) -> "DataFile":
        """Already-parsed data (a section of a larger file, rows of a CSV) under a name; `root_node`
        is the YAML node the data came from, for line numbers; `prefix` its path in that file."""
        doc = cls.__new__(cls)
        doc.name, doc.data, doc.root_node, doc.prefix = name, data, root_node, tuple(prefix)
        return doc

    @classmethod
    def read(cls, path: str | Path) -> "DataFile":
        return cls(read_text(path, "YAML file"), str(path))

    def line_of(self, loc: Sequence[Any]) -> int | None:
        """1-based line of the value at `loc` (keys and list indices), or the nearest parent."""
        node = self.root_node
        line = node.start_mark.line + 1 if node is not None else None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                nxt = next((v for k, v in node.value if k.value == str(key)), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
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

    def field(self, loc: Sequence[Any]) -> str:
        """The field path of `loc` as the user reads it in the whole file (prefix included)."""
        return field_path(tuple(self.prefix) + tuple(loc))


def field_path(loc: Sequence[Any]) -> str:
    """`('accelerators', 3, 'hbm_gb')` -> `accelerators[3].hbm_gb`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# pydantic's names for union branches: builtin types, `constrained-float`, `function-after[...]`,
# `dict[str,float]`, a model's class name
_TAG = re.compile(r"^(?:float|int|str|bool|none|dict|list|tuple|set|bytes|date|datetime|"
                  r"[a-z]+(?:-[a-z]+)+.*|\w+\[.*\]|[A-Z][A-Za-z0-9]*)$")


def clean_loc(loc: Sequence[Any], data: Any = None) -> tuple:
    """A pydantic error location without its union-branch tags (`float`, `dict[str,float]`,
    `constrained-float`, a model's class name): followed through `data` where given, so a dict
    key that looks like a tag is kept; by pattern otherwise."""
    out: list[Any] = []
    cur, known = data, data is not None
    for part in loc:
        if part == "[key]":
            break
        if known:
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
                out.append(part)
            elif isinstance(cur, (list, tuple)) and isinstance(part, int) and 0 <= part < len(cur):
                cur = cur[part]
                out.append(part)
            elif isinstance(part, str) and not isinstance(cur, (dict, list, tuple)) and not _TAG.match(part):
                continue                  # a model given as a scalar shorthand (a series as one number)
            elif isinstance(part, int) or not _TAG.match(str(part)):
                out.append(part)          # a missing field: named, but nothing below to follow
                known = False
            continue
        if isinstance(part, int) or not _TAG.match(str(part)):
            out.append(part)
    return tuple(out)


def pick_error(errors: list[dict], data: Any) -> dict:
    """The error to report: among the union branches of the first problem's field, the one that
    went deepest (it matched the input's shape)."""
    first = errors[0]
    head = clean_loc(first["loc"], data)
    same = [e for e in errors if clean_loc(e["loc"], data)[:len(head)] == head]
    return max(same, key=lambda e: (len(clean_loc(e["loc"], data)), e["type"] not in _SHAPE_ERRORS))


_SHAPE_ERRORS = {"float_type", "int_type", "dict_type", "string_type", "model_type", "tuple_type", "list_type",
                 "bool_type", "model_attributes_type"}


def user_error_from_validation(exc: ValidationError, where: str, locate: DataFile | None = None,
                               prefix: Sequence[Any] = (), data: Any = None) -> UserError:
    """The first problem of a pydantic ValidationError as a one-line UserError naming file, line and
    field. `data` is the validated input (for exact field paths through unions)."""
    errors = exc.errors()
    err = pick_error(errors, data)
    loc = tuple(prefix) + clean_loc(err["loc"], data)
    place = locate.where(loc) if locate is not None else where
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "finite_number":
        msg = "must be a finite number (not NaN or infinity)"
    allowed = None
    ctx = err.get("ctx") or {}
    if "expected" in ctx and str(ctx["expected"]) not in msg:
        allowed = str(ctx["expected"])
    problems = {clean_loc(e["loc"], data) for e in errors}
    more = len(problems) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    field = locate.field(loc) if locate is not None else field_path(loc)
    return UserError(one_line(msg), where=place, field=field or None, allowed=allowed)


def validate(model: type[BaseModel], data: Any, where: str, locate: DataFile | None = None,
             prefix: Sequence[Any] = ()) -> Any:
    """Validate `data` into `model`, turning failures into a UserError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise user_error_from_validation(exc, where, locate, prefix, data) from None


def read_csv_rows(path: str | Path, required: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts, each with `_line` (its line in the file). A missing required
    column, a row with fewer or more cells than the header, or an unreadable file is a UserError."""
    path = Path(path)
    text = read_text(path, "CSV file")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, [])
        cols = [c.strip() for c in header]
        missing = [c for c in required if c not in cols]
        if missing:
            raise UserError(f"missing column(s) {', '.join(missing)}", where=f"{path}:1",
                            allowed=", ".join(required))
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(cols):
                raise UserError(f"has {len(cells)} cells; the header has {len(cols)} ({', '.join(cols)})",
                                where=f"{path}:{reader.line_num}")
            rows.append({**dict(zip(cols, cells)), "_line": str(reader.line_num)})
    except csv.Error as exc:
        raise UserError(f"not valid CSV: {exc}", where=f"{path}:{reader.line_num}") from None
    return rows
