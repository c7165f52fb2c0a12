"""Management commands: apranova_replay_events and apranova_reconcile."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_apranova_payments import signals
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, build_payment_intent, capture_signals, post_event
from tests.factories import PaymentFactory


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# -- apranova_replay_events ---------------------------------------------------------------------


@pytest.fixture
def failed_event(client, payment):
    """A succeeded event whose first processing failed in a receiver."""

    def broken(**kwargs):
        raise RuntimeError("enrollment service down")

    signals.payment_succeeded.connect(broken)
    try:
        event = build_event(payment, "payment_intent.succeeded")
        assert post_event(client, event).status_code == 500
    finally:
        signals.payment_succeeded.disconnect(broken)
    return WebhookEvent.objects.get(stripe_id=event["id"])


def test_replay_failed_events_processes_them_once(failed_event, payment):
    with capture_signals() as sent:
        out, _ = run("apranova_replay_events", "--failed")
        again, _ = run("apranova_replay_events", "--failed")

    payment.refresh_from_db()
    failed_event.refresh_from_db()
    assert payment.status == "succeeded"
    assert failed_event.outcome == "processed"
    assert f"[1/1] {failed_event.stripe_id} payment_intent.succeeded: processed" in out
    assert "Replayed 1 event(s): 1 processed." in out
    assert "No stored events match." in again
    assert [kw["payment"].pk for kw in sent.of("payment_succeeded")] == [payment.pk]


def test_replay_by_id_of_a_processed_event_changes_nothing(client, payment):
    event = build_event(payment, "payment_intent.succeeded")
    post_event(client, event)
    with capture_signals() as sent:
        out, _ = run("apranova_replay_events", "--id", event["id"])

    assert "processed" in out
    assert sent.of("webhook_event_received") == []
    payment.refresh_from_db()
    assert payment.status == "succeeded"


def test_replay_that_fails_again_exits_with_an_error(failed_event):
    signals.payment_succeeded.connect(broken := lambda **kw: 1 / 0)
    try:
        with pytest.raises(CommandError, match="1 event"):
            run("apranova_replay_events", "--failed")
    finally:
        signals.payment_succeeded.disconnect(broken)
    failed_event.refresh_from_db()
    assert failed_event.outcome == "failed" and failed_event.attempts == 2
    assert "ZeroDivisionError" in failed_event.error


def test_replay_filters_by_type_and_date(client, user):
    first, second = PaymentFactory(user=user), PaymentFactory(user=user)
    post_event(client, build_event(first, "payment_intent.processing"))
    post_event(client, build_event(second, "payment_intent.canceled"))
    WebhookEvent.objects.filter(type="payment_intent.canceled").update(
        received_at=timezone.now() - timedelta(days=10))

    out, _ = run("apranova_replay_events", "--type", "payment_intent.processing", "--dry-run")
    since, _ = run("apranova_replay_events", "--since", (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d"),
                   "--dry-run")

    assert "payment_intent.processing: would process" in out and "canceled" not in out
    assert "Would replay 1 event(s)." in since


def test_replay_needs_a_selection():
    with pytest.raises(CommandError, match="Say which events"):
        run("apranova_replay_events")


def test_replay_rejects_a_bad_date(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("apranova_replay_events", "--since", "yesterday")


# -- apranova_reconcile -----------------------------------------------------------------------


def stale(payment: Payment, minutes: int = 60) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))
    return payment


def test_reconcile_applies_what_stripe_says(user, stripe_mock):
    stuck = stale(PaymentFactory(user=user))
    PaymentFactory(user=user)  # recently updated: left alone
    stale(PaymentFactory(user=user, status="succeeded"))  # final: left alone
    stripe_mock.intents[stuck.stripe_payment_intent] = build_payment_intent(stuck, "succeeded")
    with capture_signals() as sent:
        out, _ = run("apranova_reconcile", "--older-than", "30")

    stuck.refresh_from_db()
    assert stuck.status == "succeeded"
    assert [kw["payment"].pk for kw in sent.of("payment_succeeded")] == [stuck.pk]
    assert f"[1/1] {stuck.stripe_payment_intent}: pending -> succeeded" in out
    assert "Checked 1 payment(s): changed 1, unchanged 0, errors 0." in out
    assert [c["url"] for c in stripe_mock.calls] == [
        f"https://api.stripe.com/v1/payment_intents/{stuck.stripe_payment_intent}"]


def test_reconcile_dry_run_changes_nothing(user, stripe_mock):
    stuck = stale(PaymentFactory(user=user))
    stripe_mock.intents[stuck.stripe_payment_intent] = build_payment_intent(stuck, "canceled")

    out, _ = run("apranova_reconcile", "--dry-run")

    stuck.refresh_from_db()
    assert stuck.status == "pending"
    assert "would move pending -> canceled" in out
    assert "would change 1" in out


def test_reconcile_reports_stripe_errors_and_goes_on(user, stripe_mock):
    first, second = stale(PaymentFactory(user=user), 90), stale(PaymentFactory(user=user), 60)
    stripe_mock.intents[second.stripe_payment_intent] = build_payment_intent(second, "processing")
    stripe_mock.fail_next("retrieve", exception=requests.ConnectionError("reset"))

    out, _ = run("apranova_reconcile", "--limit", "5")

    second.refresh_from_db()
    assert second.status == "processing"
    assert f"{first.stripe_payment_intent}: error:" in out
    assert "changed 1, unchanged 0, errors 1" in out


def test_reconcile_rejects_negative_minutes(db):
    with pytest.raises(CommandError):
        run("apranova_reconcile", "--older-than", "-1")


# -- the admin's "process again" ------------------------------------------------------------------


def test_admin_process_again_replays_a_failed_event(client, failed_event, payment, django_user_model):
    from django.urls import reverse

    admin_user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:apranova_payments_webhookevent_changelist"),
        {"action": "process_again", "_selected_action": [failed_event.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Processed again: 1 processed." in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == "succeeded"
