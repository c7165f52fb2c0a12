"""``Payment.objects.revenue_by_currency()`` against the hand-written SQL
``SELECT currency, SUM(amount) FROM … WHERE status = 'succeeded' AND succeeded_at IS NOT NULL
GROUP BY currency``, over
1,000,000 payments on PostgreSQL (median of interleaved repetitions, after warm-up).

    python benchmarks/revenue_query.py [--rows 1000000] [--repetitions 9]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from _common import copy_rows, django_on_fresh_database, median, report

TARGET = 1.2
CURRENCIES = [("usd", "19.99"), ("eur", "49.00"), ("inr", "999.00"), ("gbp", "0.30"), ("jpy", "500")]
STATUSES = ["succeeded"] * 6 + ["failed", "canceled", "pending", "processing"]


def seed(rows: int, users: list[int], rng: random.Random) -> int:
    from django_apranova_payments.models import Payment

    start = datetime(2024, 1, 1, tzinfo=UTC)
    columns = ["user", "stripe_payment_intent", "amount", "currency", "status", "stripe_status",
               "metadata", "created_at", "updated_at", "succeeded_at"]
    amounts = [(currency, Decimal(amount)) for currency, amount in CURRENCIES]

    def generate() -> Any:
        for n in range(rows):
            currency, amount = amounts[n % len(amounts)]
            created = start + timedelta(seconds=n * 3)
            status = rng.choice(STATUSES)
            yield {"user": users[n % len(users)], "stripe_payment_intent": f"pi_rev_{n}", "amount": amount,
                   "currency": currency, "status": status, "stripe_status": "succeeded",
                   "metadata": {}, "created_at": created, "updated_at": created,
                   "succeeded_at": created if status == "succeeded" else None}

    return copy_rows(Payment, generate(), columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repetitions", type=int, default=9)
    args = parser.parse_args()

    with django_on_fresh_database("apranova_bench_revenue"):
        from django.contrib.auth import get_user_model
        from django.db import connection

        from django_apranova_payments.models import Payment

        user_model = get_user_model()
        users = user_model._default_manager.bulk_create(
            [user_model(username=f"r{i}", email=f"r{i}@example.com") for i in range(10_000)])
        started = time.perf_counter()
        seed(args.rows, [u.pk for u in users], random.Random(11))  # noqa: S311 - reproducible data
        table = Payment._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}")
        seeded = time.perf_counter() - started
        hand_sql = (f"SELECT currency, SUM(amount) FROM {table} "  # noqa: S608
                    "WHERE status = 'succeeded' AND succeeded_at IS NOT NULL GROUP BY currency")

        def orm() -> dict[str, Decimal]:
            return Payment.objects.revenue_by_currency()

        def hand() -> dict[str, Decimal]:
            with connection.cursor() as cursor:
                cursor.execute(hand_sql)
                return dict(cursor.fetchall())

        assert orm() == hand(), (orm(), hand())
        for _ in range(2):  # warm-up: caches, plans
            orm(), hand()
        times: dict[str, list[float]] = {"orm": [], "hand": []}
        for rep in range(args.repetitions):
            for name, function in ((("orm", orm), ("hand", hand)) if rep % 2 == 0 else (("hand", hand), ("orm", orm))):
                t = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - t)

        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            revenue = orm()
        [orm_sql] = [q["sql"] for q in captured.captured_queries]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {orm_sql}")
            orm_plan = [row[0].strip() for row in cursor.fetchall()]
            cursor.execute(f"EXPLAIN {hand_sql}")
            hand_plan = [row[0].strip() for row in cursor.fetchall()]

    ratio = median(times["orm"]) / median(times["hand"])
    report(f"Revenue per currency over {args.rows:,} payments", [
        f"   seeded by COPY + VACUUM ANALYZE in {seeded:.1f} s; {args.repetitions} interleaved runs each, medians",
        f"   revenue_by_currency():  {median(times['orm']) * 1000:8.1f} ms   runs: "
        + ", ".join(f"{t * 1000:.0f}" for t in times["orm"]),
        f"   hand-written SQL:       {median(times['hand']) * 1000:8.1f} ms   runs: "
        + ", ".join(f"{t * 1000:.0f}" for t in times["hand"]),
        f"   ORM / SQL: {ratio:.2f}x (target <= {TARGET}x: {'met' if ratio <= TARGET else 'MISSED'})",
        "   result: " + ", ".join(f"{c} {v}" for c, v in sorted(revenue.items())),
        f"   ORM SQL: {orm_sql}",
        "   ORM plan:  " + " | ".join(orm_plan),
        "   SQL plan:  " + " | ".join(hand_plan),
    ])


if __name__ == "__main__":
    main()
