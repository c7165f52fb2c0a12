"""Receipt numbers: one gap-free sequence per installation, never reused.

A payment is numbered in the transaction that makes it succeed, while its row is locked:
the sequence's row is locked next (always in that order, so two paths never wait on each
other), its ``last`` raised by one and the number stored on the payment. A rollback returns
the number with everything else, so no number is skipped, and the unique column refuses a
number given twice. Receipts are on when ``SELLER`` is set; a payment that succeeded
before that is numbered when its receipt is first asked for (``ensure_number``).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction

from .conf import Seller, app_settings
from .models import Payment, PaymentStatus, ReceiptSequence

logger = logging.getLogger(__name__)

#: The one sequence receipts are numbered from.
SEQUENCE = "receipts"


def seller() -> Seller | None:
    """``SELLER`` as configured, or ``None`` when it is not set or cannot be read (``manage.py
    check`` says why, E011): a typo there never stops a payment from succeeding."""
    try:
        value: Seller | None = app_settings.SELLER
    except ImproperlyConfigured as exc:
        logger.error("No receipt number given: %s", exc)
        return None
    return value


def next_number() -> int:
    """The next receipt number, taken under the sequence row's lock for the rest of the
    caller's transaction: one statement, ``UPDATE … SET last = last + 1 … RETURNING last``
    (PostgreSQL, and SQLite since 3.35); the first receipt ever makes the row."""
    with transaction.atomic(savepoint=False):
        number = _increment()
        if number is None:
            ReceiptSequence.objects.get_or_create(name=SEQUENCE)  # the first receipt (a savepoint)
            number = _increment()
        assert number is not None
        return number


def _increment() -> int | None:
    connection = connections[router.db_for_write(ReceiptSequence)]
    quote = connection.ops.quote_name
    meta = ReceiptSequence._meta
    last, name = (quote(meta.get_field(field).column) for field in ("last", "name"))
    # Only quoted identifiers are formatted in; the value is a parameter.
    sql = f"UPDATE {quote(meta.db_table)} SET {last} = {last} + 1 WHERE {name} = %s RETURNING {last}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [SEQUENCE])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def number_if_due(payment: Payment) -> int | None:
    """The number a payment that is succeeding now takes (``None`` when receipts are off or it
    has one): called by the status machine with the payment's row locked."""
    if payment.receipt_number is not None or seller() is None:
        return None
    return next_number()


def ensure_number(payment: Payment) -> Payment:
    """``payment`` (succeeded) with its receipt number, numbering it now, under its row lock,
    when it succeeded before ``SELLER`` was set."""
    if payment.receipt_number is not None or payment.status != PaymentStatus.SUCCEEDED:
        return payment
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        number = number_if_due(locked)
        if number is not None:
            locked.receipt_number = number
            locked.save(update_fields=["receipt_number", "updated_at"])
    return locked
