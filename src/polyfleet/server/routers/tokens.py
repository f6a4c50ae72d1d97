"""API tokens (admin): create (shown once), list, revoke; and who am I (any role)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy import select

from .. import audit
from ..auth import Principal, create_token, token_doc
from ..db.engine import Database
from ..db.tables import Token
from ..deps import PageArgs, get_db, page_args, paginate, request_id, require
from ..fleet import utcnow
from ..problems import not_found, responses
from ..schemas.common import Page
from ..schemas.tokens import Me, TokenCreate, TokenCreated, TokenOut

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=responses(401, 403, 422))


@router.post("", status_code=201, response_model=TokenCreated)
def create(body: TokenCreate, db: Database = Depends(get_db), who: Principal = Depends(require("admin")),
           rid: str | None = Depends(request_id)) -> dict:
    """A new token for a person or a system; the response is the only time the token is shown."""
    with db.write() as s:
        row, raw = create_token(s, body.name, body.role, who.name)
        doc = token_doc(row)
        audit.record(s, who, "create", "token", row.id, after=doc, request_id=rid)
    return {**doc, "token": raw}


@router.get("", response_model=Page[TokenOut])
def list_tokens(page: PageArgs = Depends(page_args), db: Database = Depends(get_db),
                who: Principal = Depends(require("admin"))) -> dict:
    with db.read() as s:
        rows, nxt = paginate(s, select(Token), Token.id, page)
        return {"items": [token_doc(t) for t in rows], "next_cursor": nxt}


@router.get("/me", response_model=Me)
def me(who: Principal = Depends(require("viewer"))) -> Me:
    """The token's owner and role."""
    return Me(token_id=who.token_id, name=who.name, role=who.role)


@router.delete("/{token_id}", status_code=204, response_class=Response, responses=responses(404))
def revoke(request: Request, token_id: int = Path(ge=1, le=2**31 - 1), db: Database = Depends(get_db),
           who: Principal = Depends(require("admin")), rid: str | None = Depends(request_id)) -> Response:
    """Revoke a token: it stops working at once (the row stays, for the audit log)."""
    with db.write() as s:
        row = s.get(Token, token_id)
        if row is None or row.revoked_at is not None:
            raise not_found("active token", token_id)
        before = token_doc(row)
        row.revoked_at = utcnow()
        audit.record(s, who, "revoke", "token", token_id, before=before, after=token_doc(row), request_id=rid)
    request.app.state.tokens.clear()
    return Response(status_code=204)
