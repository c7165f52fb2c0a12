"""Schemathesis against the committed OpenAPI schema, authenticated, over every payment
endpoint: no 5xx, and every response matches the schema (status code, content type, body)."""

from __future__ import annotations

import base64
import json

import pytest

schemathesis = pytest.importorskip("schemathesis")

from django.core.signals import request_finished, request_started  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from django_apranova_payments.testing import StripeMock  # noqa: E402
from tests.factories import PaymentFactory, UserFactory  # noqa: E402
from tests.fuzz.budget import API_EXAMPLES  # noqa: E402

pytestmark = pytest.mark.urls("tests.fuzz.urls")

from tests.fuzz.urls import SCHEMA  # noqa: E402

schema = schemathesis.openapi.from_path(SCHEMA)
schema.app = get_wsgi_application()
PASSWORD = "fuzz-password"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def keep_test_connection():
    """As Django's test client does: a WSGI request must not close the test's connection
    (and with it the transaction that isolates the test)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def basic_auth(db):
    user = UserFactory(password=PASSWORD)
    for status in ("pending", "succeeded", "failed"):
        PaymentFactory(user=user, status=status)
    token = base64.b64encode(f"{user.get_username()}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def stripe():
    with StripeMock() as mock:
        yield mock


@schema.parametrize()
@settings(max_examples=API_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_payment_endpoint_answers_within_its_schema(case, basic_auth, stripe, count_request):
    count_request(f"api: {case.operation.label}")
    headers = {**basic_auth, **(case.headers or {})}

    response = case.call(headers=headers)

    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        body = response.content.decode(errors="replace")
        assert "Traceback" not in body and "sk_test" not in body, body
        json.loads(body)  # errors are JSON too
