"""``Payment.objects.analytics()`` (the report of ``GET analytics/``) against the same four
statements written by hand, on PostgreSQL, over 1,000,000 payments; and the same 30-day report
on a table of 100,000 payments and of 1,000,000 (it should not grow with the table).

Payments are created one a minute (1,440 a day, 5 currencies, 70% succeeded, 15% failed with
a decline code, 5% refunded in part, 1 in 1,000 disputed, 1 in 5 with a coupon's discount, 1 in 3
with tax),
in chronological order, loaded by
COPY and ``VACUUM ANALYZE``d. A succeeded payment succeeds 6 hours after it was created (so
some on the next day), a refund is made 2 days after the payment succeeded. The host's time
zone is Asia/Kolkata (UTC+05:30), so every figure goes through the time-zone conversion.
Medians of interleaved repetitions, after warm-up; the plans are ``EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)``.

    python benchmarks/analytics_query.py [--rows 1000000] [--first 100000] [--repetitions 15]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from _common import copy_rows, django_on_fresh_database, median, report

TARGET = 1.3
FLAT_TARGET = 1.3
TIME_ZONE = "Asia/Kolkata"
START = datetime(2024, 1, 1, tzinfo=UTC)
CURRENCIES = [("usd", "19.99"), ("eur", "49.00"), ("inr", "999.00"), ("gbp", "0.30"), ("jpy", "500")]
STATUSES = ["succeeded"] * 70 + ["failed"] * 15 + ["canceled"] * 5 + ["pending"] * 6 + ["processing"] * 4
CODES = ["card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "processing_error"]


def seed(first: int, count: int, users: list[int], rng: random.Random) -> int:
    """Payments ``first`` to ``first + count - 1``, payment n created n minutes after START."""
    from django_apranova_payments.models import Payment

    columns = ["user", "stripe_payment_intent", "amount", "currency", "status", "stripe_status", "failure_code",
               "amount_refunded", "discount", "amount_tax", "metadata", "created_at", "updated_at", "succeeded_at"]
    amounts = [(currency, Decimal(amount)) for currency, amount in CURRENCIES]

    def generate() -> Any:
        for n in range(first, first + count):
            currency, amount = amounts[n % len(amounts)]
            status = rng.choice(STATUSES)
            refunded = (amount / 2).quantize(Decimal("0.01")) if status == "succeeded" and rng.random() < 0.05 else 0
            created = START + timedelta(minutes=n)
            discount = (amount / 4).quantize(Decimal("0.01")) if n % 5 == 0 else Decimal(0)
            tax = (amount / 10).quantize(Decimal("0.01")) if n % 3 == 0 else Decimal(0)
            yield {"user": users[n % len(users)], "stripe_payment_intent": f"pi_an_{n}", "amount": amount,
                   "currency": currency, "status": status, "stripe_status": status,
                   "failure_code": rng.choice(CODES) if status == "failed" else "",
                   "amount_refunded": Decimal(refunded), "discount": discount, "amount_tax": tax, "metadata": {},
                   "created_at": created,
                   "updated_at": created,
                   "succeeded_at": created + timedelta(hours=6) if status == "succeeded" else None}

    return copy_rows(Payment, generate(), columns)


def dispute_every_thousandth(payment_table: str, dispute_table: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {dispute_table} (payment_id, stripe_dispute, amount, currency, reason, status, "  # noqa: S608
            "is_charge_refundable, created_at, updated_at) "
            f"SELECT p.id, 'dp_' || p.id, p.amount, p.currency, 'fraudulent', 'needs_response', false, "
            f"p.created_at, p.created_at FROM {payment_table} p "
            f"WHERE p.id % 1000 = 7 AND p.status = 'succeeded' "
            f"AND NOT EXISTS (SELECT 1 FROM {dispute_table} d WHERE d.payment_id = p.id)"
        )


def refund_the_refunded(payment_table: str, refund_table: str) -> None:
    """A succeeded refund of each payment's ``amount_refunded``, 2 days after it succeeded."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {refund_table} (payment_id, stripe_refund, amount, currency, status, reason, "  # noqa: S608
            "failure_reason, metadata, request_fingerprint, created_at, updated_at) "
            "SELECT p.id, 're_' || p.id, p.amount_refunded, p.currency, 'succeeded', '', '', '{}', '', "
            "p.succeeded_at + interval '2 days', p.succeeded_at + interval '2 days' "
            f"FROM {payment_table} p WHERE p.amount_refunded > 0 "
            f"AND NOT EXISTS (SELECT 1 FROM {refund_table} r WHERE r.payment_id = p.id)"
        )


def vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def hand_statements(payment_table: str, dispute_table: str, refund_table: str, interval: str) -> list[str]:
    """What the report needs, as one would write it by hand."""
    where = "created_at >= %s AND created_at < %s"
    return [
        f"SELECT date_trunc('{interval}', created_at AT TIME ZONE '{TIME_ZONE}')::date, currency, status, "  # noqa: S608
        f"count(*) FROM {payment_table} WHERE {where} GROUP BY 1, 2, 3",
        f"SELECT date_trunc('{interval}', succeeded_at AT TIME ZONE '{TIME_ZONE}')::date, currency, "  # noqa: S608
        f"sum(amount), 0, sum(discount), sum(amount_tax), count(*) FROM {payment_table} "
        "WHERE status = 'succeeded' AND succeeded_at >= %s AND succeeded_at < %s GROUP BY 1, 2 UNION ALL "
        f"SELECT date_trunc('{interval}', r.created_at AT TIME ZONE '{TIME_ZONE}')::date, p.currency, 0, "
        f"sum(r.amount), 0, 0, 0 FROM {refund_table} r JOIN {payment_table} p ON p.id = r.payment_id "
        "WHERE r.status = 'succeeded' AND r.created_at >= %s AND r.created_at < %s GROUP BY 1, 2",
        f"SELECT currency, count(*) FROM {payment_table} p WHERE {where} "  # noqa: S608
        f"AND EXISTS (SELECT 1 FROM {dispute_table} d WHERE d.payment_id = p.id) GROUP BY currency",
        f"SELECT failure_code, count(*) FROM {payment_table} WHERE {where} AND status = 'failed' "  # noqa: S608
        "GROUP BY failure_code",
    ]


