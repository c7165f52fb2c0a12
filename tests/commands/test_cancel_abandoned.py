"""apranova_cancel_abandoned: open PaymentIntents older than a threshold are canceled at
Stripe through the status machine, once, even with several runs at the same moment."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from django_apranova_payments.models import Payment
from django_apranova_payments.testing import build_payment_intent
from tests.factories import PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apranova_cancel_abandoned", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def aged(stripe_mock: Any, hours: float, status: str = "pending", **kwargs: Any) -> Payment:
    """A payment created ``hours`` ago, known to the mocked Stripe in the matching state."""
    payment = PaymentFactory(status=status, **kwargs)
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    payment.refresh_from_db()
    stripe_status = {"pending": "requires_payment_method", "failed": "requires_payment_method",
                     "processing": "processing", "succeeded": "succeeded", "canceled": "canceled"}[status]
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(
        payment, stripe_status, failure_code="card_declined" if status == "failed" else None)
    return payment


def test_old_pending_and_failed_payments_are_canceled_once(stripe_mock, captured_signals):
    old = [aged(stripe_mock, 30), aged(stripe_mock, 50, "failed")]
    kept = [aged(stripe_mock, 2), aged(stripe_mock, 30, "processing"), aged(stripe_mock, 30, "succeeded")]

    out, err = run("--older-than", "24")

    assert [Payment.objects.get(pk=p.pk).status for p in old] == ["canceled", "canceled"]
    assert [Payment.objects.get(pk=p.pk).status for p in kept] == ["pending", "processing", "succeeded"]
    assert sorted(c["url"].split("/")[-2] for c in stripe_mock.calls_to("cancel")) == sorted(
        p.stripe_payment_intent for p in old)
    assert captured_signals.count("payment_canceled") == 2
    assert "Payments older than 24 hour(s): 2 canceled; 1 newer one(s) not touched." in out
    assert f"{old[1].stripe_payment_intent}: failed -> canceled" in out and err == ""


def test_the_dry_run_calls_no_one_and_changes_nothing(stripe_mock, captured_signals):
    payment = aged(stripe_mock, 30)

    out, _ = run("--older-than", "24", "--dry-run")

    assert f"[1/1] would cancel {payment.stripe_payment_intent} (pending, created " in out
    assert "Would cancel 1 payment(s) older than 24 hour(s). Dry run: Stripe was not called and nothing changed." in out
    assert stripe_mock.calls == [] and Payment.objects.get().status == "pending" and len(captured_signals) == 0


def test_limit_cancels_the_oldest_first(stripe_mock):
    payments = [aged(stripe_mock, hours) for hours in (30, 40, 50)]

    out, _ = run("--older-than", "24", "--limit", "2")

    assert [Payment.objects.get(pk=p.pk).status for p in payments] == ["pending", "canceled", "canceled"]
    assert "2 canceled" in out


def test_a_payment_stripe_will_not_cancel_is_left_to_its_webhook(stripe_mock, captured_signals):
    payment = aged(stripe_mock, 30)
    stripe_mock.set_status(payment.stripe_payment_intent, "succeeded")  # paid a moment ago

    out, _ = run("--older-than", "24")

    assert Payment.objects.get().status == "pending"  # the payment_intent.succeeded webhook will move it
    assert "left to its webhook" in out and "1 left to their webhook" in out
    assert len(captured_signals) == 0


def test_stripe_failing_reports_the_error_goes_on_and_fails_the_run(stripe_mock):
    first, second = aged(stripe_mock, 50), aged(stripe_mock, 30)
    stripe_mock.fail_next("cancel", status=500)

    with pytest.raises(CommandError, match="1 payment\\(s\\) could not be canceled"):
        run("--older-than", "24")

    assert Payment.objects.get(pk=first.pk).status == "pending"
    assert Payment.objects.get(pk=second.pk).status == "canceled"


def test_free_payments_and_nothing_old_are_left_alone(stripe_mock):
    PaymentFactory(stripe_payment_intent="free_abc", status="pending")
    Payment.objects.update(created_at=timezone.now() - timedelta(days=9))

    out, _ = run("--older-than", "1")

    assert out == "No pending or failed payment is older than 1 hour(s). Nothing to cancel.\n"
    assert stripe_mock.calls == []


def test_a_payment_exactly_at_the_cutoff_is_not_older_than_it(stripe_mock, monkeypatch):
    # "created more than 24 hours ago": one created exactly 24 hours before the run is newer
    # (created_at__lt, in the selection and again when the row is claimed); a microsecond more is older.
    moment = timezone.now().replace(microsecond=500_000)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    at_cutoff = aged(stripe_mock, 24)
    older = aged(stripe_mock, 24)
    Payment.objects.filter(pk=older.pk).update(created_at=moment - timedelta(hours=24, microseconds=1))

    out, _ = run("--older-than", "24")

    assert Payment.objects.get(pk=at_cutoff.pk).status == "pending"
    assert Payment.objects.get(pk=older.pk).status == "canceled"
    assert [c["url"].split("/")[-2] for c in stripe_mock.calls_to("cancel")] == [older.stripe_payment_intent]
    assert "Payments older than 24 hour(s): 1 canceled; 1 newer one(s) not touched." in out


def test_a_payment_exactly_at_the_cutoff_is_not_in_the_dry_run(stripe_mock, monkeypatch):
    moment = timezone.now().replace(microsecond=500_000)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    aged(stripe_mock, 24)

    out, _ = run("--older-than", "24", "--dry-run")

    assert out == (
        "No pending or failed payment is older than 24 hour(s); 1 newer one(s) not touched. Nothing to cancel.\n"
    )


def test_verbosity_0_is_quiet(stripe_mock):
    aged(stripe_mock, 30)

    assert run("--older-than", "24", "-v", "0") == ("", "")
    assert Payment.objects.get().status == "canceled"


@pytest.mark.parametrize(("args", "message"), [
    (["--older-than", "0"], "argument --older-than: takes a whole number, 1 or more, not '0'"),
    (["--older-than", "soon"], "argument --older-than: takes a whole number, 1 or more, not 'soon'"),
    (["--older-than", "24", "--limit", "-1"], "argument --limit: takes a whole number, 1 or more, not '-1'"),
])
def test_bad_arguments_are_one_line(args, message):
    with pytest.raises(CommandError) as raised:
        run(*args)

    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_runs_at_the_same_moment_cancel_each_payment_once(stripe_mock, captured_signals):
    user = UserFactory()
    payments = [aged(stripe_mock, 30, user=user) for _ in range(30)]
    barrier = threading.Barrier(4)
    outputs: list[str] = []

    def cron() -> None:
        try:
            barrier.wait()
            outputs.append(run("--older-than", "24")[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=cron) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert Payment.objects.filter(pk__in=[p.pk for p in payments], status="canceled").count() == 30
    assert len(stripe_mock.calls_to("cancel")) == 30  # each PaymentIntent asked once, by one run
    assert captured_signals.count("payment_canceled") == 30
    assert sum(int(o.split(": ")[-1].split(" canceled")[0]) for o in outputs) == 30
