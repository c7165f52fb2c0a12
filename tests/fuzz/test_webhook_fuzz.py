"""Hypothesis against the webhook endpoint: random bodies, random signatures, truncated bodies,
huge numbers and wrong types inside correctly signed events. Never a 5xx, and nothing is stored
or processed unless the signature verifies."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, sign_payload
from tests.factories import PaymentFactory
from tests.fuzz.budget import WEBHOOK_EXAMPLES

URL = reverse("apranova_payments:webhook")
FUZZ = settings(
    max_examples=WEBHOOK_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# JSON values with the awkward parts: huge and negative numbers, NUL, lone surrogates, deep nesting.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["\x00", "\ud800", "pi_" + "x" * 300, "evt_1", "payment_intent.succeeded", "usd"])
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def post(client: Client, body: bytes, signature: str | None) -> Any:
    extra = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return client.post(URL, data=body, content_type="application/json", **extra)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


@pytest.fixture
def payments(user: Any) -> list[Payment]:
    return [PaymentFactory(user=user) for _ in range(3)]


@FUZZ
@given(body=st.binary(max_size=2048), signature=st.none() | st.text(max_size=200))
def test_unsigned_random_bodies_are_refused_and_never_stored(client, db, count_request, body, signature):
    count_request("webhook: random body, random header")
    try:
        response = post(client, body, signature)
    except ValueError:  # the test client itself refuses some header values (NUL, newlines)
        return
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@FUZZ
@given(value=json_values)
def test_signed_random_json_never_fails_the_server(client, db, count_request, value):
    count_request("webhook: signed random JSON")
    body = dumps(value)

    response = post(client, body, sign_payload(body))

    assert response.status_code in (200, 400), response.content


@FUZZ
@given(data=st.data())
def test_signed_truncated_events_are_refused(client, payments, count_request, data):
    count_request("webhook: signed truncated event")
    body = dumps(build_event(data.draw(st.sampled_from(payments))))
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))

    response = post(client, body[:cut], sign_payload(body[:cut]))

    assert response.status_code == 400


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


EVENT_TYPES = st.sampled_from([
    "payment_intent.created", "payment_intent.processing", "payment_intent.requires_action",
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
    "refund.created", "refund.updated", "refund.failed", "charge.refund.updated", "charge.refunded",
    "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
    "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
])


@FUZZ
@given(data=st.data(), replacement=json_values, event_type=EVENT_TYPES)
def test_wrong_types_inside_signed_events_never_fail_the_server(
    client, payments, stripe_mock, count_request, data, replacement, event_type
):
    # stripe_mock: charge.refunded asks Stripe for the refunds it has not seen
    count_request("webhook: signed event with a wrong value")
    event = build_event(data.draw(st.sampled_from(payments)), event_type)
    path = data.draw(st.sampled_from(_paths(event)))
    body = dumps(_replace(event, path, replacement))

    response = post(client, body, sign_payload(body))

    assert response.status_code in (200, 400), (path, replacement, response.content)


@FUZZ
@given(data=st.data())
def test_tampered_signatures_never_process(client, payments, count_request, data):
    count_request("webhook: tampered signature")
    body = dumps(build_event(data.draw(st.sampled_from(payments))))
    good = sign_payload(body)
    header = data.draw(st.sampled_from([
        good[:-1] + ("0" if good[-1] != "0" else "1"),
        good.replace("t=", "t=1"),
        f"t={int(time.time())},v1=" + data.draw(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)),
        good.replace("v1=", "v0="),
        data.draw(st.text(max_size=120).filter(lambda text: "\x00" not in text and "\n" not in text)),
    ]))
    stored = WebhookEvent.objects.count()

    response = post(client, body, header)

    assert response.status_code == 400
    assert WebhookEvent.objects.count() == stored


# Stripe-Signature headers of Stripe's shape built from arbitrary Unicode: digits of every
# script (str.isdigit() accepts "²" and "٢", int() refuses one and takes the other), huge
# numbers, repeated and unknown keys, any text as a signature, and the correct parts mixed in.
unicode_digits = st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=20)
header_texts = st.text(st.characters(blacklist_characters="\x00\n\r"), max_size=80)


@FUZZ
@given(data=st.data())
def test_unicode_signature_headers_are_a_400_or_the_real_signature(client, payments, count_request, data):
    count_request("webhook: Unicode Stripe-Signature")
    body = dumps(build_event(data.draw(st.sampled_from(payments))))
    good_t, good_v1 = (part.split("=", 1)[1] for part in sign_payload(body).split(","))
    keys = st.sampled_from(["t", "v1", "v0", "T", " t", "t ", "v1 "]) | header_texts
    values = st.sampled_from([good_t, good_v1, str(10**40), "-1", ""]) | unicode_digits | header_texts
    items = data.draw(st.lists(st.tuples(keys, values), max_size=6))
    header = ",".join(f"{key}={value}" for key, value in items)
    stored = WebhookEvent.objects.count()

    try:
        response = post(client, body, header)
    except ValueError:  # the test client itself refuses some header values
        return

    has_real_signature = good_t in header and good_v1 in header
    assert response.status_code in ((200, 400) if has_real_signature else (400,)), (header, response.content)
    if response.status_code == 400:
        assert WebhookEvent.objects.count() == stored
