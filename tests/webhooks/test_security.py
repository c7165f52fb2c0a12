"""The webhook's trust boundary: the signature header and its exact edges (a prefix, the last
digit, the tolerance to the second), secrets in error reports, secrets that are not strings,
the body limit (under WSGI and ASGI), the installation mark (copied, or keyed with an empty
fallback), livemode, amount and currency mismatches, stored client secrets, hostile nesting."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.conf import settings
from django.core import mail
from django.core.handlers.asgi import ASGIHandler
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils.log import AdminEmailHandler

from django_apranova_payments import exceptions, metadata, signing
from django_apranova_payments.metadata import MARK, USER, own_metadata, verified_owner
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, build_payment_intent, post_event, sign_payload
from django_apranova_payments.webhooks import NOT_OURS
from tests.factories import PaymentFactory

URL = reverse("apranova_payments:webhook")
SECRET = settings.STRIPE_TEST_WEBHOOK_SECRET
OLD_SECRET = "whsec_the_one_being_rotated_out"


def post_signed_with_header(client: Client, body: bytes, header: str) -> Any:
    return client.post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def a_valid_body(payment: Payment) -> bytes:
    return json.dumps(build_event(payment, "payment_intent.succeeded")).encode()


# -- the Stripe-Signature header --------------------------------------------------------------


def _headers(body: bytes) -> list[str]:
    now = int(time.time())
    good = signing.signature_header(body, SECRET, now).split(",v1=")[1]
    return [
        "t=²,v1=0",  # str.isdigit() is True, int() refuses it: a 500 that leaked the secret
        f"t=²,v1={good}",
        f"t={'٢' * 10},v1={good}",  # Arabic-Indic digits
        f"t=1{'0' * 40},v1={good}",  # a huge number
        f"t=-{now},v1={good}",
        f"t=+{now},v1={good}",
        f"t= {now},v1={good}",
        f"t={now}.5,v1={good}",
        f"t={now},t={now},v1={good}",  # a repeated t is ambiguous
        f"t={now},v1={'é' * 64}",  # non-ASCII: hmac.compare_digest raises TypeError on it
        f"t={now},v1=" + "\U0001f4b8" * 64,
        f"t={now},v1={good.upper()}",
        f"t={now},v1=",
        f"t={now}",
        f"v1={good}",
        "",
        ",,,,",
        "=",
        "t",
        f"t={now},v1={good}" + ",v0=x" * 400,  # oversized
        "\x00",
        "\ud800",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("index", range(len(_headers(b""))))
def test_any_malformed_signature_header_is_a_400_and_stores_nothing(index, payment):
    client = Client(raise_request_exception=False)
    body = a_valid_body(payment)
    header = _headers(body)[index]

    response = post_signed_with_header(client, body, header)

    assert response.status_code == 400, (header, response.content)
    assert "error" in response.json()
    assert not WebhookEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_parse_header_takes_only_ascii_digits_and_lowercase_hex():
    with pytest.raises(signing.exceptions.WebhookSignatureError):
        signing.parse_header("t=\u0661\u0662,v1=" + "a" * 64)
    assert signing.parse_header("t=12,v0=zz,v1=" + "a" * 64 + ",x=y") == (12, ["a" * 64])


@pytest.mark.django_db
def test_several_v1_signatures_any_may_match(payment):
    body = a_valid_body(payment)
    now = int(time.time())
    ours = signing.signature_header(body, SECRET, now).split(",v1=")[1]
    header = f"t={now},v1={'0' * 64},v1={ours}"

    assert post_signed_with_header(Client(), body, header).status_code == 200


BODY = b'{"id": "evt_edge"}'


@pytest.mark.parametrize("length", [1, 4, 32, 63])
def test_a_prefix_of_the_right_signature_never_verifies(length):
    header = signing.signature_header(BODY, SECRET, 1_000)
    prefix = header.split("v1=")[1][:length]

    with pytest.raises(exceptions.WebhookSignatureError):
        signing.verify(BODY, f"t=1000,v1={prefix}", [SECRET], tolerance=300, now=1_000)


@pytest.mark.parametrize("length", [4, 63])
def test_the_comparison_itself_is_exact_whatever_the_parser_lets_through(monkeypatch, length):
    """Defence in depth: the parser keeps only 64-digit signatures, and the comparison does not
    rely on it. A prefix handed straight to the comparison is refused too."""
    prefix = signing.signature_header(BODY, SECRET, 1_000).split("v1=")[1][:length]
    monkeypatch.setattr(signing, "parse_header", lambda header: (1_000, [prefix]))

    with pytest.raises(exceptions.WebhookSignatureError, match="No signature matches"):
        signing.verify(BODY, "parsed by the stand-in", [SECRET], tolerance=300, now=1_000)


def test_a_signature_differing_in_its_last_digit_never_verifies():
    good = signing.signature_header(BODY, SECRET, 1_000).split("v1=")[1]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")

    with pytest.raises(exceptions.WebhookSignatureError):
        signing.verify(BODY, f"t=1000,v1={wrong}", [SECRET], tolerance=300, now=1_000)


@pytest.mark.parametrize("now", [1_000 - 300, 1_000 + 300])
def test_a_timestamp_exactly_the_tolerance_away_is_accepted(now):
    signing.verify(BODY, signing.signature_header(BODY, SECRET, 1_000), [SECRET], tolerance=300, now=now)


@pytest.mark.parametrize("now", [1_000 - 301, 1_000 + 301])
def test_a_timestamp_one_second_past_the_tolerance_is_refused(now):
    with pytest.raises(exceptions.WebhookSignatureError, match="tolerance"):
        signing.verify(BODY, signing.signature_header(BODY, SECRET, 1_000), [SECRET], tolerance=300, now=now)


def test_signing_secret_never_shows_its_value():
    secret = signing.SigningSecret(SECRET)

    assert SECRET not in repr(secret) and SECRET not in str(secret)
    assert SECRET not in repr(signing.as_secrets([SECRET, OLD_SECRET]))


def test_a_signing_secret_shows_a_fixed_mask_never_its_value():
    secret = signing.SigningSecret("whsec_do_not_print_me")

    assert repr(secret) == str(secret) == f"{secret!r}" == "SigningSecret('********')"
    assert repr([secret]) == "[SigningSecret('********')]"


# -- secrets in error reports -----------------------------------------------------------------


@pytest.fixture
def verification_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error while the signature is being checked (the shape of the bug where
    ``int("²")`` raised inside the function holding the secrets)."""

    def crash(header: str) -> Any:
        return int("²")

    monkeypatch.setattr(signing, "parse_header", crash)


