"""Who may do what: API tokens (only their SHA-256 is stored) and three roles.

viewer reads; operator also records events, edits the fleet and starts or cancels runs; admin
also manages tokens and scenarios and deletes. Every endpoint but health needs a token, sent as
`Authorization: Bearer <token>` (the dashboard keeps it in an HttpOnly cookie).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import UserError
from .db.tables import ROLES, Token
from .fleet import utcnow

TOKEN_PREFIX = "pf_"
RANK = {r: i for i, r in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    """The caller: a token's id, name and role."""

    token_id: int
    name: str
    role: str

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_for(token: str) -> str:
    """The form token the dashboard embeds for a session token (derived, so nothing more is stored)."""
    return hmac.new(digest(token).encode(), b"polyfleet-dashboard-form", hashlib.sha256).hexdigest()[:32]


def create_token(s: Session, name: str, role: str, created_by: str) -> tuple[Token, str]:
    """A new token row and the token itself (to show once)."""
    if role not in ROLES:
        raise UserError(f"unknown role '{role}'", field="role", allowed=", ".join(ROLES))
    if not name.strip():
        raise UserError("a token needs a name", field="name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Token(name=name, role=role, sha256=digest(raw), prefix=raw[:10], created_at=utcnow(), created_by=created_by)
    s.add(row)
    s.flush()
    return row, raw


def lookup(s: Session, raw: str) -> Principal | None:
    """The principal of a token that exists and is not revoked."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    row = s.execute(select(Token.id, Token.name, Token.role).where(Token.sha256 == digest(raw),
                                                                   Token.revoked_at.is_(None))).first()
    return Principal(row.id, row.name, row.role) if row else None


def token_doc(t: Token) -> dict:
    return {"id": t.id, "name": t.name, "role": t.role, "prefix": t.prefix, "created_at": t.created_at,
            "created_by": t.created_by, "revoked_at": t.revoked_at}
