"""The dashboard's session: the API token in an HttpOnly, same-site cookie; a form token derived from it
on every form that writes; the page templates and their filters."""

from __future__ import annotations

import hmac
import math
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from ..auth import Principal, csrf_for, lookup
from ..problems import ApiError

COOKIE = "polyfleet_token"
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def viewer_page(request: Request) -> Principal:
    """The dashboard user, or a redirect to the login page."""
    raw = request.cookies.get(COOKIE)
    who = None
    if raw:
        with request.app.state.db.read() as s:
            who = lookup(s, raw)
    if who is None:
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    request.state.principal = who
    return who


def check_form(request: Request, who: Principal, role: str, csrf: str) -> None:
    """A form that writes: the right role, and the form token of this session (no cross-site posts)."""
    if not who.can(role):
        raise ApiError(403, f"this needs the {role} role; you are signed in as a {who.role}")
    if not hmac.compare_digest(csrf, csrf_for(request.cookies.get(COOKIE, ""))):
        raise ApiError(403, "the form is stale or came from elsewhere; reload the page and try again")


def render(request: Request, name: str, status: int = 200, **ctx) -> object:
    who = getattr(request.state, "principal", None)
    token = request.cookies.get(COOKIE, "")
    return templates.TemplateResponse(request, name, {"who": who, "csrf": csrf_for(token) if token else "", **ctx},
                                      status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)


def _pct(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.1%}"


def _num(v, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:,.{digits}f}"


def _money(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    a = abs(v)
    return f"${v / 1e9:,.2f}B" if a >= 1e9 else f"${v / 1e6:,.2f}M" if a >= 1e6 else f"${v:,.2f}"


def _when(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return f"{v:%Y-%m-%d %H:%M:%S} UTC"


templates.env.filters.update(pct=_pct, num=_num, money=_money, when=_when)
