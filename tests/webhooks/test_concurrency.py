"""The same event delivered 20 times at once, from threads, to a live server on PostgreSQL:
applied once, its signals fired once (counted in a database row), in both WEBHOOK_PROCESSING
modes (``webhook_mode``; in task mode each delivery that stored or found the event still
waiting enqueues the task, and the tasks race for the event's row). And a failing delivery
never overwrites a concurrent successful one, with real threads and real row locks."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.db import connection
from django.db.models import F
from django.urls import reverse

from django_apranova_payments import signals, webhooks
from django_apranova_payments.charges import Charge
from django_apranova_payments.conf import STRIPE_API_VERSION
from django_apranova_payments.models import Payment, WebhookEvent, WebhookEventQuerySet
from django_apranova_payments.services import create_checkout
from django_apranova_payments.testing import StripeMock, build_event, sign_payload, stripe_objects
from tests.factories import PaymentFactory, UserFactory
from tests.testapp.models import SignalTally

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COUNTED = ["webhook_event_received", "payment_status_changed", "payment_succeeded"]


@pytest.fixture
def tally():
    """Counts each signal in a database row, inside the delivering transaction: a delivery
    that rolled back takes its count with it. ``capture_signals`` would record it all the
    same, and the assertion here is about committed work."""
    receivers = []
    for name in COUNTED:
        SignalTally.objects.create(name=name)

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            SignalTally.objects.filter(name=_name).update(count=F("count") + 1)

        getattr(signals, name).connect(receiver, weak=False)
        receivers.append((name, receiver))
    yield lambda: dict(SignalTally.objects.values_list("name", "count"))
    for name, receiver in receivers:
        getattr(signals, name).disconnect(receiver)


def deliver_at_once(url: str, event: dict, copies: int) -> list[requests.Response]:
    body = json.dumps(event).encode()
    start = threading.Barrier(copies)
    responses: list[requests.Response] = []
    lock = threading.Lock()

    def send() -> None:
        headers = {"Content-Type": "application/json", "Stripe-Signature": sign_payload(body)}
        start.wait()
        response = requests.post(url, data=body, headers=headers, timeout=30)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.parametrize("round_number", range(5))
def test_twenty_simultaneous_deliveries_apply_once(live_server, tally, round_number, webhook_mode):
    payment = PaymentFactory(user=UserFactory())
    event = build_event(payment, "payment_intent.succeeded")
    url = live_server.url + reverse("apranova_payments:webhook")

    responses = deliver_at_once(url, event, copies=20)

    assert len(responses) == 20
    assert [r.status_code for r in responses] == [200] * 20
    outcomes = Counter(r.json()["outcome"] for r in responses)
    if webhook_mode.is_task:  # answered before the event is applied: each new or waiting one queued
        assert set(outcomes) <= {"queued", "duplicate"} and outcomes["queued"] >= 1, outcomes
    else:
        assert outcomes == {"processed": 1, "duplicate": 19}
    assert tally() == {name: 1 for name in COUNTED}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert (stored.outcome, stored.attempts) == ("processed", 1)


@pytest.mark.usefixtures("webhook_mode")
def test_different_events_for_one_payment_at_once_end_succeeded_once(live_server, tally):
    payment = PaymentFactory(user=UserFactory())
    url = live_server.url + reverse("apranova_payments:webhook")
    events = [build_event(payment, "payment_intent.succeeded") for _ in range(10)]
    events += [build_event(payment, "payment_intent.processing") for _ in range(10)]
    results: list[requests.Response] = []
    threads = [threading.Thread(target=lambda e=e: results.extend(deliver_at_once(url, e, 1))) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(r.status_code for r in results) == [200] * 20
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert tally()["payment_succeeded"] == 1
    assert tally()["webhook_event_received"] == 20


@pytest.mark.usefixtures("webhook_mode")
@pytest.mark.parametrize("round_number", range(3))
def test_a_checkout_sessions_completed_and_its_payment_intents_succeeded_at_once_pay_once(
    live_server, tally, round_number
):
    """The Session's event locks the payment by its Session, the PaymentIntent's by the
    checkout reference in its metadata: the same row, so one of them applies it."""
    user = UserFactory()
    with StripeMock() as stripe_mock:  # stopped before the deliveries, which it would intercept
        created = create_checkout(user, Charge.of("19.99", "usd", {"course": "12"}),
                                  success_url="https://shop.example/paid", cancel_url="https://shop.example/cart")
        session, intent = stripe_mock.pay_session(created.payment.stripe_checkout_session)
    url = live_server.url + reverse("apranova_payments:webhook")
    events = [stripe_objects.event(session, "checkout.session.completed", api_version=STRIPE_API_VERSION),
              stripe_objects.event(intent, "payment_intent.succeeded", api_version=STRIPE_API_VERSION)]
    results: list[requests.Response] = []
    threads = [threading.Thread(target=lambda e=e: results.extend(deliver_at_once(url, e, 5))) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(r.status_code for r in results) == [200] * 10
    assert tally()["payment_succeeded"] == 1 and tally()["payment_status_changed"] == 1
    assert Payment.objects.filter(user=user).count() == 1
    payment = Payment.objects.get(user=user)
    assert (payment.status, payment.stripe_payment_intent) == (Payment.Status.SUCCEEDED, intent["id"])


@pytest.mark.parametrize("round_number", range(3))
def test_a_taxed_sessions_completed_and_its_grown_payment_intent_at_once_take_the_tax_once(
    live_server, tally, settings, round_number
):
    """With TAX, the PaymentIntent is for the line plus the Session's tax: whichever of the two
    events takes the payment's row lock first records the tax (the PaymentIntent's asks Stripe
    for the Session), and the other finds it recorded."""
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "CURRENCIES": ["usd", "eur"],
                                  "TAX": {"tax_code": "txcd_10000000", "behavior": "exclusive"},
                                  "SELLER": {"name": "ApraNova Academy"}}
    user = UserFactory()
    with StripeMock() as stripe_mock:
        stripe_mock.let_through(live_server.url)
        created = create_checkout(user, Charge.of("19.99", "eur", {"course": "12"}),
                                  success_url="https://shop.example/paid", cancel_url="https://shop.example/cart")
        session, intent = stripe_mock.pay_session(created.payment.stripe_checkout_session,
                                                  address={"country": "DE", "postal_code": "10115"})
        url = live_server.url + reverse("apranova_payments:webhook")
        events = [stripe_objects.event(session, "checkout.session.completed", api_version=STRIPE_API_VERSION),
                  stripe_objects.event(intent, "payment_intent.succeeded", api_version=STRIPE_API_VERSION)]
        results: list[requests.Response] = []
        threads = [threading.Thread(target=lambda e=e: results.extend(deliver_at_once(url, e, 5))) for e in events]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert sorted(r.status_code for r in results) == [200] * 10
    assert tally()["payment_succeeded"] == 1 and tally()["payment_status_changed"] == 1
    payment = Payment.objects.get(user=user)
    assert (payment.status, payment.amount, payment.amount_tax) == (Payment.Status.SUCCEEDED, Decimal("23.79"),
                                                                    Decimal("3.80"))
    assert payment.tax_breakdown[0]["amount"] == 380 and payment.billing_address["country"] == "DE"
    assert set(WebhookEvent.objects.values_list("note", flat=True)) == {""}


# -- a failure recorded after a concurrent success --------------------------------------------


def test_a_failure_recorded_after_a_concurrent_success_leaves_the_event_processed(monkeypatch):
    """Two deliveries of one event on two servers. The first claims it and its receiver
    fails; the second, waiting on the first one's row lock, then processes it. The first
    delivery's failure is written after the second has committed: it must not turn the
    processed event back into a failed one (Stripe would retry an event already applied, and
    the admin would show a failure that did not happen)."""
    payment = PaymentFactory(user=UserFactory())
    event = build_event(payment, "payment_intent.succeeded")
    first_claimed, second_started, second_done = threading.Event(), threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def receiver(**kwargs: Any) -> None:
        if threading.current_thread().name == "first":
            first_claimed.set()
            second_started.wait(10)
            time.sleep(0.3)  # the second delivery is now blocked on this transaction's row
            raise RuntimeError("the first server's receiver failed")

    record_failure = WebhookEventQuerySet.record_failure

    def record_failure_late(self: WebhookEventQuerySet, *args: Any) -> None:
        if threading.current_thread().name == "first":
            second_done.wait(10)  # the second delivery has committed its success by now
        record_failure(self, *args)

    monkeypatch.setattr(WebhookEventQuerySet, "record_failure", record_failure_late)

    def deliver(name: str, before: threading.Event | None, after: threading.Event | None) -> None:
        try:
            if before is not None:
                before.wait(10)
                second_started.set()
            results[name] = webhooks.process_event(event)
        except Exception as exc:
            results[name] = exc
        finally:
            if after is not None:
                after.set()
            connection.close()

    signals.payment_succeeded.connect(receiver, weak=False)
    try:
        threads = [
            threading.Thread(target=deliver, args=("first", None, None), name="first"),
            threading.Thread(target=deliver, args=("second", first_claimed, second_done), name="second"),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        signals.payment_succeeded.disconnect(receiver)

    assert isinstance(results["first"], RuntimeError)
    assert results["second"] == "processed"
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert (stored.outcome, stored.error) == ("processed", "")
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
