"""Refunds and disputes, offline: the simulator gateway through the package's real paths
(``services.refund_payment``, the refund endpoint, the signed webhook endpoint), its dispute
card, and what staff do in its admin."""

from __future__ import annotations

import json
import logging
import threading
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
import responses
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from django_apranova_payments import services, signals
from django_apranova_payments.exceptions import (
    ChargeDisputed,
    GatewayConfigurationError,
    GatewayRejected,
    IdempotencyConflict,
    PaymentNotRefundable,
)
from django_apranova_payments.gateway import ChargeData, DisputeData, RefundData
from django_apranova_payments.models import Dispute, Payment, Refund, WebhookEvent
from django_apranova_payments.simulator import sender
from django_apranova_payments.simulator.cards import TEST_CARDS, Outcome
from django_apranova_payments.simulator.gateway import SimulatorGateway, UnexpectedDisputeState, UnexpectedRefundState
from django_apranova_payments.simulator.models import SimulatedDispute, SimulatedPaymentIntent, SimulatedRefund

SUCCEEDS, DISPUTED = "4242 4242 4242 4242", "4000 0000 0000 0259"


@pytest.fixture
def staff(db: Any) -> Any:
    return get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")


@pytest.fixture
def admin_client_(client: Any, staff: Any) -> Any:
    client.force_login(staff)
    return client


