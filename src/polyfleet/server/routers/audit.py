"""The audit log: every write, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from ..auth import Principal
from ..db.engine import Database
from ..db.tables import AuditEntry
from ..deps import PageArgs, get_db, page_args, paginate, require
from ..problems import responses
from ..schemas.audit import AuditOut
from ..schemas.common import Page

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=responses(401, 403, 422))


def audit_doc(a: AuditEntry) -> dict:
    return {"id": a.id, "at": a.at, "actor": a.actor, "role": a.role, "action": a.action, "resource": a.resource,
            "resource_id": a.resource_id, "before": a.before, "after": a.after, "request_id": a.request_id}


@router.get("", response_model=Page[AuditOut])
def list_audit(page: PageArgs = Depends(page_args), resource: str | None = Query(None, max_length=32),
               db: Database = Depends(get_db), who: Principal = Depends(require("viewer"))) -> dict:
    """Who wrote what, when, with the record before and after (tokens never appear, only their names)."""
    q = select(AuditEntry)
    if resource:
        q = q.where(AuditEntry.resource == resource)
    with db.read() as s:
        rows, nxt = paginate(s, q, AuditEntry.id, page)
        return {"items": [audit_doc(a) for a in rows], "next_cursor": nxt}
