"""Gap-free receipt numbers under concurrency, on PostgreSQL and real threads: many payments
succeed at once through the real transition paths (a succeeded PaymentIntent, a free payment),
some of their transactions roll back on purpose (a ``payment_succeeded`` receiver raises), and
the numbers given are exactly 1..N, none skipped, none twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from django_apranova_payments import signals, transitions
from django_apranova_payments.models import Payment, ReceiptSequence
from django_apranova_payments.stripe_data import PaymentIntentData
from tests.factories import PaymentFactory, UserFactory

from .conftest import SELLER, with_settings

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PAYMENTS = 40
THREADS = 8


class Refused(Exception):
    pass


def succeed(pk: int) -> None:
    """One payment succeeds in a transaction of its own: every fourth through ``complete_free``,
    the others as Stripe's succeeded PaymentIntent through ``apply_intent``."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=pk)
        if pk % 4 == 0:
            transitions.complete_free(payment)
        else:
            intent = PaymentIntentData(id=payment.stripe_payment_intent, status="succeeded",
                                       amount=payment.amount_minor, currency=payment.currency)
            transitions.apply_intent(payment, intent, locked=True)


def run_all(pks: list[int]) -> list[int]:
    """``succeed`` each payment, all started together on ``THREADS`` threads; the pks refused."""
    start = threading.Barrier(THREADS, timeout=30)
    refused: list[int] = []
    lock = threading.Lock()
    chunks = [pks[i::THREADS] for i in range(THREADS)]

    def worker(chunk: list[int]) -> None:
        try:
            start.wait()
            for pk in chunk:
                try:
                    succeed(pk)
                except Refused:
                    with lock:
                        refused.append(pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(worker, chunk) for chunk in chunks]:
            future.result()
    return refused


def test_numbers_are_gap_free_and_unique_when_many_succeed_at_once_and_some_roll_back():
    user = UserFactory()
    pks = [PaymentFactory(user=user, amount=Decimal("19.99"), currency="eur").pk for _ in range(PAYMENTS)]
    doomed = set(pks[1::5])  # one in five rolls back

    def enrollment(sender: Any, payment: Payment, **kwargs: Any) -> None:
        if payment.pk in doomed:
            raise Refused(payment.pk)

    signals.payment_succeeded.connect(enrollment, dispatch_uid="receipt-concurrency")
    try:
        with with_settings(SELLER=SELLER):
            refused = run_all(pks)
    finally:
        signals.payment_succeeded.disconnect(dispatch_uid="receipt-concurrency")

    assert set(refused) == doomed
    kept = PAYMENTS - len(doomed)
    numbers = sorted(Payment.objects.filter(status="succeeded").values_list("receipt_number", flat=True))
    assert numbers == list(range(1, kept + 1))
    assert not Payment.objects.filter(pk__in=doomed).exclude(status="pending").exists()
    assert not Payment.objects.filter(pk__in=doomed, receipt_number__isnull=False).exists()
    assert ReceiptSequence.objects.get().last == kept

    # The refused ones succeed later, at once again: they take the next numbers, still no gap.
    with with_settings(SELLER=SELLER):
        assert run_all(sorted(doomed)) == []
    numbers = sorted(Payment.objects.values_list("receipt_number", flat=True))
    assert numbers == list(range(1, PAYMENTS + 1))
    assert ReceiptSequence.objects.get().last == PAYMENTS
