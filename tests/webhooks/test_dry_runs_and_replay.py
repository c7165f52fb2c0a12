"""One decision for every path: the reconcile dry run asks ``transitions.decide`` (the same
guards as ``apply_intent``), and the admin and the command replay through ``webhooks.replay``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from django_apranova_payments import signals, transitions, webhooks
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, build_payment_intent, capture_signals, post_event
from django_apranova_payments.webhooks import processing
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def stale(payment: Payment) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    payment.refresh_from_db()
    return payment


def test_reconcile_dry_run_refuses_an_amount_mismatch_as_apply_would(user, stripe_mock):
    stuck = stale(PaymentFactory(user=user))
    stripe_mock.intents[stuck.stripe_payment_intent] = build_payment_intent(
        stuck, "succeeded", amount=stuck.amount_minor + 100
    )
    out = StringIO()

    call_command("apranova_reconcile", "--dry-run", stdout=out)
    dry = out.getvalue()
    call_command("apranova_reconcile", stdout=StringIO())

    assert "would move" not in dry and "mismatch" in dry
    stuck.refresh_from_db()
    assert stuck.status == "pending"  # the real run agreed with the dry run


def test_decide_is_apply_intent_without_writing(user):
    payment = PaymentFactory(user=user)
    intent = transitions.PaymentIntentData.from_dict(build_payment_intent(payment, "succeeded"))

    with capture_signals() as sent:
        decision = transitions.decide(payment, intent)
    payment.refresh_from_db()

    assert (decision.old_status, decision.new_status, decision.applied) == ("pending", "succeeded", True)
    assert payment.status == "pending" and sent.names() == []
    assert transitions.apply_intent(payment, intent).new_status == decision.new_status


def test_decide_reports_a_stale_event(user):
    payment = PaymentFactory(user=user, status="failed")
    Payment.objects.filter(pk=payment.pk).update(last_event_created=timezone.now())
    payment.refresh_from_db()
    intent = transitions.PaymentIntentData.from_dict(build_payment_intent(payment, "processing"))
    old_event = build_event(build_payment_intent(payment, "processing"), "payment_intent.processing", created=1)

    decision = transitions.decide(payment, intent, event=old_event)

    assert not decision.applied and decision.refused.startswith(transitions.STALE)


def test_replay_processes_oldest_first_and_goes_on_after_a_failure(user, monkeypatch):
    payments = [PaymentFactory(user=user) for _ in range(3)]
    for number, payment in enumerate(payments):
        event = build_event(payment, "payment_intent.succeeded", created=1_700_000_000 - number)
        WebhookEvent.objects.create(
            stripe_id=event["id"], type=event["type"], payload=event,
            stripe_created=datetime.fromtimestamp(event["created"], tz=UTC), outcome="failed",
        )
    real = processing.process_event
    seen: list[str] = []

    def process(event, **kwargs):
        seen.append(event["data"]["object"]["id"])
        if event["data"]["object"]["id"] == payments[1].stripe_payment_intent:
            raise RuntimeError("receiver failed")
        return real(event, **kwargs)

    monkeypatch.setattr(processing, "process_event", process)
    results = list(webhooks.replay(WebhookEvent.objects.all()))

    assert seen == [p.stripe_payment_intent for p in reversed(payments)]  # oldest (created) first
    assert [r.outcome for r in results] == ["processed", "failed", "processed"]
    assert isinstance(results[1].error, RuntimeError)
    assert Payment.objects.filter(status="succeeded").count() == 2


def test_a_forced_replay_that_fails_never_marks_a_processed_event_failed(payment):
    event = build_event(payment, "payment_intent.succeeded")
    assert post_event(Client(), event).json()["outcome"] == "processed"

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("receiver broke on replay")

    signals.payment_status_changed.connect(broken, weak=False)
    try:
        stored = WebhookEvent.objects.get()
        Payment.objects.filter(pk=payment.pk).update(status="pending")  # so the replay transitions again
        (replayed,) = webhooks.replay(WebhookEvent.objects.filter(pk=stored.pk))
    finally:
        signals.payment_status_changed.disconnect(broken)

    assert replayed.outcome == "failed" and isinstance(replayed.error, RuntimeError)
    stored.refresh_from_db()
    assert (stored.outcome, stored.error, stored.attempts) == ("processed", "", 1)
