"""Reading a scenario: a YAML path or a built-in name -> a validated `Scenario`.

Errors name the file and line, the field path and the allowed values; unknown offering,
accelerator, vendor, provider or region names suggest the closest valid ones.
"""

from __future__ import annotations

import typing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..datafile import DataFile, clean_loc, pick_error, user_error_from_validation
from ..errors import UnknownNameError, UserError
from .checks import check_scenario
from .model import Scenario

BUILTIN_PACKAGE = "polyfleet.scenarios"


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with polyfleet."""
    pkg = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in pkg.iterdir() if p.name.endswith(".yaml"))


def load_scenario(path_or_name: str | Path | dict) -> Scenario:
    """Read and check a scenario file, a built-in scenario by name (see `builtin_scenarios()`), or a
    mapping with the file's structure (checked the same way; errors point into its YAML rendering)."""
    if isinstance(path_or_name, dict):
        try:
            text = yaml.safe_dump(path_or_name, sort_keys=False)
        except yaml.YAMLError as exc:
            raise UserError(f"the mapping holds a value a scenario file cannot: {str(exc).splitlines()[0]}",
                            where=str(path_or_name.get("name") or "scenario"),
                            allowed="numbers, strings, lists and mappings, as in YAML") from None
        return scenario_from_doc(DataFile(text, str(path_or_name.get("name") or "scenario")), Path.cwd())
    path = Path(path_or_name)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in str(path_or_name):
        doc = DataFile.read(path)
        base = path.resolve().parent
    else:
        name = str(path_or_name)
        if name not in builtin_scenarios():
            raise UnknownNameError("scenario (file or built-in name)", name, builtin_scenarios())
        text = (resources.files(BUILTIN_PACKAGE) / f"{name}.yaml").read_text(encoding="utf-8")
        doc = DataFile(text, f"built-in {name}.yaml")
        base = Path.cwd()
    return scenario_from_doc(doc, base)


def scenario_from_doc(doc: DataFile, base_dir: Path | None = None) -> Scenario:
    """Validate a parsed YAML document into a Scenario and check its names against the catalog."""
    if not isinstance(doc.data, dict):
        raise UserError("a scenario is a mapping with sections (workloads: is required)", where=doc.where())
    try:
        scn = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        raise _explain(exc, doc) from None
    scn._doc = doc
    scn._base_dir = base_dir or Path.cwd()
    check_scenario(scn)
    return scn


def _explain(exc: ValidationError, doc: DataFile) -> UserError:
    """The first validation problem, with the allowed field names when a key is unknown."""
    err = user_error_from_validation(exc, doc.name, doc, data=doc.data)
    first = pick_error(exc.errors(), doc.data)
    loc = list(clean_loc(first["loc"], doc.data))
    if first["type"] == "extra_forbidden":
        allowed = _fields_at(Scenario, loc[:-1])
        if allowed:
            err = UserError(f"unknown field '{loc[-1]}'", where=err.where, field=err.field,
                            allowed=", ".join(allowed))
    elif first["type"] == "missing" and not err.allowed:
        err = UserError("is required", where=err.where, field=err.field)
    elif first["type"] in BOUND_ERRORS:
        info = _field_at(Scenario, loc)
        why = (info.json_schema_extra or {}).get("why") if info is not None and isinstance(
            info.json_schema_extra, dict) else None
        if why:
            err = UserError(f"{err.message} ({why})", where=err.where, field=err.field, allowed=err.allowed)
    return err


BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _field_at(model: Any, loc: list) -> Any:
    """The pydantic FieldInfo reached by following `loc` from `model` (None if it leaves the models)."""
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        model = _inner_model(info.annotation)
    return info


def _fields_at(model: Any, loc: list) -> list[str]:
    """Field names of the pydantic model reached by following `loc` from `model`."""
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return []
        model = _inner_model(model.model_fields[part].annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(tp: Any) -> Any:
    """The BaseModel inside `X | None`, `tuple[X, ...]`, `list[X]`."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
