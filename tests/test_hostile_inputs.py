"""Hostile inputs found by an attack review: request charsets, resolver answers that are not
chargeable, copied installation marks, empty key fallbacks, non-string webhook secrets."""

from __future__ import annotations

import bz2
import json
import logging
import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments import metadata, signing
from django_apranova_payments.metadata import MARK, USER, verified_owner
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, build_payment_intent, post_event, sign_payload
from tests.factories import PaymentFactory

CREATE = reverse("apranova_payments:create-payment")
SECRET = settings.STRIPE_TEST_WEBHOOK_SECRET


# -- the JSON parser decodes UTF-8 only ---------------------------------------------------------


def test_a_compressed_body_with_a_bz2_charset_is_refused_before_it_is_inflated(api, stripe_mock):
    bomb = b"".join(bz2.compress(b" " * 10_000_000) for _ in range(5))  # 50 MB of spaces in ~250 bytes
    started = time.perf_counter()

    response = api.generic("POST", CREATE, bomb, content_type="application/json; charset=bz2")

    assert response.status_code == 415
    assert "UTF-8" in response.json()["detail"]
    assert time.perf_counter() - started < 2  # nothing was inflated (it took seconds before)
    assert stripe_mock.calls == [] and not Payment.objects.exists()


@pytest.mark.parametrize("charset", ["rot13", "zlib", "utf-16", "latin-1"])
def test_any_charset_but_utf8_is_a_415_naming_it(api, stripe_mock, charset):
    body = json.dumps({"amount": "10.00"}).encode()

    response = api.generic("POST", CREATE, body, content_type=f"application/json; charset={charset}")

    assert response.status_code == 415
    assert charset in response.json()["detail"]
    assert stripe_mock.calls == []


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "us-ascii"])
def test_utf8_and_its_ascii_subset_are_accepted(api, stripe_mock, charset):
    body = json.dumps({"amount": "10.00"}).encode()

    response = api.generic("POST", CREATE, body, content_type=f"application/json; charset={charset}")

    assert response.status_code == 201, response.content


def test_a_body_that_is_not_utf8_is_a_400(api, stripe_mock):
    response = api.generic("POST", CREATE, b'{"amount": "10.00", "metadata": {"k": "\xff"}}',
                           content_type="application/json")

    assert response.status_code == 400
    assert "utf-8" in response.json()["detail"]


# -- resolver answers that cannot be charged ----------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "logged"),
    [
        ({"amount": 10**5000, "currency": "usd"}, "too large"),
        ({"amount": "10.00", "currency": "usd", "metadata": {"k": "\ud800"}}, "invalid Unicode"),
        ({"amount": "10.00", "currency": "usd", "metadata": {"k": "a\x00b"}}, "NUL"),
        ({"amount": "10.00", "currency": "usd", "metadata": {"\x00": "v"}}, "NUL"),
    ],
)
def test_resolver_answers_that_broke_the_server_are_a_logged_generic_500(api, stripe_mock, caplog, answer, logged):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "PRICE_RESOLVER": lambda r, d: answer}):
        with caplog.at_level(logging.ERROR, logger="django_apranova_payments"):
            response = api.post(CREATE, data=json.dumps({}), content_type="application/json")

    assert response.status_code == 500
    assert response.json() == {"detail": "Payments are misconfigured on the server."}
    assert stripe_mock.calls == []
    assert any("PRICE_RESOLVER" in r.getMessage() and logged in r.getMessage() for r in caplog.records)


# -- the installation mark covers the host's metadata; empty fallbacks are never keys ----------


@pytest.mark.django_db
def test_a_copied_mark_on_an_intent_for_another_course_is_refused(user):
    """Another site on the same Stripe account copies one of our PaymentIntents' metadata,
    changes the course and pays the same amount: nothing is rebuilt, nothing is granted."""
    ours = PaymentFactory.build(user=user, metadata={"course": "1"})
    copied = build_payment_intent(ours, "succeeded", id="pi_made_by_another_site")
    copied["metadata"]["course"] = "2"

    response = post_event(Client(), build_event(copied, "payment_intent.succeeded"))

    assert response.json()["outcome"] == "ignored"
    assert not Payment.objects.exists()