class Case:
    """One report (a range and an interval): the ORM's and the hand-written statements."""

    def __init__(self, name: str, date_from: date, date_to: date, interval: str) -> None:
        from django_apranova_payments.analytics import ReportRange
        from django_apranova_payments.models import Dispute, Payment, Refund

        self.name, self.date_from, self.date_to, self.interval = name, date_from, date_to, interval
        self.bounds = ReportRange(date_from, date_to, interval).bounds()
        tables = (Payment._meta.db_table, Dispute._meta.db_table, Refund._meta.db_table)
        self.statements = hand_statements(*tables, interval)

    def orm(self) -> Any:
        from django_apranova_payments.models import Payment

        return Payment.objects.analytics(self.date_from, self.date_to, self.interval)

    def hand(self) -> list[list[tuple[Any, ...]]]:
        from django.db import connection

        results = []
        with connection.cursor() as cursor:
            for sql in self.statements:
                cursor.execute(sql, self.bounds * sql.count("UNION ALL") + self.bounds)
                results.append(cursor.fetchall())
        return results

    def check(self) -> None:
        """Both give the same figures."""
        found = self.orm()
        [grouped, moved, disputed, codes] = self.hand()
        payments: dict[str, int] = {}
        gross: dict[str, Decimal] = {}
        refunded: dict[str, Decimal] = {}
        discounts: dict[str, Decimal] = {}
        tax: dict[str, Decimal] = {}
        for _period, currency, _status, count in grouped:
            payments[currency] = payments.get(currency, 0) + count
        for _period, currency, amount, back, off, taxed, _count in moved:
            gross[currency] = gross.get(currency, Decimal(0)) + amount
            refunded[currency] = refunded.get(currency, Decimal(0)) + back
            discounts[currency] = discounts.get(currency, Decimal(0)) + off
            tax[currency] = tax.get(currency, Decimal(0)) + taxed
        assert {c: f.payments for c, f in found.currencies.items() if f.payments} == payments, (found.currencies,)
        assert {c: f.gross for c, f in found.currencies.items() if c in gross} == gross
        assert {c: f.refunded for c, f in found.currencies.items() if c in refunded} == refunded
        assert {c: f.discounts for c, f in found.currencies.items() if c in discounts} == discounts
        assert {c: f.tax for c, f in found.currencies.items() if c in tax} == tax
        assert {c: f.disputed for c, f in found.currencies.items() if f.disputed} == dict(disputed)
        assert sorted((f.code or "", f.count) for f in found.failure_codes) == sorted(codes)

    def measure(self, repetitions: int) -> dict[str, list[float]]:
        functions: dict[str, Callable[[], Any]] = {"orm": self.orm, "hand": self.hand}
        for _ in range(2):  # warm-up: caches, plans
            self.orm(), self.hand()
        times: dict[str, list[float]] = {"orm": [], "hand": []}
        for rep in range(repetitions):
            for name in ("orm", "hand") if rep % 2 == 0 else ("hand", "orm"):
                started = time.perf_counter()
                functions[name]()
                times[name].append(time.perf_counter() - started)
        return times

    def plans(self) -> list[tuple[str, list[str]]]:
        """Each statement the ORM sends, with its plan."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            self.orm()
        plans = []
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {query['sql']}")
                plans.append((query["sql"], [row[0] for row in cursor.fetchall()]))
            for sql in self.statements:
                cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}",
                               self.bounds * sql.count("UNION ALL") + self.bounds)
                plans.append((f"(by hand) {sql}", [row[0] for row in cursor.fetchall()]))
        return plans


def line(name: str, times: dict[str, list[float]]) -> list[str]:
    ratio = median(times["orm"]) / median(times["hand"])
    fastest = min(times["orm"]) / min(times["hand"])
    return [
        f"   {name}",
        f"      analytics():       {median(times['orm']) * 1000:8.1f} ms (fastest {min(times['orm']) * 1000:.1f})"
        "   runs: " + ", ".join(f"{t * 1000:.0f}" for t in times["orm"]),
        f"      hand-written SQL:  {median(times['hand']) * 1000:8.1f} ms (fastest {min(times['hand']) * 1000:.1f})"
        "   runs: " + ", ".join(f"{t * 1000:.0f}" for t in times["hand"]),
        f"      ORM / SQL: {ratio:.2f}x of the medians, {fastest:.2f}x of the fastest runs "
        f"(target <= {TARGET}x: {'met' if ratio <= TARGET else 'MISSED'})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--first", type=int, default=100_000, help="rows of the small table")
    parser.add_argument("--repetitions", type=int, default=15)
    args = parser.parse_args()
    out: list[str] = []

    with django_on_fresh_database("apranova_bench_analytics"):
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test.utils import override_settings

        from django_apranova_payments.analytics import add_months
        from django_apranova_payments.models import Dispute, Payment, Refund

        tables = (Payment._meta.db_table, Dispute._meta.db_table, Refund._meta.db_table)
        user_model = get_user_model()
        users = [u.pk for u in user_model._default_manager.bulk_create(
            [user_model(username=f"a{i}", email=f"a{i}@example.com") for i in range(10_000)])]
        rng = random.Random(13)  # noqa: S311 - reproducible data
        with override_settings(TIME_ZONE=TIME_ZONE):
            started = time.perf_counter()
            seed(0, args.first, users, rng)
            dispute_every_thousandth(*tables[:2])
            refund_the_refunded(tables[0], tables[2])
            vacuum(*tables)
            out.append(f"   {args.first:,} payments seeded by COPY + VACUUM ANALYZE in "
                       f"{time.perf_counter() - started:.1f} s")
            last_small = (START + timedelta(minutes=args.first - 1)).astimezone(_tz()).date() - timedelta(days=1)
            small = Case(f"30 days by day, table of {args.first:,}", last_small - timedelta(days=29), last_small, "day")
            small.check()
            small_times = small.measure(args.repetitions)

            started = time.perf_counter()
            seed(args.first, args.rows - args.first, users, rng)
            dispute_every_thousandth(*tables[:2])
            refund_the_refunded(tables[0], tables[2])
            vacuum(*tables)
            out.append(f"   {args.rows - args.first:,} more seeded by COPY + VACUUM ANALYZE in "
                       f"{time.perf_counter() - started:.1f} s; {Dispute.objects.count():,} disputes, "
                       f"{Refund.objects.count():,} refunds")
            last = (START + timedelta(minutes=args.rows - 1)).astimezone(_tz()).date() - timedelta(days=1)
            cases = [
                Case(f"30 days by day, table of {args.rows:,} (the newest 30 days)", last - timedelta(days=29), last,
                     "day"),
                Case(f"30 days by day, table of {args.rows:,} (the same 30 days as on the small table)",
                     small.date_from, small.date_to, "day"),
                Case(f"12 months by month, table of {args.rows:,}", add_months(last, -11), last, "month"),
            ]
            results = []
            for case in cases:
                case.check()
                results.append(case.measure(args.repetitions))
            plans = cases[0].plans()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_relation_size('apranova_pay_created_figs_idx'), "
                               "pg_relation_size('apranova_pay_paid_tax_figs_idx'), "
                               "pg_relation_size('apranova_ref_created_figs_idx'), "
                               "pg_relation_size(%s), pg_indexes_size(%s)", [tables[0], tables[0]])
                index_size, paid_size, refund_size, table_size, all_indexes = cursor.fetchone()
            mib = 2**20
            out.append(f"   apranova_pay_created_figs_idx: {index_size / mib:.0f} MiB, apranova_pay_paid_tax_figs_idx: "
                       f"{paid_size / mib:.0f} MiB, apranova_ref_created_figs_idx: {refund_size / mib:.1f} MiB "
                       f"(the table {table_size / mib:.0f} MiB, all its indexes {all_indexes / mib:.0f} MiB)")
            rows_in = {case.name: case.orm().currencies for case in (small, *cases)}

    out += line(small.name, small_times)
    for case, times in zip(cases, results, strict=True):
        out += line(case.name, times)
    flat = median(results[0]["orm"]) / median(small_times["orm"])
    flat_fastest = min(results[0]["orm"]) / min(small_times["orm"])
    out.append(f"   30 days on {args.rows:,} / on {args.first:,}: {flat:.2f}x of the medians, {flat_fastest:.2f}x of "
               f"the fastest runs (target <= {FLAT_TARGET}x: {'met' if flat <= FLAT_TARGET else 'MISSED'})")
    for name, currencies in rows_in.items():
        out.append(f"   payments counted, {name}: {sum(f.payments for f in currencies.values()):,}")
    for sql, plan in plans:
        out.append(f"   SQL: {sql}")
        out += [f"      {row}" for row in plan]
    report(f"Analytics report over {args.rows:,} payments ({TIME_ZONE})", out)


def _tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(TIME_ZONE)


if __name__ == "__main__":
    main()