#: Django 6.0 takes addresses; 5.2 takes (name, address) pairs.
ADMINS = ["ops@example.com"] if django.VERSION >= (6, 0) else [("Ops", "ops@example.com")]
ROTATING = {**settings.APRANOVA_PAYMENTS, "STRIPE_WEBHOOK_SECRET": [SECRET, OLD_SECRET]}


@pytest.fixture
def admin_mail() -> Iterator[None]:
    """The admin error e-mail, with its HTML report, as a production site sends it."""
    handler = AdminEmailHandler(include_html=True)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


@pytest.mark.django_db
@override_settings(APRANOVA_PAYMENTS=ROTATING, ADMINS=ADMINS)
def test_error_while_verifying_leaks_no_secret_in_the_admin_error_email(verification_crashes, admin_mail, payment):
    body = a_valid_body(payment)

    response = post_signed_with_header(Client(raise_request_exception=False), body, sign_payload(body))

    assert response.status_code == 500
    assert SECRET not in response.content.decode()
    reports = [message.body for message in mail.outbox]
    reports += [content for message in mail.outbox for content, _ in message.alternatives]
    html = [report for report in reports if report.startswith("<!DOCTYPE html>")]
    assert html and "verify" in html[0]  # the HTML report does show the verification's frames
    for report in reports:
        assert SECRET not in report and OLD_SECRET not in report
        assert "sk_test_suite" not in report


