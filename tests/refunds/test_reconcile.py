"""apranova_reconcile, refunds and disputes: pending refunds and open disputes older than the
threshold are refreshed from Stripe through apply_refund / apply_dispute (signals once), the
dry run says what would change, and the output follows the commands' conventions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from django_apranova_payments import services
from django_apranova_payments.conf import app_settings
from django_apranova_payments.gateway import DisputeData
from django_apranova_payments.models import Dispute, Payment, Refund
from django_apranova_payments.refunds import apply_dispute
from django_apranova_payments.testing import build_event, build_payment_intent, capture_signals, post_event
from tests.factories import PaymentFactory


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apranova_reconcile", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def paid(stripe_mock: Any, user: Any, amount: str = "100.00") -> Payment:
    payment = PaymentFactory(user=user, status="succeeded", stripe_status="succeeded", amount=Decimal(amount))
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    return payment


def stale(row: Any, minutes: int = 60) -> Any:
    type(row).objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))
    row.refresh_from_db()
    return row


def pending_refund(stripe_mock: Any, payment: Payment, amount: str = "10.00", minutes: int = 60) -> Refund:
    """A refund Stripe answered ``pending``, last updated ``minutes`` ago."""
    stripe_mock.refund_status = "pending"
    try:
        refund = services.refund_payment(payment, Decimal(amount)).refund
    finally:
        stripe_mock.refund_status = "succeeded"
    assert refund.status == "pending"
    return stale(refund, minutes)


def open_dispute(stripe_mock: Any, payment: Payment, status: str = "needs_response", minutes: int = 60) -> Dispute:
    data = stripe_mock.dispute(payment.stripe_payment_intent, status)
    return stale(apply_dispute(payment, DisputeData.from_dict(data)).obj, minutes)


@pytest.fixture
def payment(stripe_mock: Any, user: Any) -> Payment:
    return paid(stripe_mock, user)


# -- refunds ---------------------------------------------------------------------------------------


def test_a_pending_refund_that_succeeded_at_stripe_is_applied_with_its_signal_once(client, stripe_mock, payment):
    refund = pending_refund(stripe_mock, payment)
    stripe_mock.set_refund_status(refund.stripe_refund, "succeeded")

    with capture_signals() as sent:
        out, err = run()
        late = build_event(stripe_mock.refunds[refund.stripe_refund], "refund.updated")
        assert post_event(client, late).status_code == 200
        again, _ = run("--older-than", "0")

    refund.refresh_from_db(), payment.refresh_from_db()
    assert (refund.status, payment.amount_refunded) == ("succeeded", Decimal("10.00"))
    assert [kw["refund"].pk for kw in sent.of("payment_refunded")] == [refund.pk]
    assert [kw["event"] for kw in sent.of("payment_refunded")] == [None]
    assert f"[1/1] {refund.stripe_refund} (refund of {payment.stripe_payment_intent}): pending -> succeeded" in out
    assert "Checked 1 refund(s): changed 1, unchanged 0, errors 0." in out and err == ""
    assert "refund" not in again  # no longer open: not checked again
    assert [c["url"] for c in stripe_mock.calls_to("retrieve_refund")] == [
        f"https://api.stripe.com/v1/refunds/{refund.stripe_refund}"]


def test_a_pending_refund_that_failed_at_stripe_sends_refund_failed_once(stripe_mock, payment):
    refund = pending_refund(stripe_mock, payment)
    stripe_mock.set_refund_status(refund.stripe_refund, "failed", failure_reason="expired_or_canceled_card")

    with capture_signals() as sent:
        out, _ = run()
        run("--older-than", "0")

    refund.refresh_from_db(), payment.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "expired_or_canceled_card")
    assert payment.amount_refunded == 0 and payment.amount_left_to_refund == Decimal("100.00")
    assert [kw["refund"].pk for kw in sent.of("refund_failed")] == [refund.pk]
    assert sent.of("payment_refunded") == []
    assert "pending -> failed" in out


def test_a_refund_still_pending_is_unchanged_and_looked_at_again_next_time(stripe_mock, payment):
    refund = pending_refund(stripe_mock, payment)

    first, _ = run()
    second, _ = run()

    assert f"{refund.stripe_refund} (refund of {payment.stripe_payment_intent}): unchanged (pending, Stripe says " \
        "pending)" in first
    assert "Checked 1 refund(s): changed 0, unchanged 1, errors 0." in second


def test_refunds_that_are_not_open_are_never_asked_about(stripe_mock, payment):
    done = stale(services.refund_payment(payment, Decimal("10.00")).refund)
    assert done.status == "succeeded"

    out, _ = run("--older-than", "0")

    assert stripe_mock.calls_to("retrieve_refund") == []
    assert "refund" not in out


def test_a_refund_stripe_reports_differently_is_not_applied(stripe_mock, payment):
    refund = pending_refund(stripe_mock, payment)
    stripe_mock.refunds[refund.stripe_refund].update(status="succeeded", amount=5000)

    with capture_signals() as sent:
        out, _ = run()
        dry, _ = run("--dry-run")

    refund.refresh_from_db()
    assert refund.status == "pending" and sent.of("payment_refunded") == []
    assert "unchanged (pending, mismatch: the stored refund differs from Stripe's)" in out
    assert "unchanged (pending, mismatch: the stored refund differs from Stripe's)" in dry


# -- disputes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("closed", ["won", "lost"])
def test_an_open_dispute_closed_at_stripe_is_applied_with_dispute_closed_once(stripe_mock, payment, closed):
    dispute = open_dispute(stripe_mock, payment)
    stripe_mock.disputes[dispute.stripe_dispute]["status"] = closed

    with capture_signals() as sent:
        out, _ = run()
        again, _ = run("--older-than", "0")

    dispute.refresh_from_db()
    assert dispute.status == closed
    assert [kw["dispute"].status for kw in sent.of("dispute_closed")] == [closed]
    assert sent.of("payment_disputed") == []
    assert f"[1/1] {dispute.stripe_dispute} (dispute of {payment.stripe_payment_intent}): needs_response -> " \
        f"{closed}" in out
    assert "Checked 1 dispute(s): changed 1, unchanged 0, errors 0." in out
    assert "dispute" not in again


def test_an_inquiry_that_became_a_chargeback_moves_on_and_stays_open(stripe_mock, payment):
    dispute = open_dispute(stripe_mock, payment, "warning_needs_response")
    stripe_mock.disputes[dispute.stripe_dispute]["status"] = "needs_response"

    with capture_signals() as sent:
        out, _ = run()

    dispute.refresh_from_db()
    assert dispute.status == "needs_response" and sent.of("dispute_closed") == []
    assert "warning_needs_response -> needs_response" in out


@pytest.mark.parametrize("closed", ["won", "lost", "warning_closed"])
def test_closed_disputes_are_never_asked_about(stripe_mock, payment, closed):
    Dispute.objects.create(payment=payment, stripe_dispute="dp_closed", amount=Decimal("100.00"), currency="usd",
                           status=closed)
    Dispute.objects.update(updated_at=timezone.now() - timedelta(days=3))

    out, _ = run("--older-than", "0")

    assert stripe_mock.calls_to("retrieve_dispute") == [] and "dispute" not in out


def test_a_dispute_stripe_moves_backwards_is_not_applied(stripe_mock, payment):
    dispute = open_dispute(stripe_mock, payment, "under_review")
    stripe_mock.disputes[dispute.stripe_dispute]["status"] = "needs_response"

    out, _ = run()
    dry, _ = run("--dry-run")

    dispute.refresh_from_db()
    assert dispute.status == "under_review"
    for text in (out, dry):
        assert "unchanged (under_review, not allowed: dispute is under_review, Stripe says needs_response)" in text


# -- dry run, skipped, limit, errors, verbosity, progress ---------------------------------------------------


def test_the_dry_run_says_what_would_be_refreshed_and_changes_nothing(stripe_mock, payment, user):
    refund = pending_refund(stripe_mock, payment)
    stripe_mock.set_refund_status(refund.stripe_refund, "succeeded")
    dispute = open_dispute(stripe_mock, paid(stripe_mock, user))
    stripe_mock.disputes[dispute.stripe_dispute]["status"] = "lost"

    with capture_signals() as sent:
        out, _ = run("--dry-run")

    refund.refresh_from_db(), dispute.refresh_from_db(), payment.refresh_from_db()
    assert (refund.status, dispute.status, payment.amount_refunded) == ("pending", "needs_response", 0)
    assert len(sent) == 0
    assert "pending -> succeeded" not in out.replace("would move pending -> succeeded", "")
    assert f"{refund.stripe_refund} (refund of {payment.stripe_payment_intent}): would move pending -> succeeded" in out
    assert "would move needs_response -> lost" in out
    assert "Checked 1 refund(s): would change 1, unchanged 0, errors 0. Dry run: nothing was changed." in out
    assert "Checked 1 dispute(s): would change 1, unchanged 0, errors 0. Dry run: nothing was changed." in out


def test_recent_refunds_and_disputes_are_skipped_and_counted(stripe_mock, payment, user):
    pending_refund(stripe_mock, payment, minutes=5)
    open_dispute(stripe_mock, paid(stripe_mock, user), minutes=5)

    out, _ = run()
    asked = len(stripe_mock.calls_to("retrieve_refund")) + len(stripe_mock.calls_to("retrieve_dispute"))
    everything, _ = run("--older-than", "0", "--dry-run")

    assert "Checked 0 refund(s)" in out and "Checked 0 dispute(s)" in out
    assert "Skipped 1 open refund(s) updated in the last 30 minute(s) (--older-than 30); " \
        "--older-than 0 includes them." in out
    assert "Skipped 1 open dispute(s) updated in the last 30 minute(s)" in out
    assert asked == 0
    assert "Checked 1 refund(s)" in everything and "Checked 1 dispute(s)" in everything


def test_the_limit_applies_to_each_kind_oldest_first(stripe_mock, payment):
    oldest = pending_refund(stripe_mock, payment, "10.00", minutes=90)
    pending_refund(stripe_mock, payment, "10.00", minutes=80)
    pending_refund(stripe_mock, payment, "10.00", minutes=70)

    out, _ = run("--limit", "1", "--dry-run")

    assert f"[1/1] {oldest.stripe_refund} " in out
    assert "Checked 1 refund(s)" in out
    assert "Skipped 2 more refund(s) beyond --limit 1; the next run takes them, oldest first." in out


def test_stripe_errors_are_reported_on_stderr_and_the_run_goes_on(stripe_mock, payment, user):
    failing = pending_refund(stripe_mock, payment, minutes=90)
    moving = pending_refund(stripe_mock, payment, minutes=60)
    stripe_mock.set_refund_status(moving.stripe_refund, "succeeded")
    dispute = open_dispute(stripe_mock, paid(stripe_mock, user))
    attempts = app_settings.STRIPE_MAX_NETWORK_RETRIES + 1
    stripe_mock.fail_next("retrieve_refund", exception=requests.ConnectionError("reset"), times=attempts)
    stripe_mock.fail_next("retrieve_dispute", status=404, error_type="invalid_request_error",
                          code="resource_missing", message="No such dispute")

    out, err = run("-v", "2")

    moving.refresh_from_db()
    assert moving.status == "succeeded"
    assert f"[1/2] {failing.stripe_refund} (refund of {payment.stripe_payment_intent}): error: " in err
    assert "    cause: APIConnectionError: " in err
    assert f"[1/1] {dispute.stripe_dispute} (dispute of " in err
    assert "Checked 2 refund(s): changed 1, unchanged 0, errors 1." in out
    assert "Checked 1 dispute(s): changed 0, unchanged 0, errors 1." in out
    assert "error" not in out.split("Checked")[0]


def test_at_verbosity_0_only_errors_are_printed(stripe_mock, payment):
    failing, moving = pending_refund(stripe_mock, payment, minutes=90), pending_refund(stripe_mock, payment)
    stripe_mock.set_refund_status(moving.stripe_refund, "succeeded")
    pending_refund(stripe_mock, payment, minutes=1)  # too recent: reported at -v 1
    stripe_mock.fail_next("retrieve_refund", status=500, times=app_settings.STRIPE_MAX_NETWORK_RETRIES + 1)

    out, err = run("-v", "0")

    moving.refresh_from_db()
    assert moving.status == "succeeded"
    assert out == ""
    assert err.startswith(f"[1/2] {failing.stripe_refund} (refund of ") and err.count("\n") == 1


def test_at_verbosity_2_each_row_says_what_is_stored_what_stripe_says_and_why_unchanged(stripe_mock, payment, user):
    waiting = pending_refund(stripe_mock, payment, "12.34")
    dispute = open_dispute(stripe_mock, paid(stripe_mock, user))

    normal, _ = run("--dry-run")
    detailed, _ = run("--dry-run", "-v", "2")

    assert "Stripe:" not in normal and "why unchanged" not in normal
    assert f"    refund {waiting.pk}: 1234 usd (minor units), pending, last updated 60 min ago" in detailed
    assert "    Stripe: pending, 1234 usd\n" in detailed
    assert "    why unchanged: Stripe says what is stored; a later run looks again" in detailed
    assert f"    dispute {dispute.pk}: 10000 usd (minor units), needs_response, last updated 60 min ago" in detailed
    assert "    Stripe: needs_response, 10000 usd, charge refundable: no" in detailed


def test_the_progress_counts_refunds_and_disputes_with_the_payments(stripe_mock, user):
    for _ in range(10):
        stuck = stale(PaymentFactory(user=user))
        stripe_mock.intents[stuck.stripe_payment_intent] = build_payment_intent(stuck, "processing")
    payment = paid(stripe_mock, user, amount="500.00")
    for _ in range(10):
        pending_refund(stripe_mock, payment)

    out, _ = run("--dry-run")

    progress = [line.split(",")[0] for line in out.splitlines() if line.startswith("reconcile: ")]
    assert progress == [f"reconcile: {n}/20 ({5 * n}%)" for n in range(2, 20, 2)]
    assert "Checked 10 payment(s)" in out and "Checked 10 refund(s)" in out


def test_without_open_refunds_or_disputes_the_output_is_as_before(stripe_mock, user):
    stuck = stale(PaymentFactory(user=user))
    stripe_mock.intents[stuck.stripe_payment_intent] = build_payment_intent(stuck, "succeeded")

    out, _ = run()

    assert out.splitlines()[-1] == "Checked 1 payment(s): changed 1, unchanged 0, errors 0."
    assert "refund" not in out and "dispute" not in out
