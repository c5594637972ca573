"""Schemathesis drives every operation of /api/openapi.json against the real app (WSGI, real database and
Redis) with generated valid and invalid requests: no server error, and every answer matches the document.

Bounded in time: SCHEMATHESIS_EXAMPLES (default 8) cases per operation, about a minute in all.
"""

import os

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api.auth import create_key  # noqa: E402
from app.models.webhooks import API_SCOPES  # noqa: E402
from tests.calls_support import make_site  # noqa: E402

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.fixture
def app(make_app):
    app = make_app(API_RATE_LIMIT="100000 per minute", WEBHOOK_ALLOW_HTTP=True,
                   WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"])
    with app.app_context():
        yield app


def test_every_operation_answers_within_the_document(app, admin, rep):
    make_site(admin.organization_id, "fuzz.example.com")
    _, raw = create_key(admin.organization_id, "schemathesis", list(API_SCOPES))
    headers = {"Authorization": f"Bearer {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures, ran = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as e:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(e)[:2000]}")
        ran += 1
    assert ran >= 30
    assert not failures, "\n\n".join(failures)
