"""Receivers that count each package signal in ``SignalTally`` rows, one row per signal and
subject, so a test can check every payment and every event on its own:

* ``received:<event id>`` — ``webhook_event_received``
* ``changed:<pi>:<old>><new>`` — ``payment_status_changed``
* ``payment_<status>:<pi>`` — ``payment_processing`` / ``_succeeded`` / ``_failed`` / ``_canceled``
  (and ``payment_refunded``, ``refund_failed``, ``payment_disputed``, ``dispute_closed``)
* ``created:<pi>`` — ``payment_created``

The count is an ``INSERT … ON CONFLICT DO UPDATE`` on the signal's own connection, so it
commits or rolls back with the transaction that sent the signal.

A payment whose metadata has ``BLOCK_KEY`` makes its ``payment_succeeded`` receiver wait on
a PostgreSQL advisory lock the test holds, after the counts are written: the test can kill
the worker in the middle of the transaction. The waiting query names the worker's pid.
"""

from __future__ import annotations

import os
from typing import Any

from django.db import connection
from django.dispatch import Signal

from django_apranova_payments import signals
from tests.testapp.models import SignalTally

BLOCK_KEY = "loadtest_block"
ADVISORY_LOCK_KEY = 4_206_931  # per database, and every load test has its own database
WAITING_MARK = "apranova-load worker="

SPECIFIC = {
    "payment_processing": signals.payment_processing,
    "payment_succeeded": signals.payment_succeeded,
    "payment_failed": signals.payment_failed,
    "payment_canceled": signals.payment_canceled,
    "payment_refunded": signals.payment_refunded,
    "refund_failed": signals.refund_failed,
    "payment_disputed": signals.payment_disputed,
    "dispute_closed": signals.dispute_closed,
}


def received_key(event_id: str) -> str:
    return f"received:{event_id}"


def changed_key(payment_intent: str, old: str, new: str) -> str:
    return f"changed:{payment_intent}:{old}>{new}"


def specific_key(signal_name: str, payment_intent: str) -> str:
    return f"{signal_name}:{payment_intent}"


def created_key(payment_intent: str) -> str:
    return f"created:{payment_intent}"


def bump(name: str) -> None:
    table = connection.ops.quote_name(SignalTally._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, count) VALUES (%s, 1) "  # noqa: S608 - quoted table name
            f"ON CONFLICT (name) DO UPDATE SET count = {table}.count + 1",
            [name],
        )


def on_received(sender: Any, event: Any, **kwargs: Any) -> None:
    bump(received_key(event["id"]))


def on_changed(sender: Any, payment: Any, old_status: str, new_status: str, **kwargs: Any) -> None:
    bump(changed_key(payment.stripe_payment_intent, old_status, new_status))


def on_created(sender: Any, payment: Any, **kwargs: Any) -> None:
    bump(created_key(payment.stripe_payment_intent))


def specific_receiver(name: str) -> Any:
    def receiver(sender: Any, payment: Any, **kwargs: Any) -> None:
        bump(specific_key(name, payment.stripe_payment_intent))
        if name == "payment_succeeded" and payment.metadata.get(BLOCK_KEY):
            wait_for_the_test()

    return receiver


def wait_for_the_test() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pg_advisory_xact_lock(%s) /* {WAITING_MARK}{os.getpid()} */",
            [ADVISORY_LOCK_KEY],
        )


def connect() -> None:
    pairs: list[tuple[Signal, Any]] = [
        (signals.webhook_event_received, on_received),
        (signals.payment_status_changed, on_changed),
        (signals.payment_created, on_created),
        *((signal, specific_receiver(name)) for name, signal in SPECIFIC.items()),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, weak=False, dispatch_uid=f"load-tally-{id(signal)}")
