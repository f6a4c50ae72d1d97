"""`polyfleet serve`: the control plane (API, dashboard, workers) and its tokens."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from ..errors import UserError
from ..report.tables import Column, check_format, emit, jsonable
from . import app

DB = typer.Option("sqlite:///polyfleet.db", "--db", metavar="URL",
                  help="sqlite:///FILE (default ./polyfleet.db, created if missing) or "
                       "postgresql+psycopg://USER@HOST:PORT/DATABASE.")
FORMAT = typer.Option("table", "--format", "-f", help="table, json or csv.")
LOG_LEVEL = typer.Option("info", "--log-level", help="debug, info, warning or error (JSON lines on stderr).")
RAY = typer.Option(None, "--ray", metavar="ADDRESS", help="Send Monte Carlo runs to Ray: auto, local or ray://host:port.")
LEASE = typer.Option(30.0, "--lease-s", help="Seconds a worker holds a run without a heartbeat before another takes it.")
RISK_PROCESSES = typer.Option(1, "--risk-processes", help="Local processes per risk run (without --ray).")

serve_app = typer.Typer(help="The control plane: the live fleet, events, placements, runs, an API and a dashboard.",
                        no_args_is_help=False, rich_markup_mode="rich")
token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
serve_app.add_typer(token_app, name="token")
app.add_typer(serve_app, name="serve")


def _need_server() -> None:
    """The service's packages come with the `server` extra; say so instead of a traceback."""
    import importlib.util
    missing = [m for m in ("fastapi", "sqlalchemy", "alembic", "uvicorn", "jinja2", "prometheus_client")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(f"the service needs {', '.join(missing)}; install the extra: pip install 'polyfleet[server]'")


def _say(msg: str) -> None:
    Console(stderr=True, soft_wrap=True, highlight=False).print(msg, markup=False)


@serve_app.callback(invoke_without_command=True, epilog="Examples:\n\n"
                    "  polyfleet serve                                   (SQLite ./polyfleet.db, http://127.0.0.1:8000)\n\n"
                    "  polyfleet serve --db postgresql+psycopg://postgres@127.0.0.1:5432/fleet --workers 4\n\n"
                    "  polyfleet serve token create --role admin --name alice\n\n"
                    "  polyfleet serve worker --db postgresql+psycopg://... --ray auto   (more workers, elsewhere)\n\n"
                    "Every endpoint but /api/v1/health needs a token (Authorization: Bearer ...). Ctrl-C stops the "
                    "server and its workers; a run they held is taken up again by the next worker.")
def serve_cmd(
    ctx: typer.Context,
    db: str = DB,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", help="Worker processes for plan/simulate/risk runs (SQLite: 0 or 1)."),
    ray: str | None = RAY,
    lease_s: float = LEASE,
    risk_processes: int = RISK_PROCESSES,
    log_level: str = LOG_LEVEL,
) -> None:
    """Serve the API and dashboard, with worker processes for long runs."""
    if ctx.invoked_subcommand is not None:
        return
    _need_server()
    from ..server.process import ServeOptions, serve
    if not 0 < port < 65536:
        raise UserError("must be 1 .. 65535", field="--port")
    _check_common(lease_s, risk_processes, log_level)
    serve(ServeOptions(db_url=db, host=host, port=port, workers=workers, ray_address=ray, lease_s=lease_s,
                       risk_processes=risk_processes, log_level=log_level), say=_say)


def _check_common(lease_s: float, risk_processes: int, log_level: str) -> None:
    if not lease_s >= 2:
        raise UserError("must be at least 2 seconds", field="--lease-s")
    if risk_processes < 1:
        raise UserError("must be at least 1", field="--risk-processes")
    if log_level not in ("debug", "info", "warning", "error"):
        raise UserError(f"unknown level '{log_level}'", field="--log-level", allowed="debug, info, warning, error")


@serve_app.command("worker", epilog="Example:\n\n  polyfleet serve worker --db postgresql+psycopg://postgres@db/fleet")
def worker_cmd(db: str = DB, ray: str | None = RAY, lease_s: float = LEASE, risk_processes: int = RISK_PROCESSES,
               log_level: str = LOG_LEVEL) -> None:
    """Run one worker process (more of them on PostgreSQL share the queue)."""
    _need_server()
    from ..server.process import open_database
    from ..server.worker import main
    _check_common(lease_s, risk_processes, log_level)
    _, what = open_database(db)
    _say(f"worker on the {what}")
    main(["--db", db, "--lease-s", str(lease_s), "--risk-processes", str(risk_processes), "--log-level", log_level]
         + (["--ray", ray] if ray else []))


@serve_app.command("migrate", epilog="Example:\n\n  polyfleet serve migrate --db postgresql+psycopg://postgres@db/fleet")
def migrate_cmd(db: str = DB) -> None:
    """Create or upgrade the service's tables (serve does this on start)."""
    _need_server()
    from ..server.db.migrate import current_revision
    from ..server.process import open_database
    database, what = open_database(db)
    _say(f"{what}: at migration {current_revision(database)}")


@token_app.command("create", epilog="Examples:\n\n  polyfleet serve token create --role operator --name ci-bot\n\n"
                   "  polyfleet serve token create --role admin --format json --db postgresql+psycopg://...")
def token_create(role: str = typer.Option(..., "--role", help="viewer, operator (events, runs) or admin (tokens, "
                                          "scenarios, deletes)."),
                 name: str = typer.Option("cli", "--name", help="Whose token (shown in the audit log)."),
                 db: str = DB, fmt: str = FORMAT) -> None:
    """Create a token and print it once (only its SHA-256 is stored)."""
    _need_server()
    from ..server import audit
    from ..server.auth import create_token, token_doc
    from ..server.db.tables import ROLES
    from ..server.process import open_database
    check_format(fmt)
    if role not in ROLES:
        raise UserError(f"unknown role '{role}'", field="--role", allowed=", ".join(ROLES))
    database, _ = open_database(db)
    with database.write() as s:
        row, raw = create_token(s, name, role, "polyfleet serve token create")
        doc = token_doc(row)
        audit.record(s, "command line", "create", "token", row.id, after=doc)
    if fmt == "table":
        print(raw)
        _say(f"token {row.id} '{name}' ({role}): shown only now; keep it secret")
    else:
        emit([{**doc, "token": raw}], fmt, _columns() + [Column("token", "token", justify="left")],
             document={**jsonable(doc), "token": raw})


def _columns() -> list[Column]:
    return [Column("id", "id"), Column("name", "name", justify="left"), Column("role", "role", justify="left"),
            Column("prefix", "prefix", justify="left"), Column("created_at", "created", justify="left"),
            Column("revoked_at", "revoked", justify="left")]


@token_app.command("list", epilog="Example:\n\n  polyfleet serve token list --format csv")
def token_list(db: str = DB, fmt: str = FORMAT) -> None:
    """Tokens (never the secrets): id, name, role, prefix, when created and revoked."""
    _need_server()
    from sqlalchemy import select

    from ..server.auth import token_doc
    from ..server.db.tables import Token
    from ..server.process import open_database
    check_format(fmt)
    database, _ = open_database(db)
    with database.read() as s:
        rows = [jsonable(token_doc(t)) for t in s.scalars(select(Token).order_by(Token.id))]
    if fmt == "json":
        print(json.dumps(rows, indent=2))
    else:
        emit(rows, fmt, _columns(), title=f"{len(rows)} token{'s' if len(rows) != 1 else ''}")


@token_app.command("revoke", epilog="Example:\n\n  polyfleet serve token revoke 3")
def token_revoke(token_id: int = typer.Argument(..., help="The token's id (see token list)."), db: str = DB) -> None:
    """Revoke a token at once."""
    _need_server()
    from ..server import audit
    from ..server.auth import token_doc
    from ..server.db.tables import Token
    from ..server.fleet import utcnow
    from ..server.process import open_database
    database, _ = open_database(db)
    with database.write() as s:
        row = s.get(Token, token_id)
        if row is None or row.revoked_at is not None:
            raise UserError(f"no active token {token_id}", field="TOKEN_ID")
        before = token_doc(row)
        row.revoked_at = utcnow()
        audit.record(s, "command line", "revoke", "token", token_id, before=before, after=token_doc(row))
    _say(f"token {token_id} revoked")
    sys.stdout.flush()
