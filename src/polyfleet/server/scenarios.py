"""Scenario versions: upload (a new version, never an overwrite), diff, section edits, activation.

A scenario is checked exactly as `polyfleet scenario FILE` checks it; its errors are the CLI's.
The service reads scenarios as text only: catalog or model *files* would be read from the
server's own disk, so they are refused (give overrides inline instead).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from typing import Any

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..datafile import DataFile, Loader, field_path
from ..errors import UserError
from ..report.tables import jsonable
from ..scenario import scenario_from_doc
from . import audit
from .auth import Principal
from .db.engine import Database
from .db.tables import FleetState, Pool, ScenarioVersion
from .fleet import pool_doc, pools_from_scenario, utcnow
from .live import ModelCache, build_model
from .problems import ApiError, not_found
from .reconcile import Outcome, reconcile

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@:+-]{0,99}$")


def check_text(text: str, name: str | None) -> tuple[str, Any]:
    """Validate scenario text; returns (its name, the Scenario). Errors are the CLI's, naming `NAME.yaml:LINE`."""
    label = f"{name or 'scenario'}.yaml"
    doc = DataFile(text, label)
    if isinstance(doc.data, dict):          # before anything reads them: files would be the server's own
        for loc in (("catalog", "files"), ("model_files",)):
            node = doc.data.get(loc[0])
            if (node.get("files") if len(loc) == 2 and isinstance(node, dict) else node if len(loc) == 1 else None):
                raise UserError("the service reads scenarios as text and cannot open files on its own disk",
                                where=doc.where(loc), field=field_path(loc),
                                allowed="inline catalog sections (catalog: offerings: ...) and models: entries")
    scn = scenario_from_doc(doc)
    final = name or scn.name
    if not final or not NAME.match(final):
        raise UserError("a scenario stored by the service needs a name (letters, digits, . _ - : @ +)",
                        where=label, field="name")
    return final, scn


def versions_of(s: Session, name: str) -> list[ScenarioVersion]:
    return list(s.scalars(select(ScenarioVersion).where(ScenarioVersion.name == name)
                          .order_by(ScenarioVersion.version)))


def get_version(s: Session, name: str, version: int | None = None) -> ScenarioVersion:
    q = select(ScenarioVersion).where(ScenarioVersion.name == name)
    q = q.where(ScenarioVersion.version == version) if version else q.order_by(ScenarioVersion.version.desc())
    row = s.scalars(q.limit(1)).first()
    if row is None:
        raise not_found("scenario", f"{name}" + (f" version {version}" if version else ""))
    return row


def version_doc(v: ScenarioVersion, active_id: int | None) -> dict:
    return {"id": v.id, "name": v.name, "version": v.version, "sha256": v.sha256, "created_at": v.created_at,
            "created_by": v.created_by, "summary": v.summary, "active": v.id == active_id}


def upload(db: Database, who: Principal, text: str, name: str | None, request_id: str | None
           ) -> tuple[ScenarioVersion, bool]:
    """Store `text` as the next version of its scenario; the same text as the latest stores nothing."""
    final, scn = check_text(text, name)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    summary = jsonable({**scn.summary(), "months": list(scn.months)})
    with db.write() as s:
        db.fleet_lock(s)
        latest = s.scalars(select(ScenarioVersion).where(ScenarioVersion.name == final)
                           .order_by(ScenarioVersion.version.desc()).limit(1)).first()
        if latest is not None and latest.sha256 == sha:
            return latest, False
        row = ScenarioVersion(name=final, version=(latest.version if latest else 0) + 1, yaml=text, sha256=sha,
                              summary=summary, created_at=utcnow(), created_by=who.name)
        s.add(row)
        s.flush()
        audit.record(s, who, "create", "scenario_version", f"{final} v{row.version}",
                     after={"name": final, "version": row.version, "sha256": sha}, request_id=request_id)
    return row, True


def lean(items, old_items) -> list[dict]:
    """Items of an edited section as the file would say them: defaults left out, except keys the
    previous version wrote out (matched by id), so a diff shows only what changed."""
    old_by_id = {o.get("id"): o for o in old_items or [] if isinstance(o, dict)}
    out = []
    for item in items:
        short, full = item.model_dump(mode="json", exclude_defaults=True), item.model_dump(mode="json")
        old = old_by_id.get(full.get("id"), {})
        for k in old:
            if k not in short and k in full:
                short[k] = full[k]
        out.append({k: _compact(short[k]) for k in [*old, *full] if k in short})
    return out


def _compact(v: Any) -> Any:
    """A series written as one number (`{value: 5000}` -> `5000`), as scenario files write it."""
    if isinstance(v, dict):
        return v["value"] if set(v) == {"value"} else {k: _compact(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_compact(x) for x in v]
    return v


def edit_section(db: Database, who: Principal, name: str, section: str, value: Any, request_id: str | None
                 ) -> tuple[ScenarioVersion, bool]:
    """A new version of `name` whose `section` is `value`, a function of the latest version's section
    (the rest of the file as in the latest version)."""
    with db.read() as s:
        latest = get_version(s, name)
        text = latest.yaml
    doc = yaml.load(text, Loader=Loader)
    doc[section] = value(doc.get(section)) if callable(value) else value
    return upload(db, who, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), name, request_id)


