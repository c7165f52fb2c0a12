"""List endpoint latency (p50) for a user with 100 payments and for one with 100,000, among
other users' rows, on PostgreSQL. The list is DRF cursor pagination ordered by
``-created_at``, served by the ``(user, -created_at)`` index.

Also measured, for information: a page deep in the big user's list (reached by following
``next``), and the ``?status=`` filter on both users.

    python benchmarks/list_pagination.py [--big 100000] [--others 200000] [--requests 200]
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from _common import copy_rows, django_on_fresh_database, ms, report

TARGET = 1.5
STATUSES = ["succeeded"] * 6 + ["failed", "canceled", "pending", "processing"]


def seed_payments(user_ids: list[int], per_user: int, rng: random.Random, start: datetime) -> int:
    from django_apranova_payments.models import Payment

    columns = ["user", "stripe_payment_intent", "amount", "currency", "status", "stripe_status",
               "metadata", "created_at", "updated_at"]
    serial = itertools.count()

    def rows() -> Any:
        for user_id in user_ids:
            for i in range(per_user):
                n = next(serial)
                created = start + timedelta(seconds=i * 37 + rng.randrange(30))
                yield {"user": user_id, "stripe_payment_intent": f"pi_bench_{user_id}_{n}",
                       "amount": Decimal("19.99"), "currency": "usd", "status": rng.choice(STATUSES),
                       "stripe_status": "succeeded", "metadata": {}, "created_at": created, "updated_at": created}

    return copy_rows(Payment, rows(), columns)


def latencies(client: Any, url: str, count: int, params: dict[str, str] | None = None) -> list[float]:
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, params or {})
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:200]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=200_000, help="rows of 2,000 other users")
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement")
    parser.add_argument("--deep-page", type=int, default=100, help="page number of the deep-page measurement")
    args = parser.parse_args()
    rng = random.Random(7)  # noqa: S311 - reproducible data, not a secret

    with django_on_fresh_database("apranova_bench_list"):
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.urls import reverse
        from rest_framework.test import APIClient

        from django_apranova_payments.models import Payment

        user_model = get_user_model()
        users = user_model._default_manager.bulk_create(
            [user_model(username=f"u{i}", email=f"u{i}@example.com") for i in range(2002)])
        small, big, others = users[0], users[1], users[2:]
        start = datetime(2024, 1, 1, tzinfo=UTC)
        started = time.perf_counter()
        seed_payments([o.pk for o in others], args.others // len(others), rng, start)
        seed_payments([small.pk], args.small, rng, start)
        seed_payments([big.pk], args.big, rng, start)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {Payment._meta.db_table}")
        seeded = time.perf_counter() - started
        total = Payment.objects.count()

        url = reverse("apranova_payments:payment-list")
        clients = {}
        for name, user in (("small", small), ("big", big)):
            clients[name] = APIClient()
            clients[name].force_authenticate(user)
            latencies(clients[name], url, 20)  # warm-up
        # Alternate in blocks so both see the same machine load.
        measured: dict[str, list[float]] = {"small": [], "big": []}
        for _ in range(4):
            for name in ("small", "big"):
                measured[name] += latencies(clients[name], url, args.requests // 4)
        by_status = {name: latencies(clients[name], url, args.requests // 2, {"status": "failed"})
                     for name in ("small", "big")}

        next_url = url
        for _ in range(args.deep_page - 1):
            next_url = clients["big"].get(next_url).json()["next"]
        deep = latencies(clients["big"], next_url, args.requests // 2)

        with connection.cursor() as cursor:
            queryset = Payment.objects.filter(user_id=big.pk).order_by("-created_at")[:21]
            sql, params = queryset.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = [row[0] for row in cursor.fetchall()]
            filtered = Payment.objects.filter(user_id=big.pk, status="failed").order_by("-created_at")[:21]
            sql, params = filtered.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            filtered_plan = [row[0] for row in cursor.fetchall()]

    ratio = ms(measured["big"]) / ms(measured["small"])
    report("List pagination: GET the payment list (first page, 20 rows)", [
        f"   {total:,} payments in the table ({args.others:,} of 2,000 other users), seeded by COPY in {seeded:.1f} s",
        f"   user with {args.small:,} payments:   p50 {ms(measured['small']):6.2f} ms   p99 "
        f"{ms(measured['small'], 99):6.2f} ms   ({len(measured['small'])} requests)",
        f"   user with {args.big:,} payments: p50 {ms(measured['big']):6.2f} ms   p99 "
        f"{ms(measured['big'], 99):6.2f} ms   ({len(measured['big'])} requests)",
        f"   big / small p50: {ratio:.2f}x (target <= {TARGET}x: {'met' if ratio <= TARGET else 'MISSED'})",
        f"   big user, page {args.deep_page} (cursor): p50 {ms(deep):6.2f} ms",
        f"   ?status=failed: small p50 {ms(by_status['small']):6.2f} ms, big p50 {ms(by_status['big']):6.2f} ms",
        "   plan, first page:  " + " | ".join(line.strip() for line in plan),
        "   plan, ?status=:    " + " | ".join(line.strip() for line in filtered_plan),
    ])


if __name__ == "__main__":
    main()
