"""What the analytics index (``apranova_pay_created_figs_idx``, migration 0006) costs the
writes the webhook makes: a payment's status update and a refund's ``amount_refunded`` update,
each in autocommit, on 100,000 payments in PostgreSQL. Timed with the index, without it
(dropped), and with it again (recreated), each on payments not touched before.

    python benchmarks/analytics_index_cost.py [--rows 100000] [--updates 4000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from _common import copy_rows, django_on_fresh_database, report

INDEX = "apranova_pay_created_figs_idx"
COLUMNS = "(created_at, currency, status, amount, amount_refunded, failure_code)"


def seed(rows: int, users: list[int]) -> None:
    from django_apranova_payments.models import Payment

    start = datetime(2025, 1, 1, tzinfo=UTC)

    def generate() -> Any:
        for n in range(rows):
            created = start + timedelta(minutes=n)
            yield {"user": users[n % len(users)], "stripe_payment_intent": f"pi_ic_{n}", "amount": Decimal("19.99"),
                   "currency": "usd", "status": "pending", "stripe_status": "requires_payment_method",
                   "metadata": {}, "created_at": created, "updated_at": created}

    copy_rows(Payment, generate(), ["user", "stripe_payment_intent", "amount", "currency", "status",
                                    "stripe_status", "metadata", "created_at", "updated_at"])


def updates(table: str, ids: list[int]) -> list[float]:
    """Per payment: the status update and the refund update a webhook would make."""
    from django.db import connection

    seconds = []
    with connection.cursor() as cursor:
        for pk in ids:
            started = time.perf_counter()
            cursor.execute(f"UPDATE {table} SET status = 'succeeded', stripe_status = 'succeeded', "  # noqa: S608
                           "updated_at = now(), succeeded_at = now() WHERE id = %s", [pk])
            cursor.execute(f"UPDATE {table} SET amount_refunded = 1.00, updated_at = now() WHERE id = %s",  # noqa: S608
                           [pk])
            seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=4000)
    args = parser.parse_args()

    with django_on_fresh_database("apranova_bench_index_cost"):
        from django.contrib.auth import get_user_model
        from django.db import connection

        from django_apranova_payments.models import Payment

        user_model = get_user_model()
        users = [u.pk for u in user_model._default_manager.bulk_create(
            [user_model(username=f"c{i}", email=f"c{i}@example.com") for i in range(1000)])]
        seed(args.rows, users)
        table = Payment._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}")
        ids = list(Payment.objects.values_list("pk", flat=True))
        random.Random(5).shuffle(ids)  # noqa: S311 - reproducible
        n = args.updates
        results = {"with the index": updates(table, ids[:n])}
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX {INDEX}")
        results["without it"] = updates(table, ids[n:2 * n])
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {INDEX} ON {table} {COLUMNS}")
        results["with it again"] = updates(table, ids[2 * n:3 * n])

    report(f"What {INDEX} costs a payment's updates ({args.rows:,} payments)", [
        f"   {name:15s} median {statistics.median(times) * 1e6:6.0f} us, mean {statistics.mean(times) * 1e6:6.0f} us"
        f" per payment (a status update and an amount_refunded update, autocommit; {len(times):,} payments)"
        for name, times in results.items()
    ])


if __name__ == "__main__":
    main()