def diff(a: ScenarioVersion, b: ScenarioVersion) -> dict:
    """What changed from version a to b: structural changes by field path, and the unified text diff."""
    da = DataFile(a.yaml, f"{a.name} v{a.version}").data
    db_ = DataFile(b.yaml, f"{b.name} v{b.version}").data
    changes: list[dict] = []
    _walk(da, db_, (), changes)
    text = "".join(difflib.unified_diff(a.yaml.splitlines(keepends=True), b.yaml.splitlines(keepends=True),
                                        f"{a.name} v{a.version}", f"{b.name} v{b.version}"))
    return {"name": b.name, "from_version": a.version, "to_version": b.version, "changes": jsonable(changes),
            "text": text}


def _walk(a: Any, b: Any, loc: tuple, out: list[dict]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in b:
                out.append({"path": field_path(loc + (k,)), "change": "removed", "before": a[k]})
            elif k not in a:
                out.append({"path": field_path(loc + (k,)), "change": "added", "after": b[k]})
            else:
                _walk(a[k], b[k], loc + (k,), out)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            if i >= len(b):
                out.append({"path": field_path(loc + (i,)), "change": "removed", "before": a[i]})
            elif i >= len(a):
                out.append({"path": field_path(loc + (i,)), "change": "added", "after": b[i]})
            else:
                _walk(a[i], b[i], loc + (i,), out)
    elif a != b:
        out.append({"path": field_path(loc) or "(document)", "change": "changed", "before": a, "after": b})


def activate(db: Database, cache: ModelCache, who: Principal, name: str, version: int | None, reset_pools: bool,
             request_id: str | None) -> tuple[ScenarioVersion, Outcome]:
    """Make a scenario version the live fleet's; seed the pools from its `fleet:` when there are none
    (or when asked to), then place."""
    with db.read() as s:
        row = get_version(s, name, version)
    model = cache.for_version(db, row.id)
    with db.write() as s:
        db.fleet_lock(s)
        state = s.get(FleetState, 1)
        before = {"scenario_version_id": state.scenario_version_id, "month": state.month,
                  "demand_factors": dict(state.demand_factors or {}), "version": state.version}
        pools = list(s.scalars(select(Pool).order_by(Pool.id)))
        if reset_pools or not pools:
            for p in pools:
                audit.record(s, who, "delete", "pool", p.id, before=pool_doc(p), request_id=request_id)
            s.execute(delete(Pool))
            for p in pools_from_scenario(model, f"{row.name} v{row.version}"):
                s.add(p)
                s.flush()
                audit.record(s, who, "create", "pool", p.id, after=pool_doc(p), request_id=request_id)
        else:
            foreign = [p for p in pools if p.offering not in model.offerings]
            if foreign:
                raise ApiError(409, f"pool {foreign[0].id} holds {foreign[0].offering}, which {row.name} "
                                    f"v{row.version} does not offer; activate with reset_pools or delete the pool",
                               field="reset_pools")
        state.scenario_version_id = row.id
        state.month = state.month if state.month in model.months else None
        state.demand_factors = {k: v for k, v in (state.demand_factors or {}).items() if k in model.services}
        state.version += 1
        state.updated_at = utcnow()
        s.flush()
        outcome = reconcile(s, model, f"activate {row.name} v{row.version}")
        audit.record(s, who, "activate", "fleet", 1, before=before,
                     after={"scenario_version_id": row.id, "month": state.month,
                            "demand_factors": dict(state.demand_factors), "version": state.version},
                     request_id=request_id)
    return row, outcome


def delete_version(db: Database, who: Principal, name: str, version: int, request_id: str | None) -> None:
    """Delete a version nothing refers to (not the live one, not one a run or placement used)."""
    from .db.tables import Placement, Run
    with db.write() as s:
        db.fleet_lock(s)
        row = get_version(s, name, version)
        state = s.get(FleetState, 1)
        used = (state.scenario_version_id == row.id
                or s.scalar(select(func.count()).select_from(Run).where(Run.scenario_version_id == row.id))
                or s.scalar(select(func.count()).select_from(Placement)
                            .where(Placement.scenario_version_id == row.id)))
        if used:
            raise ApiError(409, f"{name} v{version} is in use (the live fleet, a run or a placement refers to it); "
                                "versions are kept as the record of what was run")
        audit.record(s, who, "delete", "scenario_version", f"{name} v{version}",
                     before={"name": name, "version": version, "sha256": row.sha256}, request_id=request_id)
        s.delete(row)


__all__ = ["activate", "build_model", "check_text", "delete_version", "diff", "edit_section", "get_version",
           "upload", "version_doc", "versions_of"]
