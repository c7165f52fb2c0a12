"""What a developer sees on the server side: why a webhook was refused, why Stripe could not
be reached, keys that look swapped. Never a secret."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments.checks import check_settings
from django_apranova_payments.testing import build_event, sign_payload

SECRET = settings.STRIPE_TEST_WEBHOOK_SECRET
WEBHOOK = reverse("apranova_payments:webhook")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("t=1,v1=" + "0" * 64, "outside the tolerance"),
        (None, "Missing or malformed Stripe-Signature header"),
        ("wrong secret", "No signature matches the payload"),
    ],
)
def test_a_refused_delivery_is_logged_as_a_warning_with_its_reason_and_no_secret(payment, caplog, header, reason):
    body = json.dumps(build_event(payment, "payment_intent.succeeded")).encode()
    if header == "wrong secret":
        header = sign_payload(body, "whsec_another_endpoints_secret")
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header is not None else {}

    with caplog.at_level(logging.INFO, logger="django_apranova_payments"):
        response = Client().post(WEBHOOK, data=body, content_type="application/json", **extra)

    assert response.status_code == 400
    (record,) = [r for r in caplog.records if r.name == "django_apranova_payments.webhooks"]
    assert record.levelno == logging.WARNING
    assert reason in record.getMessage() and "400" in record.getMessage()
    assert SECRET not in caplog.text and "whsec_another" not in caplog.text


def test_a_connection_failure_is_logged_with_its_cause(api, stripe_mock, caplog):
    stripe_mock.fail_next("create", exception=requests.ConnectionError("Name or service not known: api.stripe.com"))

    with caplog.at_level(logging.WARNING, logger="django_apranova_payments"):
        response = api.post(reverse("apranova_payments:create-payment"), data={"amount": "10.00"}, format="json")

    assert response.status_code == 503
    (record,) = [r for r in caplog.records if "Stripe create failed" in r.getMessage()]
    assert "APIConnectionError" in record.getMessage()
    assert "Name or service not known" in record.getMessage()
    assert "sk_test_suite" not in caplog.text


def test_swapped_keys_are_named_as_swapped_without_showing_them():
    config = {**settings.APRANOVA_PAYMENTS, "STRIPE_SECRET_KEY": "pk_test_51ThePublishable",
              "STRIPE_PUBLISHABLE_KEY": "sk_test_51TheSecret"}

    with override_settings(APRANOVA_PAYMENTS=config):
        messages = {m.id: m for m in check_settings()}

    for check_id in ("apranova_payments.E001", "apranova_payments.E002"):
        assert "look swapped" in messages[check_id].msg
        assert "TheSecret" not in f"{messages[check_id].msg} {messages[check_id].hint}"


def test_keys_that_are_merely_wrong_are_not_called_swapped():
    config = {**settings.APRANOVA_PAYMENTS, "STRIPE_SECRET_KEY": "pk_test_51A", "STRIPE_PUBLISHABLE_KEY": "pk_test_51B"}

    with override_settings(APRANOVA_PAYMENTS=config):
        messages = {m.id: m for m in check_settings()}

    assert "apranova_payments.E001" in messages and "swapped" not in messages["apranova_payments.E001"].msg


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url_name", "args"),
    [("post", "create-payment", []), ("post", "update-status", []), ("post", "webhook", []),
     ("get", "payment-detail", ["pi_123"]), ("post", "payment-cancel", ["pi_123"])],
)
def test_a_url_without_its_trailing_slash_is_a_json_404_naming_the_right_one(method, url_name, args):
    url = reverse(f"apranova_payments:{url_name}", args=args)
    client = Client(enforce_csrf_checks=True)

    with override_settings(DEBUG=True):  # where APPEND_SLASH raised a RuntimeError for a POST
        response = getattr(client, method)(url.rstrip("/"), data={}, content_type="application/json")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Not found. The URL ends with a slash: {url}"}


@pytest.mark.django_db
def test_a_path_that_is_not_one_of_ours_with_a_slash_either_is_a_plain_json_404():
    url = reverse("apranova_payments:payment-cancel", args=["pi_123"]) + "extra/more"

    response = Client().get(url)

    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_stripe_mock_refuses_to_start_when_the_simulator_is_the_gateway():
    from django.core.exceptions import ImproperlyConfigured

    from django_apranova_payments.testing import StripeMock

    config = {**settings.APRANOVA_PAYMENTS, "GATEWAY": "django_apranova_payments.simulator.gateway.SimulatorGateway"}
    with override_settings(APRANOVA_PAYMENTS=config), pytest.raises(ImproperlyConfigured, match="offline simulator"):
        StripeMock().start()
