"""The OpenAPI spec is true: schemathesis generates requests for every operation from the spec itself and
checks that no answer is a 5xx and that every answer (status, content type, headers, body) is one the spec
documents. Run as admin against a live fleet with an incident, events and a queued run, so that reads
find data and writes meet real records."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from polyfleet.server.settings import Settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def api_schema(live):
    app = live.client.app
    app.state.settings = Settings(db_url=app.state.db.url, log_requests=False, sse_max_s=0.2, sse_poll_s=0.05)
    live.post("/api/v1/events", {"id": "down-1", "kind": "outage_start", "target": {"provider": "aws"}})
    live.post("/api/v1/runs", {"kind": "plan"}, role="operator")
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app,
                                          headers={"Authorization": f"Bearer {live.tokens['admin']}"})


def test_every_answer_is_one_the_spec_documents(api_schema, live):
    headers = {"Authorization": f"Bearer {live.tokens['admin']}"}
    operations = [op.ok() for op in api_schema.get_all_operations()]
    assert len(operations) >= 30
    failures = []
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                         HealthCheck.filter_too_much])
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)
        try:
            check()
        except Exception as exc:  # noqa: BLE001  (collect every operation's failure, then report them all)
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_run_event_stream_is_checked_event_by_event(api_schema, live):
    """The stream of a run that exists (the generated ids above may all miss it): schemathesis parses each
    server-sent event and validates it against the documented itemSchema; each event's `data` is JSON that
    its own contentSchema accepts. A progress event must carry its id (Last-Event-ID resumes from it)."""
    import json

    import jsonschema
    headers = {"Authorization": f"Bearer {live.tokens['admin']}"}
    run = live.get("/api/v1/runs").json()["items"][0]
    live.post(f"/api/v1/runs/{run['id']}/cancel", role="operator")        # the stream then ends with `end`
    operation = api_schema["/api/v1/runs/{run_id}/events"]["GET"]
    case = operation.Case(path_parameters={"run_id": run["id"]})
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)
    events = [dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
              for block in response.text.strip().split("\n\n")]
    events = [e for e in events if "data" in e]
    assert [e["event"] for e in events] == ["progress", "progress", "end"]      # queued, cancelled, end
    item = operation.definition.raw["responses"]["200"]["content"]["text/event-stream"]["itemSchema"]
    kinds = {k["properties"]["event"]["const"]: k for k in item["oneOf"]}
    for e in events:
        jsonschema.validate(json.loads(e["data"]), kinds[e["event"]]["properties"]["data"]["contentSchema"])
    assert json.loads(events[-1]["data"]) == {"status": "cancelled"}
    bad = {"event": "progress", "data": "{}"}                                    # no id: the schema refuses it
    assert not jsonschema.Draft202012Validator(item).is_valid(bad)
