"""``apranova_reconcile`` applies a refund under the payment's row lock, on PostgreSQL with a
second connection holding that lock and real threads: a refund applied meanwhile by a webhook
is counted, never overwritten."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from django_apranova_payments import services
from django_apranova_payments.gateway import RefundData
from django_apranova_payments.models import Payment, Refund
from django_apranova_payments.refunds import apply_refund
from django_apranova_payments.testing import build_payment_intent
from tests.factories import PaymentFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def pending(stripe_mock: Any, payment: Payment, amount: str) -> Refund:
    stripe_mock.refund_status = "pending"
    try:
        return services.refund_payment(payment, Decimal(amount)).refund
    finally:
        stripe_mock.refund_status = "succeeded"


def waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def test_reconcile_waits_for_the_payments_row_lock_and_counts_the_refund_applied_meanwhile(stripe_mock):
    """A webhook's transaction holds the payment's lock while it applies refund A (60.00).
    Reconcile read the payment before (nothing refunded yet) and now applies refund B (40.00):
    it must wait for the lock and count A, ending at 100.00, not write its stale 40.00 over it."""
    payment = PaymentFactory(user=UserFactory(), status="succeeded", stripe_status="succeeded",
                             amount=Decimal("100.00"))
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    first, second = pending(stripe_mock, payment, "60.00"), pending(stripe_mock, payment, "40.00")
    Refund.objects.filter(pk=second.pk).update(updated_at=timezone.now() - timedelta(hours=1))  # only B is due
    for refund in (first, second):
        stripe_mock.set_refund_status(refund.stripe_refund, "succeeded")
    first_succeeded = RefundData.from_dict(stripe_mock.refunds[first.stripe_refund])

    holding, reconcile_pid = threading.Event(), []
    errors: list[BaseException] = []

    def webhook() -> None:
        try:
            with transaction.atomic():
                apply_refund(Payment.objects.get(pk=payment.pk), first_succeeded)  # takes the lock
                holding.set()
                deadline = time.monotonic() + 10
                while not (reconcile_pid and waits_on_a_lock(reconcile_pid[0])):
                    assert time.monotonic() < deadline, "reconcile never waited for the payment's lock"
                    time.sleep(0.02)
        except BaseException as exc:
            errors.append(exc)
            holding.set()
        finally:
            connection.close()

    def reconcile() -> None:
        try:
            holding.wait(10)
            connection.ensure_connection()
            reconcile_pid.append(connection.connection.info.backend_pid)
            call_command("apranova_reconcile", "--older-than", "30", stdout=StringIO(), stderr=StringIO())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=webhook), threading.Thread(target=reconcile)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not errors, errors
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("100.00")
    assert set(Refund.objects.values_list("status", flat=True)) == {"succeeded"}
