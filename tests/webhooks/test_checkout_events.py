"""Stripe Checkout's events: ``checkout.session.*`` and the PaymentIntent's own events move the
one Checkout payment through the same status machine, in whatever order and however often they
arrive, in both WEBHOOK_PROCESSING modes, with one signal per transition and never a second row."""

from __future__ import annotations

import copy
import itertools
import json
import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from django_apranova_payments.conf import STRIPE_API_VERSION
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import capture_signals, post_event, stripe_checkout, stripe_objects
from tests.factories import PaymentFactory

pytestmark = pytest.mark.usefixtures("webhook_mode")

T0 = int(time.time()) - 100
CHECKOUT_URL = reverse("apranova_payments:checkout-session")


def start_checkout(api: Any) -> Payment:
    """A Checkout payment, created through the API (``testserver`` is an allowed host)."""
    body = {"amount": "19.99", "metadata": {"course": "12"},
            "successUrl": "http://testserver/paid", "cancelUrl": "http://testserver/cart"}
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        response = api.post(CHECKOUT_URL, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return Payment.objects.get(stripe_checkout_session=response.json()["checkoutSession"])


def event(obj: dict[str, Any], event_type: str, offset: int = 0) -> dict[str, Any]:
    return stripe_objects.event(obj, event_type, api_version=STRIPE_API_VERSION, created=T0 + offset)


def paid_events(stripe_mock: Any, payment: Payment, status: str = "succeeded") -> dict[str, dict[str, Any]]:
    """What Stripe sends when the customer pays on its page: the PaymentIntent's events, then
    the Session's."""
    session_id = payment.stripe_checkout_session
    created = copy.deepcopy(stripe_mock.open_session_intent(session_id))
    session, intent = stripe_mock.pay_session(session_id, status)
    return {
        "created": event(created, "payment_intent.created", 0),
        "succeeded": event(intent, f"payment_intent.{status}", 1),
        "completed": event(session, "checkout.session.completed", 2),
    }


def deliver(client: Any, events: list[dict[str, Any]]) -> list[str]:
    outcomes = []
    for item in events:
        response = post_event(client, item)
        assert response.status_code == 200, response.content
        outcomes.append(response.json()["outcome"])
    return outcomes


ORDERS = sorted(set(itertools.permutations(["created", "created", "succeeded", "succeeded", "completed",
                                            "completed"])))


def test_every_order_of_completed_and_succeeded_and_their_duplicates_pays_once(api, client, user, stripe_mock):
    for order in ORDERS:
        payment = start_checkout(api)
        events = paid_events(stripe_mock, payment)
        with capture_signals() as sent:
            deliver(client, [events[name] for name in order])

        payment.refresh_from_db()
        assert payment.status == "succeeded", order
        assert payment.stripe_payment_intent == events["succeeded"]["data"]["object"]["id"], order
        assert sent.names().count("payment_succeeded") == 1, (order, sent.names())
        assert sent.names().count("payment_status_changed") == 1, order
        assert "payment_created" not in sent.names(), order
        assert Payment.objects.filter(user=user).count() == ORDERS.index(order) + 1, order


def test_a_delayed_method_is_processing_then_succeeded_in_any_order(api, client, stripe_mock):
    names = ["processing", "completed", "async_succeeded", "succeeded"]
    for order in itertools.permutations(names):
        payment = start_checkout(api)
        session_id = payment.stripe_checkout_session
        session, intent = stripe_mock.pay_session(session_id, "processing")
        events = {"processing": event(intent, "payment_intent.processing", 0),
                  "completed": event(session, "checkout.session.completed", 1)}
        session = dict(session, payment_status="paid")
        intent = stripe_objects.with_intent_status(copy.deepcopy(intent), "succeeded")
        events["async_succeeded"] = event(session, "checkout.session.async_payment_succeeded", 2)
        events["succeeded"] = event(intent, "payment_intent.succeeded", 3)
        with capture_signals() as sent:
            deliver(client, [events[name] for name in order])

        payment.refresh_from_db()
        assert payment.status == "succeeded", order
        assert sent.names().count("payment_succeeded") == 1, order
        assert sent.names().count("payment_processing") <= 1, order


def test_completed_unpaid_is_processing(api, client, stripe_mock):
    payment = start_checkout(api)
    session, _ = stripe_mock.pay_session(payment.stripe_checkout_session, "processing")

    with capture_signals() as sent:
        deliver(client, [event(session, "checkout.session.completed")])

    payment.refresh_from_db()
    assert payment.status == "processing" and sent.names()[1:] == ["payment_status_changed", "payment_processing"]


def test_async_payment_failed_is_failed(api, client, stripe_mock):
    payment = start_checkout(api)
    session, _ = stripe_mock.pay_session(payment.stripe_checkout_session, "processing")

    deliver(client, [event(session, "checkout.session.completed", 0),
                     event(session, "checkout.session.async_payment_failed", 1)])

    payment.refresh_from_db()
    assert payment.status == "failed"


def test_expired_is_canceled_and_a_late_completed_changes_nothing(api, client, stripe_mock, webhook_mode):
    payment = start_checkout(api)
    expired = event(stripe_mock.expire_session(payment.stripe_checkout_session), "checkout.session.expired", 0)
    completed = event(dict(expired["data"]["object"], status="complete", payment_status="paid"),
                      "checkout.session.completed", 1)

    with capture_signals() as sent:
        outcomes = deliver(client, [expired, completed])

    payment.refresh_from_db()
    assert payment.status == "canceled"
    assert outcomes == [webhook_mode.answer("processed"), webhook_mode.answer("ignored")]
    assert sent.names().count("payment_canceled") == 1


def test_expired_after_succeeded_changes_nothing(api, client, stripe_mock):
    payment = start_checkout(api)
    events = paid_events(stripe_mock, payment)
    expired = event(dict(events["completed"]["data"]["object"], status="expired"), "checkout.session.expired", 5)

    deliver(client, [events["completed"], expired])

    payment.refresh_from_db()
    assert payment.status == "succeeded"


def test_a_session_this_installation_did_not_create_changes_nothing(client, user, webhook_mode):
    other = PaymentFactory(user=user)
    session = stripe_checkout.checkout_session(amount=1999, currency="usd", success_url="https://elsewhere.example/",
                                              status="complete", payment_status="paid",
                                              payment_intent=other.stripe_payment_intent)

    with capture_signals() as sent:
        outcomes = deliver(client, [event(session, "checkout.session.completed")])

    assert outcomes == [webhook_mode.answer("ignored")]
    assert sent.names() == ["webhook_event_received"]
    other.refresh_from_db()
    assert other.status == "pending" and Payment.objects.count() == 1
    assert "not created by this installation" in WebhookEvent.objects.get().note


def test_a_payment_intent_whose_reference_is_forged_builds_nothing(api, client, stripe_mock, webhook_mode):
    payment = start_checkout(api)
    events = paid_events(stripe_mock, payment)
    forged = json.loads(json.dumps(events["succeeded"]))
    forged["data"]["object"]["metadata"]["apranova_checkout"] = "0" * 32  # the mark no longer verifies

    outcomes = deliver(client, [forged])

    assert outcomes == [webhook_mode.answer("ignored")]
    payment.refresh_from_db()
    assert payment.status == "pending" and payment.stripe_payment_intent is None
    assert Payment.objects.count() == 1


def test_another_installations_checkout_payment_intent_changes_nothing(api, client, stripe_mock, webhook_mode):
    payment = start_checkout(api)
    events = paid_events(stripe_mock, payment)

    with override_settings(SECRET_KEY="another installation's secret " * 2):
        outcomes = deliver(client, [events["succeeded"]])

    assert outcomes == [webhook_mode.answer("ignored")]
    payment.refresh_from_db()
    assert payment.status == "pending" and Payment.objects.count() == 1


def statements(client: Any, item: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as context:
        post_event(client, item)
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return len([q for q in context.captured_queries if not q["sql"].upper().startswith(control)])


def test_completing_through_webhooks_costs_no_more_statements_than_a_payment_intent_event(
    api, client, user, stripe_mock
):
    plain = PaymentFactory(user=user)
    intent = stripe_objects.payment_intent(plain.stripe_payment_intent, amount=plain.amount_minor,
                                           currency=plain.currency, status="succeeded")
    budget = statements(client, event(intent, "payment_intent.succeeded"))

    session_first = start_checkout(api)
    completed = paid_events(stripe_mock, session_first)["completed"]
    intent_first = start_checkout(api)
    succeeded = paid_events(stripe_mock, intent_first)["succeeded"]

    assert statements(client, completed) <= budget
    assert statements(client, succeeded) <= budget
    session_first.refresh_from_db()
    intent_first.refresh_from_db()
    assert session_first.status == intent_first.status == "succeeded"



def test_a_lost_checkout_row_is_rebuilt_from_its_sessions_event_when_the_mark_verifies(api, client, stripe_mock):
    payment = start_checkout(api)
    reference, session_id, user_pk = payment.checkout_reference, payment.stripe_checkout_session, payment.user_id
    payment.delete()  # as if the process died between Stripe's answer and the INSERT
    events = paid_events(stripe_mock, payment)

    with capture_signals() as sent:
        deliver(client, [events["succeeded"], events["completed"], events["succeeded"]])

    rebuilt = Payment.objects.get()
    assert (rebuilt.stripe_checkout_session, rebuilt.checkout_reference, rebuilt.user_id) == (
        session_id, reference, user_pk)
    assert (rebuilt.status, rebuilt.stripe_payment_intent) == ("succeeded", events["succeeded"]["data"]["object"]["id"])
    assert rebuilt.metadata == {"course": "12"}
    assert sent.names().count("payment_created") == 1 and sent.names().count("payment_succeeded") == 1


def test_another_installations_session_is_not_rebuilt(api, client, stripe_mock, webhook_mode):
    payment = start_checkout(api)
    payment.delete()
    completed = paid_events(stripe_mock, payment)["completed"]

    with override_settings(SECRET_KEY="another installation's secret " * 2):
        outcomes = deliver(client, [completed])

    assert outcomes == [webhook_mode.answer("ignored")] and not Payment.objects.exists()
