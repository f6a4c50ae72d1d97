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