@pytest.mark.django_db
@override_settings(SECRET_KEY_FALLBACKS=[""])
def test_an_empty_secret_key_fallback_is_never_used_to_verify_a_mark(user):
    """``os.environ.get("OLD_KEYS", "").split(",")`` gives ``[""]``: a mark keyed with it is
    computable by anyone, so it must not verify."""
    lost = PaymentFactory.build(user=user)
    forged = {USER: str(user.pk)}
    forged[MARK] = metadata._mark(forged, {}, lost.amount_minor, "usd", "")  # the public salt is all it takes
    intent = build_payment_intent(lost, "succeeded")
    intent["metadata"] = forged

    response = post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    assert verified_owner(forged, lost.amount_minor, "usd") is None
    assert response.json()["outcome"] == "ignored"
    assert not Payment.objects.exists()
    assert forged[USER] == str(user.pk)


# -- webhook secrets that are not strings ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("secrets", [[SECRET, b"whsec_bytes"], (SECRET, 5)])
@override_settings(DEBUG=True)
def test_non_string_webhook_secrets_are_skipped_never_a_500_showing_the_others(secrets, payment, caplog):
    body = json.dumps(build_event(payment, "payment_intent.succeeded")).encode()
    config = {**settings.APRANOVA_PAYMENTS, "STRIPE_WEBHOOK_SECRET": secrets}

    with override_settings(APRANOVA_PAYMENTS=config), caplog.at_level(logging.ERROR):
        signed = post_raw(body, sign_payload(body, SECRET))
        unsigned = post_raw(body, "t=1,v1=" + "0" * 64)

    assert signed.status_code == 200 and signed.json()["outcome"] == "processed"
    assert unsigned.status_code == 400
    assert SECRET not in unsigned.content.decode()
    assert any("not a string" in r.getMessage() for r in caplog.records)
    assert WebhookEvent.objects.count() == 1


def post_raw(body: bytes, header: str) -> Any:
    client = Client(raise_request_exception=False)
    return client.post(reverse("apranova_payments:webhook"), data=body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=header)


def test_as_secrets_keeps_only_non_empty_strings():
    keys = signing.as_secrets([SECRET, "", None, b"x", 5, signing.SigningSecret("whsec_other")])

    assert len(keys) == 2


# -- settings mistakes on the debug page --------------------------------------------------------

SECRET_KEY_VALUE = "sk_test_" + "Z9" * 12  # built at run time: the page also shows source lines


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mistake", "url"),
    [
        ({"PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedd"]}, "apranova_payments:payment-list"),
        ({"THROTTLE_RATES": {"create": "20 / min"}}, "apranova_payments:create-payment"),
        ({"PRICE_RESOLVER": "no.such.module.resolve"}, "apranova_payments:create-payment"),
    ],
)
@override_settings(DEBUG=True)
def test_a_settings_mistake_shows_no_secret_on_the_debug_page(api, mistake, url):
    config = {**settings.APRANOVA_PAYMENTS, "STRIPE_SECRET_KEY": SECRET_KEY_VALUE, **mistake}
    api.raise_request_exception = False

    with override_settings(APRANOVA_PAYMENTS=config):
        response = api.post(reverse(url), data={}, format="json") if "create" in url else api.get(reverse(url))

    page = response.content.decode()
    assert response.status_code == 500 and "ImproperlyConfigured" in page  # Django's technical 500 page
    assert SECRET_KEY_VALUE not in page and SECRET not in page


@pytest.mark.django_db
def test_a_webhook_secret_of_the_wrong_type_refuses_deliveries_and_says_why(payment, caplog):
    body = json.dumps(build_event(payment, "payment_intent.succeeded")).encode()
    config = {**settings.APRANOVA_PAYMENTS, "STRIPE_WEBHOOK_SECRET": 12345}

    with override_settings(APRANOVA_PAYMENTS=config), caplog.at_level(logging.ERROR):
        response = post_raw(body, sign_payload(body, SECRET))

    assert response.status_code == 400
    expected = "STRIPE_WEBHOOK_SECRET must be a string or a list of strings, not int"
    assert any(expected in r.getMessage() for r in caplog.records)
