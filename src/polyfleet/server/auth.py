"""Who may do what: API tokens (only their SHA-256 is stored) and three roles.

viewer reads; operator also records events, edits the fleet and starts or cancels runs; admin
also manages tokens and scenarios and deletes. Every endpoint but health needs a token, sent as
`Authorization: Bearer <token>` (the dashboard keeps it in an HttpOnly cookie).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
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


class TokenCache:
    """Valid tokens seen in the last `ttl_s` seconds, so that a burst of reads does not look each one up.
    Revoking through the API clears it at once; a revocation from the command line (another process)
    takes effect within `ttl_s`."""

    def __init__(self, ttl_s: float = 1.0, size: int = 1024) -> None:
        self.ttl_s, self.size = ttl_s, size
        self._items: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, raw: str) -> Principal | None:
        key = digest(raw)
        with self._lock:
            hit = self._items.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def put(self, raw: str, who: Principal) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[digest(raw)] = (time.monotonic() + self.ttl_s, who)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


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
