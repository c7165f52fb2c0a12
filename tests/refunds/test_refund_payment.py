"""POST <payment_intent>/refund/ and services.refund_payment: money, permissions, idempotency,
409s, and what a failure in the middle leaves behind."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test.utils import override_settings
from django.urls import reverse
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from django_apranova_payments import exceptions, services, signals
from django_apranova_payments.metadata import REFUND, refund_binding, verified_owner
from django_apranova_payments.models import Dispute, Payment, Refund
from django_apranova_payments.testing import build_event, build_payment_intent, post_event
from tests.factories import PaymentFactory, staff_holding

pytestmark = pytest.mark.django_db


def refund_url(payment: Payment | str) -> str:
    intent = payment if isinstance(payment, str) else payment.stripe_payment_intent
    return reverse("apranova_payments:payment-refund", args=[intent])


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff(db: Any) -> Any:
    return staff_holding("refund_payment")


@pytest.fixture
def admin_api(staff: Any) -> APIClient:
    return client_for(staff)


def paid(stripe_mock: Any, **kwargs: Any) -> Payment:
    """A succeeded payment, known to the mocked Stripe as succeeded."""
    payment = PaymentFactory(status=Payment.Status.SUCCEEDED, stripe_status="succeeded", **kwargs)
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    return payment


def self_service() -> Any:
    return override_settings(APRANOVA_PAYMENTS={
        **settings.APRANOVA_PAYMENTS,
        "REFUND_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    })


# -- the happy paths ------------------------------------------------------------------------------


def test_staff_refund_everything_that_is_left(admin_api, stripe_mock, staff, captured_signals):
    payment = paid(stripe_mock, amount=Decimal("19.99"))

    response = admin_api.post(refund_url(payment), {"reason": "requested_by_customer"}, format="json")

    assert response.status_code == 201, response.content
    refund = Refund.objects.get()
    assert response.json() == {
        "refund": refund.stripe_refund, "paymentIntent": payment.stripe_payment_intent, "amount": "19.99",
        "currency": "usd", "status": "succeeded", "reason": "requested_by_customer", "failureReason": None,
        "createdAt": response.json()["createdAt"],
    }
    (call,) = stripe_mock.calls_to("refund")
    assert call["params"]["payment_intent"] == payment.stripe_payment_intent
    assert call["params"]["amount"] == "1999"
    assert call["params"]["reason"] == "requested_by_customer"
    assert call["headers"]["Idempotency-Key"].startswith("apranova-refund-")
    owner = verified_owner(call["params"]["metadata"], 1999, "usd", kind=REFUND,
                           bound=refund_binding(payment.stripe_payment_intent))
    assert owner is not None and owner.user_pk == str(staff.pk)
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("19.99") and payment.is_fully_refunded
    assert payment.status == Payment.Status.SUCCEEDED  # refunds never change the status
    assert (refund.requested_by, refund.amount, refund.currency) == (staff, Decimal("19.99"), "usd")
    assert captured_signals.names() == ["payment_refunded"]
    sent = captured_signals.of("payment_refunded")[0]
    assert (sent["payment"].pk, sent["refund"], sent["event"]) == (payment.pk, refund, None)
    assert sent["payment"].is_fully_refunded


def test_partial_refunds_add_up_and_then_nothing_is_left(admin_api, stripe_mock, captured_signals):
    payment = paid(stripe_mock, amount=Decimal("50.00"))

    first = admin_api.post(refund_url(payment), {"amount": "10.00"}, format="json")
    second = admin_api.post(refund_url(payment), {"amount": 15}, format="json")
    payment.refresh_from_db()
    partial = (payment.amount_refunded, payment.is_fully_refunded)
    rest = admin_api.post(refund_url(payment), {}, format="json")
    again = admin_api.post(refund_url(payment), {}, format="json")

    assert [first.status_code, second.status_code, rest.status_code] == [201, 201, 201]
    assert partial == (Decimal("25.00"), False)
    assert rest.json()["amount"] == "25.00"
    assert again.status_code == 409 and again.json()["detail"] == "Nothing is left to refund on this payment."
    assert [c["params"]["amount"] for c in stripe_mock.calls_to("refund")] == ["1000", "1500", "2500"]
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("50.00") and payment.is_fully_refunded
    assert captured_signals.count("payment_refunded") == 3
    assert [s["payment"].is_fully_refunded for s in captured_signals.of("payment_refunded")] == [False, False, True]


@pytest.mark.parametrize(
    ("currency", "amount", "refund", "minor", "shown"),
    [
        ("jpy", Decimal("1000"), "300", "300", "300"),
        ("kwd", Decimal("5.12"), "1.230", "1230", "1.230"),
        ("usd", Decimal("0.50"), "0.01", "1", "0.01"),  # no minimum charge for a refund
        ("inr", Decimal("4999.00"), "4999", "499900", "4999.00"),
    ],
)
def test_refund_amounts_are_exact_minor_units_of_the_payments_currency(
    admin_api, stripe_mock, currency, amount, refund, minor, shown
):
    payment = paid(stripe_mock, amount=amount, currency=currency)

    response = admin_api.post(refund_url(payment), {"amount": refund}, format="json")

    assert response.status_code == 201, response.content
    assert stripe_mock.calls_to("refund")[0]["params"]["amount"] == minor
    assert response.json()["amount"] == shown
    assert Refund.objects.get().amount == Decimal(refund)


# -- bad amounts: 400 with a field message, Stripe never called ----------------------------------------


@pytest.mark.parametrize(
    ("currency", "amount", "message"),
    [
        ("usd", "0", "Amount must be greater than zero."),
        ("usd", "-5.00", "Amount must be greater than zero."),
        ("usd", "1.001", "USD amounts can have at most 2 decimal places."),
        ("jpy", "1.5", "JPY amounts cannot have a fractional part."),
        ("kwd", "1.005", "KWD amounts must be a multiple of 0.010."),
        ("usd", "19.99x", None),
        ("usd", 1.5, None),  # a float never passes: the API reads numbers as Decimal
        ("usd", "NaN", None),
        ("usd", "1e400", None),
    ],
)
def test_a_bad_amount_is_a_400_naming_the_field(admin_api, stripe_mock, currency, amount, message):
    payment = paid(stripe_mock, amount=Decimal("20.00") if currency != "jpy" else Decimal("2000"), currency=currency)

    if isinstance(amount, float):
        response = admin_api.post(refund_url(payment), data='{"amount": 1.5}', content_type="application/json")
    else:
        response = admin_api.post(refund_url(payment), {"amount": amount}, format="json")

    if isinstance(amount, float):  # JSON numbers are read as Decimal: 1.5 USD is a valid refund
        assert response.status_code == 201
        return
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["amount"]
    if message:
        assert response.json()["amount"] == [message]
    assert stripe_mock.calls_to("refund") == []
    assert not Refund.objects.exists()


def test_more_than_what_is_left_is_a_400_saying_how_much_is_left(admin_api, stripe_mock):
    payment = paid(stripe_mock, amount=Decimal("20.00"))
    admin_api.post(refund_url(payment), {"amount": "15.00"}, format="json")

    response = admin_api.post(refund_url(payment), {"amount": "5.01"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"amount": ["At most 5.00 USD is left to refund."]}
    assert len(stripe_mock.calls_to("refund")) == 1


def test_a_pending_refund_holds_its_amount_until_it_ends(admin_api, stripe_mock, client, captured_signals):
    payment = paid(stripe_mock, amount=Decimal("20.00"))
    stripe_mock.refund_status = "pending"

    pending = admin_api.post(refund_url(payment), {"amount": "15.00"}, format="json")
    too_much = admin_api.post(refund_url(payment), {"amount": "5.01"}, format="json")
    payment.refresh_from_db()
    held = payment.amount_refunded
    refund = stripe_mock.set_refund_status(pending.json()["refund"], "failed", failure_reason="lost_or_stolen_card")
    post_event(client, build_event(refund, "refund.failed"))
    after_failure = admin_api.post(refund_url(payment), {"amount": "20.00"}, format="json")

    assert pending.status_code == 201 and pending.json()["status"] == "pending"
    assert too_much.status_code == 400 and held == 0
    assert Refund.objects.get(stripe_refund=refund["id"]).failure_reason == "lost_or_stolen_card"
    assert after_failure.status_code == 201
    assert captured_signals.names() == ["webhook_event_received", "refund_failed"]


@pytest.mark.parametrize("reason", ["because", "expired_uncaptured_charge", 7])
def test_an_unknown_reason_is_a_400(admin_api, stripe_mock, reason):
    payment = paid(stripe_mock)

    response = admin_api.post(refund_url(payment), {"reason": reason}, format="json")

    assert response.status_code == 400 and list(response.json()) == ["reason"]
    assert stripe_mock.calls_to("refund") == []


@pytest.mark.parametrize("body", ['["amount"]', '"10.00"', "{", '{"amount": {"x": 1}}'])
def test_a_malformed_body_is_a_400(admin_api, stripe_mock, body):
    payment = paid(stripe_mock)

    response = admin_api.post(refund_url(payment), data=body, content_type="application/json")

    assert response.status_code == 400
    assert stripe_mock.calls_to("refund") == []


# -- 409s ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "processing", "failed", "canceled"])
def test_a_payment_that_has_not_succeeded_is_a_409(admin_api, stripe_mock, status):
    payment = PaymentFactory(status=status)

    response = admin_api.post(refund_url(payment), {}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == "Only a payment that succeeded can be refunded."
    assert stripe_mock.calls_to("refund") == []


def test_a_disputed_payment_is_a_409_before_stripe_is_asked(admin_api, stripe_mock):
    payment = paid(stripe_mock)
    Dispute.objects.create(payment=payment, stripe_dispute="dp_1", amount=payment.amount, currency="usd",
                           status="needs_response", is_charge_refundable=False)

    response = admin_api.post(refund_url(payment), {}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == "This payment is disputed: Stripe does not refund a disputed charge."
    assert stripe_mock.calls_to("refund") == []


def test_an_inquiry_that_leaves_the_charge_refundable_does_not_stop_a_refund(admin_api, stripe_mock):
    payment = paid(stripe_mock)
    Dispute.objects.create(payment=payment, stripe_dispute="dp_1", amount=payment.amount, currency="usd",
                           status="warning_needs_response", is_charge_refundable=True)

    assert admin_api.post(refund_url(payment), {}, format="json").status_code == 201


def test_stripes_charge_disputed_refusal_is_a_409_and_stores_nothing(admin_api, stripe_mock):
    payment = paid(stripe_mock)
    stripe_mock.dispute(payment.stripe_payment_intent)  # disputed at Stripe, no event here yet

    response = admin_api.post(refund_url(payment), {}, format="json")

    assert response.status_code == 409 and response.json()["detail"].startswith("This payment is disputed")
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert payment.amount_refunded == 0


# -- who may refund ---------------------------------------------------------------------------------------


def test_by_default_only_staff_may_refund(api, stripe_mock, user):
    payment = paid(stripe_mock, user=user)

    response = api.post(refund_url(payment), {}, format="json")

    assert response.status_code == 403
    assert stripe_mock.calls_to("refund") == []


def test_an_anonymous_caller_is_refused(stripe_mock):
    payment = paid(stripe_mock)

    assert APIClient().post(refund_url(payment), {}, format="json").status_code in (401, 403)
    assert stripe_mock.calls_to("refund") == []


def test_staff_may_refund_any_users_payment(admin_api, stripe_mock, other_user):
    payment = paid(stripe_mock, user=other_user)

    assert admin_api.post(refund_url(payment), {}, format="json").status_code == 201


def test_with_self_service_permissions_a_user_refunds_only_their_own(api, stripe_mock, user, other_user):
    mine, theirs = paid(stripe_mock, user=user), paid(stripe_mock, user=other_user)

    with self_service():
        own = api.post(refund_url(mine), {"amount": "1.00"}, format="json")
        foreign = api.post(refund_url(theirs), {"amount": "1.00"}, format="json")

    assert own.status_code == 201
    assert foreign.status_code == 404
    assert [c["params"]["payment_intent"] for c in stripe_mock.calls_to("refund")] == [mine.stripe_payment_intent]


@pytest.mark.parametrize("intent", ["pi_unknown", "x" * 300, "pi_%00nul"])
def test_an_unknown_payment_is_a_404_for_staff_too(admin_api, stripe_mock, intent):
    assert admin_api.post(refund_url(intent), {}, format="json").status_code == 404


def test_refunds_are_throttled_per_user(admin_api, stripe_mock):
    payment = paid(stripe_mock, amount=Decimal("50.00"))
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "refund-rate"}}
    rates = {**settings.APRANOVA_PAYMENTS, "THROTTLE_RATES": {"refund": "2/min"}}

    with override_settings(CACHES=caches, APRANOVA_PAYMENTS=rates):
        codes = [admin_api.post(refund_url(payment), {"amount": "1.00"}, format="json").status_code for _ in range(3)]
        last = admin_api.post(refund_url(payment), {"amount": "1.00"}, format="json")

    assert codes == [201, 201, 429]
    assert "Retry-After" in last.headers
    assert len(stripe_mock.calls_to("refund")) == 2


# -- idempotency ------------------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_returns_the_same_refund(admin_api, stripe_mock):
    payment = paid(stripe_mock, amount=Decimal("30.00"))

    first = admin_api.post(refund_url(payment), {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    retry = admin_api.post(refund_url(payment), {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert len(stripe_mock.calls_to("refund")) == 1
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("10.00")


def test_the_same_key_with_another_body_or_payment_is_a_422(admin_api, stripe_mock):
    payment, other = paid(stripe_mock, amount=Decimal("30.00")), paid(stripe_mock)
    admin_api.post(refund_url(payment), {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    body = admin_api.post(refund_url(payment), {"amount": "11.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    elsewhere = admin_api.post(refund_url(other), {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    assert (body.status_code, elsewhere.status_code) == (422, 422)
    assert len(stripe_mock.calls_to("refund")) == 1


def test_another_staff_members_identical_key_is_unrelated(admin_api, stripe_mock):
    payment = paid(stripe_mock, amount=Decimal("30.00"))
    colleague = client_for(staff_holding("refund_payment"))

    first = admin_api.post(refund_url(payment), {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    second = colleague.post(refund_url(payment), {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    assert first.json()["refund"] != second.json()["refund"]
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("20.00")


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "bad\nkey"])
def test_an_unusable_idempotency_key_is_a_400(admin_api, stripe_mock, key):
    payment = paid(stripe_mock)

    response = admin_api.post(refund_url(payment), {}, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400 and list(response.json()) == ["Idempotency-Key"]


# -- failures in the middle ---------------------------------------------------------------------------------


def test_stripe_unreachable_is_a_503_and_stores_nothing(admin_api, stripe_mock):
    payment = paid(stripe_mock)
    stripe_mock.fail_next("refund", status=500)

    response = admin_api.post(refund_url(payment), {}, format="json")

    assert response.status_code == 503 and "Retry-After" in response.headers
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert payment.amount_refunded == 0


def test_a_lost_answer_retried_with_the_key_gets_stripes_refund_once(admin_api, stripe_mock):
    payment = paid(stripe_mock)
    stripe_mock.fail_next("refund", status=500, lost_response=True)

    lost = admin_api.post(refund_url(payment), {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    retry = admin_api.post(refund_url(payment), {}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert (lost.status_code, retry.status_code) == (503, 201)
    assert len(stripe_mock.refunds) == 1 and retry.json()["refund"] in stripe_mock.refunds
    payment.refresh_from_db()
    assert payment.amount_refunded == payment.amount


def test_a_receiver_that_raises_rolls_back_and_the_event_later_records_the_refund_for_its_requester(
    admin_api, stripe_mock, staff, client
):
    payment = paid(stripe_mock)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the course platform is down")

    signals.payment_refunded.connect(broken)
    try:
        with pytest.raises(RuntimeError):
            admin_api.post(refund_url(payment), {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    finally:
        signals.payment_refunded.disconnect(broken)
    assert not Refund.objects.exists()
    (refund,) = stripe_mock.refunds.values()  # Stripe did refund

    post_event(client, build_event(refund, "refund.created"))

    stored = Refund.objects.get()
    assert (stored.stripe_refund, stored.requested_by, stored.idempotency_key) == (refund["id"], staff, "k")
    payment.refresh_from_db()
    assert payment.is_fully_refunded
    retry = admin_api.post(refund_url(payment), {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert retry.status_code == 201 and retry.json()["refund"] == refund["id"]


# -- host code ---------------------------------------------------------------------------------------------


def test_host_code_refunds_through_the_service(stripe_mock, staff):
    payment = paid(stripe_mock, amount=Decimal("40.00"))

    created = services.refund_payment(payment, Decimal("12.50"), "duplicate", requested_by=staff)

    assert created.refund.amount == Decimal("12.50") and created.refund.reason == "duplicate"
    assert not created.replayed
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("12.50")


def test_the_service_without_a_requester_leaves_it_empty(stripe_mock):
    payment = paid(stripe_mock)

    created = services.refund_payment(payment)

    assert created.refund.requested_by is None
    assert "apranova_user" not in stripe_mock.calls_to("refund")[0]["params"]["metadata"]  # never sent empty


def test_the_service_refuses_a_bad_reason_and_amount_with_field_errors(stripe_mock):
    payment = paid(stripe_mock)

    with pytest.raises(ValidationError) as reason:
        services.refund_payment(payment, reason="nope")
    with pytest.raises(ValidationError) as amount:
        services.refund_payment(payment, Decimal("999.01"))
    with pytest.raises(exceptions.PaymentNotRefundable):
        services.refund_payment(PaymentFactory(status="canceled"))

    assert list(reason.value.detail) == ["reason"] and list(amount.value.detail) == ["amount"]
    assert stripe_mock.calls_to("refund") == []


def test_stripe_answering_with_another_amount_is_a_gateway_error_and_stores_nothing(stripe_mock, monkeypatch):
    payment = paid(stripe_mock)
    original = stripe_mock._store_refund

    def shrunk(intent: Any, amount: int, reason: Any, metadata: Any) -> Any:
        return original(intent, amount - 1, reason, metadata)

    monkeypatch.setattr(stripe_mock, "_store_refund", shrunk)
    with pytest.raises(exceptions.GatewayError):
        services.refund_payment(payment)
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("status", "refundable", "blocked"),
    [
        ("needs_response", False, True), ("under_review", False, True), ("lost", False, True),
        ("won", False, False), ("warning_needs_response", True, False), ("warning_closed", False, False),
    ],
)
def test_which_disputes_stop_a_refund(admin_api, stripe_mock, status, refundable, blocked):
    payment = paid(stripe_mock)
    Dispute.objects.create(payment=payment, stripe_dispute="dp_1", amount=payment.amount, currency="usd",
                           status=status, is_charge_refundable=refundable)

    response = admin_api.post(refund_url(payment), {}, format="json")

    assert payment.is_disputed is blocked
    assert response.status_code == (409 if blocked else 201)


def test_stripe_refusing_a_refund_for_its_state_is_a_refund_409_not_a_cancel_one(admin_api, stripe_mock):
    payment = paid(stripe_mock)
    stripe_mock.fail_next("refund", status=400, error_type="invalid_request_error",
                          code="payment_intent_unexpected_state", message="No successful charge.")

    response = admin_api.post(refund_url(payment), {}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == "Only a payment that succeeded can be refunded."


def test_a_reused_refund_key_says_refund(admin_api, stripe_mock):
    payment = paid(stripe_mock, amount=Decimal("30.00"))
    admin_api.post(refund_url(payment), {"amount": "1.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r")

    response = admin_api.post(refund_url(payment), {"amount": "2.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r")

    assert response.status_code == 422 and response.json()["detail"].endswith("Use a new key for a new refund.")


class OnlyEuroPayments:
    """An object permission: what REFUND_PERMISSION_CLASSES may decide about the payment."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_staff)

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return obj.currency == "eur"


def test_refund_permission_classes_judge_the_payment_too(admin_api, stripe_mock):
    euro, dollar = paid(stripe_mock, currency="eur"), paid(stripe_mock)

    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS,
                                              "REFUND_PERMISSION_CLASSES": [OnlyEuroPayments]}):
        allowed = admin_api.post(refund_url(euro), {}, format="json")
        refused = admin_api.post(refund_url(dollar), {}, format="json")

    assert (allowed.status_code, refused.status_code) == (201, 403)
    assert [c["params"]["payment_intent"] for c in stripe_mock.calls_to("refund")] == [euro.stripe_payment_intent]
