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

from ..datafile import DataFile, field_path, user_error_from_validation
from ..errors import UnknownNameError, UserError
from .model import Scenario
from .resolve import OfferingFacts, check_name, check_selector, check_unique_ids, selector_mask
from .series import month_offset

BUILTIN_PACKAGE = "polyfleet.scenarios"


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with polyfleet."""
    pkg = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in pkg.iterdir() if p.name.endswith(".yaml"))


def load_scenario(path_or_name: str | Path | dict) -> Scenario:
    """Read and check a scenario file, a built-in scenario by name (see `builtin_scenarios()`), or a
    mapping with the file's structure (checked the same way; errors point into its YAML rendering)."""
    if isinstance(path_or_name, dict):
        text = yaml.safe_dump(path_or_name, sort_keys=False)
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
        raise UserError("a scenario is a mapping with sections (workloads: is required)", where=doc.name)
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
    err = user_error_from_validation(exc, doc.name, doc)
    first = exc.errors()[0]
    if first["type"] == "extra_forbidden":
        loc = [p for p in first["loc"] if not (isinstance(p, str) and "[" in p)]
        allowed = _fields_at(Scenario, loc[:-1])
        if allowed:
            err = UserError(f"unknown field '{loc[-1]}'", where=err.where, field=err.field,
                            allowed=", ".join(allowed))
    elif first["type"] == "missing" and not err.allowed:
        err = UserError("is required", where=err.where, field=err.field)
    return err


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


# ---- the perf context ------------------------------------------------------------------------

def _subdoc(scn: Scenario, key: str, data: dict) -> DataFile:
    """A DataFile view of one section of the scenario file, so catalog/model errors keep file:line."""
    parent = scn._doc
    node = None
    if parent is not None and parent.root_node is not None:
        node = next((v for k, v in parent.root_node.value if k.value == key), None) if key else parent.root_node
    return DataFile.of(data, scn.source_name, node)


def build_context(scn: Scenario):
    """Catalog (built-in, then `catalog.files`, then inline overrides) and models for this scenario.

    Inline overrides go through the same loaders as override files, as parsed documents whose
    errors point into the scenario file.
    """
    from ..catalog import load_catalog
    from ..perf.estimate import Context
    from ..workloads import load_models

    sources: list = [str(_resolve_path(scn, f, ("catalog", "files", i))) for i, f in
                     enumerate(scn.catalog.get("files") or [])]
    inline = {k: v for k, v in scn.catalog.items() if k != "files"}
    if inline:
        sources.append(_subdoc(scn, "catalog", inline))
    models: list = [str(_resolve_path(scn, f, ("model_files", i))) for i, f in enumerate(scn.model_files)]
    if scn.models:
        models.append(_subdoc(scn, "", {"models": list(scn.models)}))
    return Context(catalog=load_catalog(*sources), models=load_models(*models))


def _resolve_path(scn: Scenario, name: str, loc: tuple) -> Path:
    p = Path(name)
    p = p if p.is_absolute() else scn.base_dir / p
    if not p.exists():
        raise UserError("file not found", where=scn.where(loc), field=field_path(loc))
    return p


# ---- offerings ---------------------------------------------------------------------------------

def select_offerings(scn: Scenario) -> tuple[list[str], list[str]]:
    """(offering ids the planner may use, notes on those left out for want of a price)."""
    cat = scn.context().catalog
    ids = list(cat.offerings)
    facts = OfferingFacts.of(cat, ids)
    import numpy as np
    mask = np.ones(len(ids), dtype=bool)
    if scn.offerings.include:
        mask[:] = False
        for sel in scn.offerings.include:
            mask |= selector_mask(sel, facts, cat)
    for sel in scn.offerings.exclude:
        mask &= ~selector_mask(sel, facts, cat)
    held = {f.offering for f in scn.fleet}
    keep, notes = [], []
    for i, oid in enumerate(ids):
        if not mask[i]:
            continue
        off = cat.offerings[oid]
        priced = off.on_demand.known or any(off.price(t).known for t in ("commit_1y", "commit_3y", "spot")
                                            if t in scn.money.terms)
        if priced or oid in held:
            keep.append(oid)
        else:
            notes.append(f"{oid} left out: no known price (give one in the scenario's catalog: section)")
    return keep, notes


# ---- name and consistency checks ------------------------------------------------------------------

