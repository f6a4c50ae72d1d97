"""The audit log."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .common import Stamp


class AuditOut(BaseModel):
    id: int
    at: Stamp
    actor: str
    role: str
    action: str
    resource: str
    resource_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
