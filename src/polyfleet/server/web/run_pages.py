"""Dashboard pages about scenarios and runs: upload a scenario and activate it, see versions and what
changed between them; start a run and watch its progress; results; plan versions side by side."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from ...errors import UserError
from .. import runs as run_svc
from .. import scenarios as scn_svc
from ..auth import Principal
from ..db.tables import FleetState, Run, ScenarioVersion
from ..deps import MAX_ID
from ..problems import ApiError, not_found
from ..schemas.runs import RunIn
from ..schemas.scenarios import MAX_YAML_CHARS
from . import charts
from .compare import plan_changes
from .session import check_form, render, viewer_page

router = APIRouter(include_in_schema=False)
RUN = TypeAdapter(RunIn)


def _scenarios_page(request: Request, status: int = 200, error: str | None = None):
    with request.app.state.db.read() as s:
        active = s.get(FleetState, 1).scenario_version_id
        rows = list(s.scalars(select(ScenarioVersion).order_by(ScenarioVersion.name, ScenarioVersion.version.desc())))
        versions = [scn_svc.version_doc(v, active) for v in rows]
    return render(request, "scenarios.html", status, versions=versions, error=error)


@router.get("/scenarios")
def scenarios_page(request: Request, who: Principal = Depends(viewer_page)):
    return _scenarios_page(request)


@router.post("/scenarios")
async def upload(request: Request, file: UploadFile | None = File(None), text: str = Form(""), name: str = Form(""),
                 activate: str = Form(""), csrf: str = Form(""), who: Principal = Depends(viewer_page)):
    check_form(request, who, "admin", csrf)
    raw = (await file.read(MAX_YAML_CHARS + 1)) if file is not None and file.filename else text.encode()
    try:
        if not raw.strip():
            raise UserError("choose a scenario file or paste its text", field="file")
        if len(raw) > MAX_YAML_CHARS:
            raise UserError(f"a scenario file is at most {MAX_YAML_CHARS:,} characters", field="file")
        body = raw.decode("utf-8")
        db, rid = request.app.state.db, getattr(request.state, "request_id", None)
        row, _ = scn_svc.upload(db, who, body, name.strip() or None, rid)
        if activate:
            scn_svc.activate(db, request.app.state.cache, who, row.name, row.version, False, rid)
    except UnicodeDecodeError:
        return _scenarios_page(request, 422, "file: a scenario file is UTF-8 text")
    except (UserError, ApiError) as exc:
        return _scenarios_page(request, 422, str(exc) if isinstance(exc, UserError) else exc.detail)
    return RedirectResponse("/scenarios", status_code=303)


@router.post("/scenarios/activate")
def activate(request: Request, name: str = Form(...), version: int = Form(..., ge=1, le=MAX_ID),
             reset_pools: str = Form(""), csrf: str = Form(""), who: Principal = Depends(viewer_page)):
    check_form(request, who, "admin", csrf)
    try:
        scn_svc.activate(request.app.state.db, request.app.state.cache, who, name, version, bool(reset_pools),
                         getattr(request.state, "request_id", None))
    except (UserError, ApiError) as exc:
        return _scenarios_page(request, 422, str(exc) if isinstance(exc, UserError) else exc.detail)
    return RedirectResponse("/", status_code=303)


@router.get("/scenarios/{name}/diff")
def diff(request: Request, name: str, from_version: int | None = Query(None, ge=1, le=MAX_ID),
         to_version: int | None = Query(None, ge=1, le=MAX_ID), who: Principal = Depends(viewer_page)):
    with request.app.state.db.read() as s:
        b = scn_svc.get_version(s, name, to_version)
        a = scn_svc.get_version(s, name, from_version or max(b.version - 1, 1))
        versions = [v.version for v in scn_svc.versions_of(s, name)]
    return render(request, "diff.html", diff=scn_svc.diff(a, b), versions=versions)


def _runs_page(request: Request, status: int = 200, error: str | None = None):
    with request.app.state.db.read() as s:
        rows = list(s.scalars(select(Run).order_by(Run.id.desc()).limit(100)))
        names = run_svc.version_names(s, [r.scenario_version_id for r in rows])
        active = s.get(FleetState, 1).scenario_version_id
        scenarios = sorted({v.name for v in s.scalars(select(ScenarioVersion))})
    return render(request, "runs.html", status, runs=[run_svc.run_doc(r, names=names) for r in rows], error=error,
                  has_active=active is not None, scenarios=scenarios)


@router.get("/runs")
def runs_page(request: Request, who: Principal = Depends(viewer_page)):
    return _runs_page(request)


@router.post("/runs")
async def start(request: Request, who: Principal = Depends(viewer_page)):
    form = dict(await request.form())
    check_form(request, who, "operator", str(form.pop("csrf", "")))
    keep = {"plan": ("gap", "time_limit_s"), "simulate": ("seed", "months", "no_faults"),
            "risk": ("runs", "seed", "months", "compare")}.get(form.get("kind", ""), ())
    body = {"kind": form.get("kind"), "fleet": form.get("fleet", "live")}
    if form.get("scenario"):
        body["scenario"] = form["scenario"]
    body.update({k: form[k] for k in keep if form.get(k, "") != ""})
    try:
        run = run_svc.create(request.app.state.db, who, RUN.validate_python(body),
                             getattr(request.state, "request_id", None))
    except ValidationError as exc:
        err = exc.errors()[0]
        return _runs_page(request, 422, f"{'.'.join(str(p) for p in err['loc'][1:])}: {err['msg']}")
    except (UserError, ApiError) as exc:
        return _runs_page(request, 422, str(exc) if isinstance(exc, UserError) else exc.detail)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: int, who: Principal = Depends(viewer_page)):
    with request.app.state.db.read() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise not_found("run", run_id)
        doc = run_svc.run_doc(run, True, run_svc.version_names(s, [run.scenario_version_id]))
    figures = []
    if run.kind == "plan" and doc["result"] and doc["result"].get("feasible"):
        figures = [charts.plan_chips(run_id, doc["result"]), charts.plan_cost(run_id, doc["result"])]
    return render(request, "run.html", run=doc, result=doc["result"], figures=figures)


@router.get("/runs/{run_id}/stream")
def run_stream(request: Request, run_id: int, who: Principal = Depends(viewer_page)):
    """The run's server-sent events for the page (the API's stream, signed in by the cookie)."""
    settings = request.app.state.settings
    last = request.headers.get("last-event-id", "0")
    gen = run_svc.stream(request.app.state.db, run_id, int(last) if last.isdigit() else 0, settings.sse_max_s,
                         settings.sse_poll_s)
    return StreamingResponse(gen, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.post("/runs/{run_id}/cancel")
def cancel(request: Request, run_id: int, csrf: str = Form(""), who: Principal = Depends(viewer_page)):
    check_form(request, who, "operator", csrf)
    try:
        run_svc.cancel(request.app.state.db, who, run_id, getattr(request.state, "request_id", None))
    except ApiError as exc:
        return _runs_page(request, exc.status, exc.detail)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.get("/plans")
def plans(request: Request, a: int | None = Query(None, ge=1, le=MAX_ID), b: int | None = Query(None, ge=1, le=MAX_ID),
          who: Principal = Depends(viewer_page)):
    """Two plan runs side by side, with what changed (default: the last two that succeeded)."""
    with request.app.state.db.read() as s:
        done = list(s.scalars(select(Run).where(Run.kind == "plan", Run.status == "succeeded")
                              .order_by(Run.id.desc()).limit(50)))
        names = run_svc.version_names(s, [r.scenario_version_id for r in done])
    by_id = {r.id: r for r in done}
    if b is None and done:
        b = done[0].id
    if a is None and len(done) > 1:
        a = next((r.id for r in done if r.id != b), None)
    pair = [by_id.get(a), by_id.get(b)]
    docs = [run_svc.run_doc(r, True, names) if r else None for r in pair]
    changes = plan_changes(docs[0]["result"], docs[1]["result"]) if all(docs) else None
    return render(request, "plans.html", runs=[run_svc.run_doc(r, names=names) for r in done], pair=docs,
                  a=a, b=b, changes=changes)