def pay(api: Any, number: str = SUCCEEDS, amount: str = "19.99", currency: str = "usd") -> Payment:
    """Create a payment through the API and pay it with ``number`` through the simulator's
    confirm endpoint, as the browser does; update-status brings the payment up to date."""
    created = api.post(reverse("apranova_payments:create-payment"), {"amount": amount, "currency": currency},
                       format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    card = {"number": number, "exp_month": "12", "exp_year": "2099", "cvc": "123"}
    confirmed = APIClient().post(
        reverse("apranova_payments_simulator:confirm", args=[body["paymentIntent"]]),
        {"client_secret": body["clientSecret"], "payment_method_data": {"card": card}}, format="json",
    )
    assert confirmed.status_code == 200, confirmed.content
    api.post(reverse("apranova_payments:update-status"), {"paymentIntent": body["paymentIntent"]}, format="json")
    return Payment.objects.get(stripe_payment_intent=body["paymentIntent"])


def types(requests_: list[Any]) -> list[str]:
    return [json.loads(request.body)["type"] for request in requests_]


def deliver(client: Any, requests_: list[Any]) -> list[str]:
    """Deliver captured posts to the real webhook endpoint, byte for byte; their outcomes."""
    outcomes = []
    for request in requests_:
        response = client.post(reverse("apranova_payments:webhook"), data=request.body,
                               content_type="application/json",
                               HTTP_STRIPE_SIGNATURE=request.headers["Stripe-Signature"])
        assert response.status_code == 200, response.content
        outcomes.append(response.json()["outcome"])
    return outcomes


def event_object(request: Any) -> dict[str, Any]:
    return json.loads(request.body)["data"]["object"]


def run_action(client: Any, model: str, action: str, pks: list[int]) -> Any:
    return client.post(reverse(f"admin:apranova_simulator_{model}_changelist"),
                       {"action": action, "_selected_action": pks}, follow=True)


# -- refunds through services.refund_payment, end to end --------------------------------------------


def test_a_partial_then_a_full_refund_post_their_events_and_apply_once(api, client, user, outbox, captured_signals):
    payment = pay(api)
    assert deliver(client, outbox()) == ["processed", "processed"]  # created, succeeded

    first = services.refund_payment(payment, Decimal("5.00"), "requested_by_customer", user)
    posted = outbox()

    assert first.refund.status == "succeeded" and not first.replayed
    assert types(posted) == ["refund.created", "charge.refunded"]
    refund, charge = RefundData.from_dict(event_object(posted[0])), ChargeData.from_dict(event_object(posted[1]))
    assert (refund.id, refund.amount, refund.currency, refund.status) == (first.refund.stripe_refund, 500, "usd",
                                                                          "succeeded")
    assert (refund.payment_intent, refund.reason) == (payment.stripe_payment_intent, "requested_by_customer")
    assert refund.charge == charge.id and charge.id.startswith("ch_")
    assert (charge.amount, charge.amount_refunded, charge.payment_intent) == (1999, 500,
                                                                              payment.stripe_payment_intent)
    assert "apranova_mark" in refund.metadata  # the package's installation mark travels with it
    assert deliver(client, posted) == ["processed", "processed"]
    assert deliver(client, posted) == ["duplicate", "duplicate"]

    rest = services.refund_payment(payment, requested_by=user)
    posted = outbox()
    assert deliver(client, posted) == ["processed", "processed"]

    payment.refresh_from_db()
    assert rest.refund.amount == Decimal("14.99") and event_object(posted[1])["amount_refunded"] == 1999
    assert event_object(posted[1])["refunded"] is True
    assert payment.amount_refunded == Decimal("19.99") and payment.is_fully_refunded
    assert payment.status == "succeeded"
    assert captured_signals.count("payment_refunded") == 2 and captured_signals.count("refund_failed") == 0
    assert Refund.objects.filter(payment=payment, requested_by=user).count() == 2
    assert SimulatedRefund.objects.count() == 2


def test_the_refund_endpoint_refunds_through_the_simulator(api, staff, client, outbox, captured_signals):
    payment = pay(api)
    outbox()
    admin_api = APIClient()
    admin_api.force_authenticate(staff)

    response = admin_api.post(reverse("apranova_payments:payment-refund", args=[payment.stripe_payment_intent]),
                              {"amount": "19.99", "reason": "duplicate"}, format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["amount"]) == ("succeeded", "19.99")
    deliver(client, outbox())
    payment.refresh_from_db()
    assert payment.is_fully_refunded and captured_signals.count("payment_refunded") == 1
    assert SimulatedRefund.objects.get().reason == "duplicate"


def test_a_refund_made_at_the_simulator_without_the_package_is_recorded_from_its_events(
    api, client, outbox, captured_signals
):
    payment = pay(api)
    outbox()
    data = SimulatorGateway().create_refund(payment_intent=payment.stripe_payment_intent, amount=1999, reason="",
                                            metadata={}, idempotency_key="k")

    assert deliver(client, outbox()) == ["processed", "processed"]

    stored = Refund.objects.get(stripe_refund=data.id)
    assert stored.requested_by is None and stored.status == "succeeded"  # no mark: as from the Dashboard
    payment.refresh_from_db()
    assert payment.is_fully_refunded and captured_signals.count("payment_refunded") == 1


def test_a_dashboard_refund_from_the_simulator_admin_is_recorded_with_no_requester(
    api, client, admin_client_, outbox, captured_signals
):
    payment = pay(api)
    outbox()
    intent = SimulatedPaymentIntent.objects.get()

    page = run_action(admin_client_, "simulatedpaymentintent", "dashboard_refund", [intent.pk])

    assert page.status_code == 200 and b"1 PaymentIntent refunded" in page.content
    posted = outbox()
    assert types(posted) == ["refund.created", "charge.refunded"]
    assert event_object(posted[0])["metadata"] == {}
    assert deliver(client, posted) == ["processed", "processed"]
    refund = Refund.objects.get()
    assert (refund.requested_by, refund.amount, refund.reason) == (None, Decimal("19.99"), "requested_by_customer")
    payment.refresh_from_db()
    assert payment.is_fully_refunded and captured_signals.count("payment_refunded") == 1

    again = run_action(admin_client_, "simulatedpaymentintent", "dashboard_refund", [intent.pk])
    assert b"Nothing is left to refund" in again.content and SimulatedRefund.objects.count() == 1


def test_a_refund_that_fails_after_it_succeeded(api, client, user, admin_client_, outbox, captured_signals):
    payment = pay(api)
    outbox()
    created = services.refund_payment(payment, requested_by=user)
    deliver(client, outbox())
    simulated = SimulatedRefund.objects.get()

    page = run_action(admin_client_, "simulatedrefund", "fail_refund", [simulated.pk])

    assert b"1 refund failed" in page.content
    posted = outbox()
    assert types(posted) == ["refund.updated", "refund.failed"]
    failed = RefundData.from_dict(event_object(posted[1]))
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    assert deliver(client, posted) == ["processed", "processed"]
    created.refund.refresh_from_db()
    payment.refresh_from_db()
    assert created.refund.status == "failed" and payment.amount_refunded == 0 and not payment.is_fully_refunded
    assert captured_signals.count("refund_failed") == 1 and captured_signals.count("payment_refunded") == 1

    # The funds are back: the payment may be refunded again, and a failed refund cannot fail again.
    assert services.refund_payment(payment, Decimal("1.00"), requested_by=user).refund.status == "succeeded"
    with pytest.raises(UnexpectedRefundState):
        SimulatorGateway().fail_refund(simulated.refund_id)


def test_a_receiver_that_raises_rolls_the_simulated_refund_back_with_the_request(api, user, outbox):
    """The documented difference from Stripe: the simulator's refund is in the same
    transaction as the request that asked for it."""
    payment = pay(api)
    outbox()

    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("receiver failed")

    signals.payment_refunded.connect(refuse, weak=False)
    try:
        with pytest.raises(RuntimeError):
            services.refund_payment(payment, requested_by=user)
    finally:
        signals.payment_refunded.disconnect(refuse)

    assert outbox() == [] and not SimulatedRefund.objects.exists() and not Refund.objects.exists()
    assert services.refund_payment(payment, requested_by=user).refund.status == "succeeded"


# -- Stripe's rules ----------------------------------------------------------------------------------


def test_never_more_than_is_left(api, user):
    payment = pay(api)
    gateway = SimulatorGateway()
    services.refund_payment(payment, Decimal("19.00"), requested_by=user)

    with pytest.raises(GatewayRejected):  # Stripe's own refusal, as if the package did not check
        gateway.create_refund(payment_intent=payment.stripe_payment_intent, amount=100, reason="",
                              metadata={}, idempotency_key="too-much")
    with pytest.raises(ValidationError) as excinfo:  # the package checks first
        services.refund_payment(payment, Decimal("1.00"), requested_by=user)
    assert "At most 0.99 USD is left to refund." in str(excinfo.value.detail)

    gateway.create_refund(payment_intent=payment.stripe_payment_intent, amount=99, reason="", metadata={},
                          idempotency_key="the-rest")
    with pytest.raises(PaymentNotRefundable) as nothing_left:
        gateway.create_refund(payment_intent=payment.stripe_payment_intent, amount=1, reason="", metadata={},
                              idempotency_key="one-more")
    assert "Nothing is left" in str(nothing_left.value.detail)
    assert SimulatedRefund.objects.count() == 2


@pytest.mark.parametrize("amount", [0, -1, True, 1999 + 1])
def test_an_amount_stripe_refuses(api, amount):
    payment = pay(api)

    with pytest.raises(GatewayRejected):
        SimulatorGateway().create_refund(payment_intent=payment.stripe_payment_intent, amount=amount, reason="",
                                         metadata={}, idempotency_key="k")
    assert not SimulatedRefund.objects.exists()


def test_an_unknown_reason_or_payment_intent_is_refused(api):
    payment = pay(api)
    gateway = SimulatorGateway()

    with pytest.raises(GatewayRejected):
        gateway.create_refund(payment_intent=payment.stripe_payment_intent, amount=100, reason="changed_mind",
                              metadata={}, idempotency_key="k1")
    with pytest.raises(GatewayRejected) as missing:
        gateway.create_refund(payment_intent="pi_simunknown", amount=100, reason="", metadata={},
                              idempotency_key="k2")
    assert missing.value.get_codes() == "resource_missing"
    assert not SimulatedRefund.objects.exists()


@pytest.mark.parametrize("status", ["requires_payment_method", "requires_action", "processing", "canceled"])
def test_only_a_succeeded_payment_intent_can_be_refunded(db, status):
    intent = SimulatedPaymentIntent.objects.create(amount=999, currency="usd", status=status)

    with pytest.raises(PaymentNotRefundable):
        SimulatorGateway().create_refund(payment_intent=intent.intent_id, amount=999, reason="", metadata={},
                                         idempotency_key="k")
    assert not SimulatedRefund.objects.exists()


def test_a_payment_that_has_not_succeeded_answers_409_through_the_api(api, staff):
    created = api.post(reverse("apranova_payments:create-payment"), {"amount": "19.99"}, format="json").json()
    admin_api = APIClient()
    admin_api.force_authenticate(staff)

    response = admin_api.post(reverse("apranova_payments:payment-refund", args=[created["paymentIntent"]]), {},
                              format="json")

    assert response.status_code == 409 and not SimulatedRefund.objects.exists()


def test_the_idempotency_key_replays_the_refund_and_refuses_other_parameters(api):
    payment = pay(api)
    gateway = SimulatorGateway()
    args = {"payment_intent": payment.stripe_payment_intent, "amount": 500, "reason": "duplicate",
            "metadata": {"a": "1"}}

    first = gateway.create_refund(**args, idempotency_key="key-1")
    again = gateway.create_refund(**args, idempotency_key="key-1")
    other = gateway.create_refund(**args, idempotency_key="key-2")

    assert again == first and other.id != first.id
    for changed in ({"amount": 600}, {"reason": ""}, {"metadata": {}}):
        with pytest.raises(IdempotencyConflict):
            gateway.create_refund(**{**args, **changed}, idempotency_key="key-1")
    assert SimulatedRefund.objects.count() == 2


def test_the_package_retrying_a_refund_with_its_key_gets_the_same_refund(api, user):
    """A retry of ``refund_payment`` after its first try died before storing the refund:
    the simulator answers the same refund for the same Stripe idempotency key."""
    payment = pay(api)
    gateway = SimulatorGateway()
    calls: list[RefundData] = []
    real = gateway.create_refund

    def record(**kwargs: Any) -> RefundData:
        calls.append(real(**kwargs))
        return calls[-1]

    with mock.patch("django_apranova_payments.services.refunds.get_gateway", return_value=gateway), \
            mock.patch.object(gateway, "create_refund", side_effect=record):
        services.refund_payment(payment, Decimal("2.00"), requested_by=user, idempotency_key="retry")
        Refund.objects.all().delete()  # as if the first request died after Stripe answered
        Payment.objects.filter(pk=payment.pk).update(amount_refunded=0)
        again = services.refund_payment(payment, Decimal("2.00"), requested_by=user, idempotency_key="retry")

    assert calls[0] == calls[1] and again.refund.stripe_refund == calls[0].id
    assert SimulatedRefund.objects.count() == 1


def test_list_and_retrieve(api, user):
    payment = pay(api)
    gateway = SimulatorGateway()
    first = services.refund_payment(payment, Decimal("1.00"), requested_by=user).refund
    second = services.refund_payment(payment, Decimal("2.00"), requested_by=user).refund

    listed = gateway.list_refunds(payment.stripe_payment_intent)

    assert sorted(r.id for r in listed) == sorted([first.stripe_refund, second.stripe_refund])
    assert gateway.retrieve_refund(first.stripe_refund).amount == 100
    charge = gateway.retrieve_charge(f"ch_{payment.stripe_payment_intent.removeprefix('pi_')}")
    assert (charge.payment_intent, charge.amount_refunded) == (payment.stripe_payment_intent, 300)
    for call in (lambda: gateway.retrieve_refund("re_simunknown"), lambda: gateway.retrieve_dispute("dp_x"),
                 lambda: gateway.list_refunds("pi_simunknown"), lambda: gateway.retrieve_charge("ch_simunknown")):
        with pytest.raises(GatewayRejected):
            call()


def test_a_charge_refunded_event_with_a_refund_not_stored_here_fetches_it_from_the_simulator(
    api, client, outbox, captured_signals
):
    """``charge.refunded`` first, its ``refund.created`` lost: the package lists the
    PaymentIntent's refunds from the gateway (the simulator) and applies the missing one."""
    payment = pay(api)
    outbox()
    SimulatorGateway().dashboard_refund(payment.stripe_payment_intent, 700)
    posted = outbox()

    assert deliver(client, [posted[1]]) == ["processed"]  # charge.refunded only

    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("7.00") and captured_signals.count("payment_refunded") == 1
    assert deliver(client, [posted[0]]) == ["processed"]
    assert captured_signals.count("payment_refunded") == 1


# -- the dispute card ----------------------------------------------------------------------------------


def test_the_dispute_card_is_a_test_card():
    card = TEST_CARDS["4000000000000259"]

    assert card.outcome == Outcome.DISPUTED and "disputed" in card.description


def test_the_dispute_card_succeeds_then_a_fraudulent_dispute_arrives(api, client, user, outbox, captured_signals):
    payment = pay(api, DISPUTED)
    posted = outbox()

    assert types(posted) == ["payment_intent.created", "payment_intent.succeeded", "charge.dispute.created"]
    dispute = DisputeData.from_dict(event_object(posted[2]))
    assert (dispute.status, dispute.reason, dispute.is_charge_refundable) == ("needs_response", "fraudulent", False)
    assert (dispute.amount, dispute.currency, dispute.payment_intent) == (1999, "usd", payment.stripe_payment_intent)
    assert dispute.evidence_due_by is not None and dispute.id.startswith("dp_")
    assert deliver(client, posted) == ["processed"] * 3

    payment.refresh_from_db()
    stored = Dispute.objects.get()
    assert payment.status == "succeeded" and payment.is_disputed
    assert (stored.stripe_dispute, stored.status, stored.amount) == (dispute.id, "needs_response", Decimal("19.99"))
    assert captured_signals.count("payment_succeeded") == 1 and captured_signals.count("payment_disputed") == 1
    assert SimulatorGateway().retrieve_dispute(dispute.id) == dispute
    with pytest.raises(ChargeDisputed):  # the package refuses first, knowing of the dispute
        services.refund_payment(payment, requested_by=user)


def test_the_simulator_refuses_a_refund_of_a_disputed_charge_the_package_has_not_heard_of(api, staff):
    payment = pay(api, DISPUTED)  # no webhook URL: the package never hears of the dispute
    admin_api = APIClient()
    admin_api.force_authenticate(staff)

    response = admin_api.post(reverse("apranova_payments:payment-refund", args=[payment.stripe_payment_intent]),
                              {}, format="json")

    assert response.status_code == 409, response.content
    assert not Payment.objects.get().is_disputed and not SimulatedRefund.objects.exists()
    assert not Refund.objects.exists()


def test_without_a_webhook_url_the_dispute_card_still_opens_its_dispute_at_the_simulator(api):
    payment = pay(api, DISPUTED)

    assert payment.status == "succeeded"
    assert SimulatedDispute.objects.get().intent.intent_id == payment.stripe_payment_intent


@pytest.mark.parametrize(("action", "status"), [("close_won", "won"), ("close_lost", "lost")])
def test_staff_close_a_dispute_in_the_simulator_admin(api, client, admin_client_, outbox, captured_signals,
                                                      action, status):
    payment = pay(api, DISPUTED)
    deliver(client, outbox())
    simulated = SimulatedDispute.objects.get()

    page = run_action(admin_client_, "simulateddispute", action, [simulated.pk])

    assert f"1 dispute closed as {status}".encode() in page.content
    posted = outbox()
    assert types(posted) == ["charge.dispute.closed"]
    assert event_object(posted[0])["status"] == status
    assert deliver(client, posted) == ["processed"]
    dispute = Dispute.objects.get(payment=payment)
    assert dispute.status == status
    assert captured_signals.count("dispute_closed") == 1 and captured_signals.of("dispute_closed")[0][
        "dispute"].status == status

    again = run_action(admin_client_, "simulateddispute", "close_won", [simulated.pk])
    assert b"closed already" in again.content and outbox() == []
    with pytest.raises(UnexpectedDisputeState):
        SimulatorGateway().close_dispute(simulated.dispute_id, won=True)


@pytest.mark.parametrize(("won", "refundable"), [(True, True), (False, False)])
def test_a_dispute_won_allows_refunds_again_and_a_lost_one_never(api, user, won, refundable):
    payment = pay(api, DISPUTED)
    gateway = SimulatorGateway()
    args = {"payment_intent": payment.stripe_payment_intent, "amount": 100, "reason": "", "metadata": {}}
    with pytest.raises(ChargeDisputed):
        gateway.create_refund(**args, idempotency_key="while-open")

    gateway.close_dispute(SimulatedDispute.objects.get().dispute_id, won=won)

    if refundable:
        assert gateway.create_refund(**args, idempotency_key="after").status == "succeeded"
    else:
        with pytest.raises(ChargeDisputed):
            gateway.create_refund(**args, idempotency_key="after")


def test_the_simulator_admin_lists_read_only_and_never_shows_a_client_secret(api, admin_client_):
    pay(api, DISPUTED)
    intent = SimulatedPaymentIntent.objects.get()

    for model in ("simulatedpaymentintent", "simulatedrefund", "simulateddispute"):
        assert admin_client_.get(reverse(f"admin:apranova_simulator_{model}_changelist")).status_code == 200
    page = admin_client_.get(reverse("admin:apranova_simulator_simulatedpaymentintent_change", args=[intent.pk]))
    assert page.status_code == 200 and intent.client_secret.encode() not in page.content
    assert b'name="_save"' not in page.content
    assert admin_client_.get(reverse("admin:apranova_simulator_simulateddispute_add")).status_code == 403


def test_staff_without_change_permission_get_no_simulator_actions(api, client, db):
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_simulateddispute"))
    pay(api, DISPUTED)
    client.force_login(user)

    page = client.get(reverse("admin:apranova_simulator_simulateddispute_changelist"))
    response = run_action(client, "simulateddispute", "close_won", [SimulatedDispute.objects.get().pk])

    assert page.status_code == 200 and b"close_won" not in page.content
    assert SimulatedDispute.objects.get().status == "needs_response" and response.status_code == 200


# -- DEBUG off: refused like the rest of the simulator -------------------------------------------------


@pytest.mark.parametrize("action", ["refund", "list", "retrieve_refund", "retrieve_dispute", "fail", "close",
                                    "dashboard"])
def test_with_debug_off_every_refund_and_dispute_call_refuses(db, settings, action):
    intent = SimulatedPaymentIntent.objects.create(amount=999, currency="usd", status="succeeded")
    refund = SimulatedRefund.objects.create(intent=intent, amount=100, currency="usd")
    dispute = SimulatedDispute.objects.create(intent=intent, amount=999, currency="usd")
    gateway = SimulatorGateway()
    settings.DEBUG = False
    calls = {
        "refund": lambda: gateway.create_refund(payment_intent=intent.intent_id, amount=100, reason="",
                                                metadata={}, idempotency_key="k"),
        "list": lambda: gateway.list_refunds(intent.intent_id),
        "retrieve_refund": lambda: gateway.retrieve_refund(refund.refund_id),
        "retrieve_dispute": lambda: gateway.retrieve_dispute(dispute.dispute_id),
        "fail": lambda: gateway.fail_refund(refund.refund_id),
        "close": lambda: gateway.close_dispute(dispute.dispute_id, won=True),
        "dashboard": lambda: gateway.dashboard_refund(intent.intent_id),
    }

    with pytest.raises(GatewayConfigurationError):
        calls[action]()

    assert SimulatedRefund.objects.get().status == "succeeded" and SimulatedRefund.objects.count() == 1
    assert SimulatedDispute.objects.get().status == "needs_response"


def test_with_debug_off_the_refund_endpoint_answers_a_generic_500(api, staff, settings, caplog):
    payment = pay(api)
    settings.DEBUG = False
    admin_api = APIClient()
    admin_api.force_authenticate(staff)

    with caplog.at_level(logging.ERROR, logger="django_apranova_payments.simulator"):
        response = admin_api.post(reverse("apranova_payments:payment-refund",
                                          args=[payment.stripe_payment_intent]), {}, format="json")

    assert response.status_code == 500
    assert response.json() == {"detail": "Payments are misconfigured on the server."}
    assert not SimulatedRefund.objects.exists() and not Refund.objects.exists()
    assert "DEBUG is False" in caplog.text


def test_with_debug_off_the_simulator_admin_is_gone_and_its_actions_do_nothing(api, admin_client_, settings):
    pay(api, DISPUTED)
    dispute = SimulatedDispute.objects.get()
    settings.DEBUG = False

    index = admin_client_.get(reverse("admin:index"))
    listing = admin_client_.get(reverse("admin:apranova_simulator_simulateddispute_changelist"))
    action = admin_client_.post(reverse("admin:apranova_simulator_simulateddispute_changelist"),
                                {"action": "close_won", "_selected_action": [dispute.pk]})

    assert index.status_code == 200 and b"apranova_simulator" not in index.content
    assert listing.status_code == 403 and action.status_code == 403
    assert SimulatedDispute.objects.get().status == "needs_response"


def test_the_simulator_admin_is_gone_when_stripe_is_the_gateway(admin_client_, settings):
    settings.APRANOVA_PAYMENTS = {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"}

    assert admin_client_.get(reverse("admin:apranova_simulator_simulatedrefund_changelist")).status_code == 403


def test_with_debug_off_the_sender_posts_no_refund_event(db, settings, hook_url, caplog):
    intent = SimulatedPaymentIntent.objects.create(amount=999, currency="usd", status="succeeded")
    refund = SimulatedRefund.objects.create(intent=intent, amount=100, currency="usd")
    settings.DEBUG = False

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock, caplog.at_level(logging.ERROR):
        mock.add(responses.POST, hook_url, json={"received": True})
        sender.send_event(refund, "refund.created")
        assert sender.wait_for_deliveries(10)

    assert not mock.calls and f"refund.created for {refund.refund_id} not sent" in caplog.text


# -- concurrency -----------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_refunds_at_the_simulator_never_exceed_the_charge(settings):
    """Stripe's rule holds in the simulator by itself (under its PaymentIntent row lock),
    whatever the package does: eight refunds of 5.00 at once on a 19.99 charge, three fit."""
    intent = SimulatedPaymentIntent.objects.create(amount=1999, currency="usd", status="succeeded")
    barrier, results = threading.Barrier(8), []

    def refund(number: int) -> None:
        try:
            barrier.wait(10)
            SimulatorGateway().create_refund(payment_intent=intent.intent_id, amount=500, reason="", metadata={},
                                             idempotency_key=f"k{number}")
            results.append("ok")
        except GatewayRejected:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(results) == ["ok"] * 3 + ["refused"] * 5
    assert sum(SimulatedRefund.objects.values_list("amount", flat=True)) == 1500


# -- through a live server: real posts, applied by the server's own thread ------------------------------


@pytest.mark.postgres  # SQLite's in-memory test database is one connection, shared by the server's thread
@pytest.mark.django_db(transaction=True)
def test_through_a_live_server_refunds_and_disputes_reach_the_package_once(live_server, settings, captured_signals):
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS,
                                  "SIMULATOR_WEBHOOK_URL": live_server.url + reverse("apranova_payments:webhook")}
    user = get_user_model().objects.create_user("live")
    api = APIClient()
    api.force_authenticate(user)
    gateway = SimulatorGateway()

    refunded = pay(api)
    services.refund_payment(refunded, Decimal("4.99"), requested_by=user)
    services.refund_payment(refunded, requested_by=user)
    disputed = pay(api, DISPUTED)
    assert sender.wait_for_deliveries(30)
    gateway.close_dispute(SimulatedDispute.objects.get().dispute_id, won=False)
    assert sender.wait_for_deliveries(30)

    refunded.refresh_from_db()
    assert refunded.amount_refunded == Decimal("19.99") and refunded.is_fully_refunded
    assert Dispute.objects.get(payment=disputed).status == "lost"
    events = list(WebhookEvent.objects.order_by("received_at").values_list("type", "outcome"))
    assert [t for t, _ in events].count("refund.created") == 2 and ("charge.dispute.closed", "processed") in events
    assert {outcome for _, outcome in events} == {"processed"}
    assert captured_signals.count("payment_refunded") == 2 and captured_signals.count("payment_disputed") == 1
    assert captured_signals.count("dispute_closed") == 1