def check_scenario(scn: Scenario) -> None:
    """Names against the catalog, ids against each other, months against the horizon."""
    ctx = scn.context()
    cat = ctx.catalog
    w = scn.where
    wl_ids = [x.id for x in scn.workloads.all()]
    services = [s.id for s in scn.workloads.services]
    for kind, items in (("services", scn.workloads.services), ("training", scn.workloads.training)):
        for i, item in enumerate(items):
            try:
                ctx.models.get(item.model)
            except UnknownNameError as exc:
                raise UnknownNameError("model", item.model, ctx.models.names,
                                       where=w(("workloads", kind, i, "model"))) from exc
            for j, rt in enumerate(item.runtimes):
                if not cat.has_runtime(rt):
                    raise UnknownNameError("runtime", rt, cat.runtimes, where=w(("workloads", kind, i, "runtimes", j)))
            if item.runtime is not None:
                use = "inference" if kind == "services" else "training"
                if not cat.has_runtime(item.runtime) or cat.runtime(item.runtime).kind != "stack" \
                        or use not in cat.runtime(item.runtime).uses:
                    stacks = [rt.id for rt in cat.stacks() if use in rt.uses]
                    raise UnknownNameError(f"{use} stack", item.runtime, stacks,
                                           where=w(("workloads", kind, i, "runtime")))
    classes = scn.priority_classes()
    check_unique_ids(scn.tenants, "tenant", w, ("tenants",))
    for i, t in enumerate(scn.tenants):
        if t.id in scn.risk.classes:
            raise UserError(f"tenant '{t.id}' is also a risk class; give its share on the tenant only",
                            where=w(("tenants", i, "id")), field=f"tenants[{i}].id")
        if isinstance(t.share, dict):
            for key in t.share:
                if key != "default" and key not in services:
                    raise UnknownNameError("service", key, services + ["default"], where=w(("tenants", i, "share")))
    for s in services:
        total = sum(t.share_of(s) for t in scn.tenants)
        if total > 1 + 1e-9:
            raise UserError(f"tenant shares of service '{s}' add up to {total:g} > 1", where=w(("tenants",)),
                            field="tenants")
    tenant_ids = {t.id for t in scn.tenants}
    for kind, items in (("services", scn.workloads.services), ("training", scn.workloads.training)):
        for i, item in enumerate(items):
            if item.priority not in classes or item.priority in tenant_ids:
                raise UnknownNameError("priority class", item.priority, scn.risk.required(),
                                       where=w(("workloads", kind, i, "priority")))
            if kind == "training" and item.run is not None:
                for key in ("start", "deadline"):
                    _check_month(scn, getattr(item.run, key), ("workloads", kind, i, "run", key))
                if month_offset(item.run.start, item.run.deadline) < 0:
                    raise UserError("deadline is before start", where=w(("workloads", kind, i, "run")),
                                    field=f"workloads.{kind}[{i}].run")
    for i, f in enumerate(scn.fleet):
        check_name("offering", f.offering, cat, w(("fleet", i, "offering")))
    for i, r in enumerate(scn.rates):
        if r.workload not in wl_ids:
            raise UnknownNameError("workload", r.workload, wl_ids, where=w(("rates", i, "workload")))
        if r.offering:
            check_name("offering", r.offering, cat, w(("rates", i, "offering")))
        if r.accelerator:
            check_name("accelerator", r.accelerator, cat, w(("rates", i, "accelerator")))
    for key in ("include", "exclude"):
        for i, sel in enumerate(getattr(scn.offerings, key)):
            check_selector(sel, cat, w, ("offerings", key, i))
    check_unique_ids(scn.supply.rules, "supply rule", w, ("supply", "rules"))
    for i, rule in enumerate(scn.supply.rules):
        check_selector(rule, cat, w, ("supply", "rules", i))
        if rule.available_from:
            _check_month(scn, rule.available_from, ("supply", "rules", i, "available_from"), allow_before=True)
    for i, lim in enumerate(scn.power.limits):
        check_selector(lim, cat, w, ("power", "limits", i))
    if isinstance(scn.power.pue, dict):
        for key in scn.power.pue:
            if key != "default":
                check_name("region", key, cat, w(("power", "pue", key)))
    for key in scn.power.watts_per_chip:
        check_name("accelerator", key, cat, w(("power", "watts_per_chip", key)))
    if isinstance(scn.money.porting_usd, dict):
        for key in scn.money.porting_usd:
            if key != "default" and key not in ("tpu", "trainium", "gpu"):
                raise UnknownNameError("family", key, ["tpu", "trainium", "gpu", "default"],
                                       where=w(("money", "porting_usd", key)))
    for dim, cap in scn.risk.max_share.items():
        if isinstance(cap, dict):
            for key in cap:
                if key != "default":
                    field = "accelerator" if dim == "accelerator" else dim
                    check_name(field, key, cat, w(("risk", "max_share", dim, key)))
    if scn.risk.caps_from:
        _check_month(scn, scn.risk.caps_from, ("risk", "caps_from"), allow_before=True)
    check_unique_ids(scn.risk.failures, "failure set", w, ("risk", "failures"))
    for i, f in enumerate(scn.risk.failures):
        check_selector(f, cat, w, ("risk", "failures", i))
    failure_ids = [f.id for f in scn.risk.failures if f.id]
    check_unique_ids(scn.risk.scenarios, "scenario", w, ("risk", "scenarios"))
    for i, s in enumerate(scn.risk.scenarios):
        for j, f in enumerate(s.failures):
            if isinstance(f, str):
                if f not in failure_ids:
                    raise UnknownNameError("failure set", f, failure_ids or ["(define ids under risk.failures)"],
                                           where=w(("risk", "scenarios", i, "failures", j)))
            else:
                check_selector(f, cat, w, ("risk", "scenarios", i, "failures", j))
    for cls in scn.risk.loss_usd_per_million_tokens:
        if cls != "default" and cls not in classes:
            raise UnknownNameError("priority class", cls, list(classes) + ["default"],
                                   where=w(("risk", "loss_usd_per_million_tokens", cls)))
    for kind, items in (("services", scn.workloads.services), ("training", scn.workloads.training)):
        for i, item in enumerate(items):
            for key in ("tokens_per_s", "tokens_per_month"):
                series = getattr(item, key, None)
                if series is not None:
                    scn.expand(series, ("workloads", kind, i, key))


def _check_month(scn: Scenario, month: str, loc: tuple, allow_before: bool = False) -> None:
    off = month_offset(scn.horizon.start, month)
    if off >= scn.horizon.months or (off < 0 and not allow_before):
        raise UserError(f"month {month} is outside the horizon", where=scn.where(loc), field=field_path(loc),
                        allowed=f"{scn.months[0]} .. {scn.months[-1]}")