@pytest.mark.django_db
@override_settings(APRANOVA_PAYMENTS=ROTATING, DEBUG=True)
def test_error_while_verifying_leaks_no_secret_on_the_debug_page(verification_crashes, payment):
    body = a_valid_body(payment)

    response = post_signed_with_header(Client(raise_request_exception=False), body, sign_payload(body))

    assert response.status_code == 500
    page = response.content.decode()
    assert "verify" in page and "SigningSecret" in page  # Django's technical 500 page, with locals
    assert SECRET not in page and OLD_SECRET not in page and "sk_test_suite" not in page


# -- webhook secrets that are not strings -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("secrets", [[SECRET, b"whsec_bytes"], (SECRET, 5)])
@override_settings(DEBUG=True)
def test_non_string_webhook_secrets_are_skipped_never_a_500_showing_the_others(secrets, payment, caplog):
    body = json.dumps(build_event(payment, "payment_intent.succeeded")).encode()
    config = {**settings.APRANOVA_PAYMENTS, "STRIPE_WEBHOOK_SECRET": secrets}

    with override_settings(APRANOVA_PAYMENTS=config), caplog.at_level(logging.ERROR):
        signed = post_signed_with_header(Client(raise_request_exception=False), body, sign_payload(body, SECRET))
        unsigned = post_signed_with_header(Client(raise_request_exception=False), body, "t=1,v1=" + "0" * 64)

    assert signed.status_code == 200 and signed.json()["outcome"] == "processed"
    assert unsigned.status_code == 400
    assert SECRET not in unsigned.content.decode()
    assert any("not a string" in r.getMessage() for r in caplog.records)
    assert WebhookEvent.objects.count() == 1


def test_as_secrets_keeps_only_non_empty_strings():
    keys = signing.as_secrets([SECRET, "", None, b"x", 5, signing.SigningSecret("whsec_other")])

    assert len(keys) == 2


@pytest.mark.django_db
def test_a_webhook_secret_of_the_wrong_type_refuses_deliveries_and_says_why(payment, caplog):
    body = json.dumps(build_event(payment, "payment_intent.succeeded")).encode()
    config = {**settings.APRANOVA_PAYMENTS, "STRIPE_WEBHOOK_SECRET": 12345}

    with override_settings(APRANOVA_PAYMENTS=config), caplog.at_level(logging.ERROR):
        response = post_signed_with_header(Client(raise_request_exception=False), body, sign_payload(body, SECRET))

    assert response.status_code == 400
    expected = "STRIPE_WEBHOOK_SECRET must be a string or a list of strings, not int"
    assert any(expected in r.getMessage() for r in caplog.records)


# -- the body limit ---------------------------------------------------------------------------


def signed_body_of(payment: Payment, size: int) -> bytes:
    """A signed, valid event padded with JSON whitespace to exactly ``size`` bytes."""
    body = json.dumps(build_event(payment, "payment_intent.succeeded")).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def post_under_limit(body: bytes, limit: int) -> Any:
    """POST a signed ``body`` with ``WEBHOOK_MAX_BYTES`` set to ``limit``."""
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_MAX_BYTES": limit}):
        return Client().post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign_payload(body))


@pytest.mark.django_db
def test_a_body_of_exactly_webhook_max_bytes_is_accepted(payment):
    response = post_under_limit(signed_body_of(payment, 4_096), 4_096)

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "processed"


