"""The audit log: every write, with who, when, what, and the record before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..report.tables import jsonable
from .auth import Principal
from .db.tables import AuditEntry
from .fleet import utcnow


def record(s: Session, who: Principal | str, action: str, resource: str, resource_id: object, *,
           before: dict | None = None, after: dict | None = None, request_id: str | None = None) -> None:
    """Add an audit row to the session's transaction (it commits, or rolls back, with the write)."""
    actor, role = (who.name, who.role) if isinstance(who, Principal) else (who, "system")
    s.add(AuditEntry(at=utcnow(), actor=actor, role=role, action=action, resource=resource,
                     resource_id=str(resource_id), before=_clean(before), after=_clean(after),
                     request_id=request_id))


def _clean(doc: dict | None) -> dict[str, Any] | None:
    return None if doc is None else jsonable(doc)