@pytest.mark.django_db
def test_a_body_one_byte_over_webhook_max_bytes_is_a_413(payment):
    response = post_under_limit(signed_body_of(payment, 4_097), 4_096)

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def asgi_post(body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """POST ``body`` through Django's ASGI handler, as uvicorn or daphne would, with exactly
    ``headers`` (so no Content-Length unless given)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": URL, "raw_path": URL.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays connected until the answer is sent
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(ASGIHandler()(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.mark.parametrize("over", [1, 2, 1_000])
def test_under_asgi_a_body_over_the_limit_without_content_length_is_a_413(over):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_MAX_BYTES": 100}):
        status, content = asgi_post(b"x" * (100 + over), [(b"content-type", b"application/json")])

    assert status == 413, content
    assert b"larger than 100 bytes" in content


def test_under_asgi_a_body_at_the_limit_without_content_length_is_read_and_checked():
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_MAX_BYTES": 100}):
        status, content = asgi_post(b"x" * 100, [(b"content-type", b"application/json")])

    assert status == 400 and b"Stripe-Signature" in content  # read whole, then refused unsigned


# -- the installation mark --------------------------------------------------------------------


def foreign_intent(user: Any, status: str = "succeeded", **metadata: str) -> dict[str, Any]:
    """A PaymentIntent another site on the same Stripe account created, naming our user."""
    lost = PaymentFactory.build(user=user)
    intent = build_payment_intent(lost, status)
    intent["metadata"] = {USER: str(user.pk), **metadata}
    return intent


@pytest.mark.django_db
def test_a_foreign_intent_naming_a_local_user_creates_nothing(user, captured_signals):
    intent = foreign_intent(user)

    response = post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert not Payment.objects.exists()
    event = WebhookEvent.objects.get()
    assert event.outcome == "ignored" and event.note == NOT_OURS
    assert captured_signals.names() == ["webhook_event_received"]


@pytest.mark.django_db
def test_a_mark_made_with_another_sites_secret_key_is_refused(user, captured_signals):
    lost = PaymentFactory.build(user=user)
    with override_settings(SECRET_KEY="the-other-site-on-the-same-stripe-account"):
        intent = build_payment_intent(lost, "succeeded")

    post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    assert not Payment.objects.exists()
    assert WebhookEvent.objects.get().note == NOT_OURS
    assert captured_signals.names() == ["webhook_event_received"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", 1), ("currency", "eur")],
)
def test_a_copied_mark_on_another_amount_or_currency_is_refused(user, field, value):
    lost = PaymentFactory.build(user=user)
    intent = build_payment_intent(lost, "succeeded", **{field: value})

    post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_copied_mark_naming_another_user_is_refused(user, other_user):
    lost = PaymentFactory.build(user=user)
    intent = build_payment_intent(lost, "succeeded")
    intent["metadata"][USER] = str(other_user.pk)

    post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_mark_made_before_a_secret_key_rotation_still_verifies(user):
    lost = PaymentFactory.build(user=user)
    with override_settings(SECRET_KEY="the-key-before-rotation"):
        intent = build_payment_intent(lost, "succeeded")

    with override_settings(SECRET_KEY="the-key-after-rotation", SECRET_KEY_FALLBACKS=["the-key-before-rotation"]):
        response = post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    assert response.json()["outcome"] == "processed"
    assert Payment.objects.get(stripe_payment_intent=lost.stripe_payment_intent).status == "succeeded"


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


@pytest.mark.django_db
def test_every_created_intent_carries_a_mark_that_verifies(api, user, stripe_mock):
    response = api.post(
        reverse("apranova_payments:create-payment"),
        data=json.dumps({"amount": "12.50", "currency": "usd"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="order-7",
    )

    assert response.status_code == 201, response.content
    intent = stripe_mock.intents[response.json()["paymentIntent"]]
    assert MARK in intent["metadata"]
    owner = verified_owner(intent["metadata"], 1250, "usd")
    assert owner is not None
    assert (owner.user_pk, owner.idempotency_key) == (str(user.pk), "order-7")


def test_the_mark_binds_each_part():
    host = {"course": "1"}
    own = {**host, **own_metadata(user_pk=1, amount_minor=500, currency="usd", host=host,
                                  idempotency_key="k", fingerprint="f")}
    assert verified_owner(own, 500, "usd") is not None
    assert verified_owner({**own, "course": "2"}, 500, "usd") is None
    assert verified_owner({**own, "extra": "x"}, 500, "usd") is None
    for key, value in [(USER, "2"), ("apranova_idempotency_key", "k2"), ("apranova_fingerprint", "g"), (MARK, "0")]:
        assert verified_owner({**own, key: value}, 500, "usd") is None
    without_key = {k: v for k, v in own.items() if k != "apranova_idempotency_key"}
    assert verified_owner(without_key, 500, "usd") is None


# -- livemode, mismatches, collisions ---------------------------------------------------------


@pytest.mark.django_db
def test_an_event_whose_object_is_live_is_ignored_with_test_keys(payment):
    intent = build_payment_intent(payment, "succeeded", livemode=True)

    response = post_event(Client(), build_event(intent, "payment_intent.succeeded", livemode=False))

    assert response.json()["outcome"] == "ignored"
    assert "livemode" in WebhookEvent.objects.get().note
    payment.refresh_from_db()
    assert payment.status == "pending"


@pytest.mark.django_db
def test_an_amount_mismatch_is_recorded_as_a_mismatch(payment):
    intent = build_payment_intent(payment, "succeeded", amount=payment.amount_minor + 1)

    post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    note = WebhookEvent.objects.get().note
    assert note.startswith("not applied: mismatch"), note
    assert str(payment.amount_minor + 1) in note
    payment.refresh_from_db()
    assert payment.status == "pending"


@pytest.mark.django_db
def test_an_intent_in_another_currency_with_the_same_amount_is_not_applied(payment):
    assert payment.currency == "usd"
    intent = build_payment_intent(payment, "succeeded", currency="eur")

    response = post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    assert response.json()["outcome"] == "ignored"
    assert WebhookEvent.objects.get().note.startswith("not applied: mismatch")
    payment.refresh_from_db()
    assert payment.status == "pending"


@pytest.mark.django_db
def test_a_rebuilt_payment_whose_idempotency_key_is_taken_is_kept_without_the_key(user, captured_signals):
    PaymentFactory(user=user, idempotency_key="k1", request_fingerprint="a" * 64)
    lost = PaymentFactory.build(user=user, idempotency_key="k1", request_fingerprint="b" * 64)
    event = build_event(build_payment_intent(lost, "succeeded"), "payment_intent.succeeded")

    first = post_event(Client(), event)
    again = post_event(Client(), event)

    assert first.status_code == 200 and first.json()["outcome"] == "processed"
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    rebuilt = Payment.objects.get(stripe_payment_intent=lost.stripe_payment_intent)
    assert rebuilt.status == "succeeded" and rebuilt.idempotency_key is None
    assert captured_signals.count("payment_succeeded") == 1


# -- what is stored ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_client_secret_is_never_stored_nor_passed_to_receivers(payment, captured_signals):
    secret = f"{payment.stripe_payment_intent}_secret_abc123"
    intent = build_payment_intent(payment, "succeeded", client_secret=secret)
    event = build_event(intent, "payment_intent.succeeded")
    event["data"]["previous_attributes"] = {"client_secret": secret, "nested": [{"client_secret": secret}]}

    response = post_event(Client(), event)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert secret not in json.dumps(stored.payload)
    seen = [json.dumps(kwargs["event"]) for kwargs in captured_signals.of("payment_succeeded")]
    assert seen and secret not in seen[0]


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [65, 945, 5000])
def test_a_signed_event_nested_absurdly_deep_is_a_400(payment, depth):
    event = build_event(payment, "payment_intent.succeeded")
    event["data"]["object"]["metadata"] = {}
    body = json.dumps(event).replace('"metadata": {}', '"metadata": {}, "deep": ' + "[" * depth + "]" * depth)

    response = post_signed_with_header(Client(raise_request_exception=False), body.encode(), sign_payload(body))

    assert response.status_code == 400, response.content[:200]
    assert "nest" in response.json()["error"] or "JSON" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_ordinary_nesting_is_accepted(payment):
    event = build_event(payment, "payment_intent.succeeded")
    event["data"]["object"]["shipping"] = {"a": {"b": {"c": [[[{"d": 1}]]]}}}

    assert post_event(Client(), event).json()["outcome"] == "processed"
