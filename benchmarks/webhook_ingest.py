"""Webhook ingest under gunicorn and PostgreSQL: events per second, p50 and p99, for the
package's webhook and for a floor (``benchmarks/floor.py``: verify the signature, update one
row), in the same run, on the same server, with the same workers and client concurrency.

Each run delivers ``--events`` new ``payment_intent.succeeded`` events, one per pending
payment, from ``--concurrency`` client threads on loopback. After a warm-up run of each,
the runs alternate (ours, floor, floor, ours, ...) ``--repetitions`` times; the medians
are compared. A last set of runs re-sends events ours has already processed (duplicates).

``--mode task`` measures ``WEBHOOK_PROCESSING = "task"`` on a real engine (``--engine db``:
``django-tasks-db``, its queue in the same PostgreSQL; ``--engine celery``: Celery on the
machine's RabbitMQ): the ingest runs store and enqueue (no worker runs meanwhile, so the two
do not share the 2 cores), then ``--drain-workers`` worker processes apply everything
enqueued, timed until no event is left ``received`` (events/s, and the workers' CPU per
event; their PostgreSQL backends come and go with the workers' connections, so the
database's share is not measured there).

    python benchmarks/webhook_ingest.py [--events 2000] [--repetitions 5] [--workers 4]
                                        [--threads 1] [--concurrency 8]
                                        [--mode inline|task] [--engine db|celery] [--drain-workers 2]
                                        [--prepared]

``--prepared`` runs every process (gunicorn, the workers) with psycopg's server-side binding
and prepared statements, as a host enables them in ``DATABASES["default"]["OPTIONS"]``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import median, report
from tests.load.engines import Workers
from tests.load.loadgen import deliver, summary
from tests.load.server import DB_NAME_ENV, ServerUnderTest, connect

OURS, FLOOR = "/billing/v1/webhook/", "/floor/webhook/"
#: Throughput targets against the floor (issue 12): inline, and task mode with the enqueue.
TARGETS = {"inline": 0.65, "task": 0.8}
#: Seconds the drain's baseline workers start and idle for.
IDLE_SECONDS = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def seed(count: int) -> list[Any]:
    from django.contrib.auth import get_user_model

    from django_apranova_payments.models import Payment

    user_model = get_user_model()
    users = user_model._default_manager.bulk_create([
        user_model(username=f"bench-{i}", email=f"bench-{i}@example.com") for i in range(100)])
    payments = [
        Payment(user=users[i % len(users)], stripe_payment_intent=f"pi_{secrets.token_hex(12)}",
                amount=Decimal("19.99"), currency="usd", stripe_status="requires_payment_method")
        for i in range(count)
    ]
    return Payment.objects.bulk_create(payments, batch_size=2000)


def bodies_for(payments: list[Any]) -> list[bytes]:
    from django_apranova_payments.testing import build_event

    return [json.dumps(build_event(p, "payment_intent.succeeded")).encode() for p in payments]


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuMeter:
    """CPU time used by the gunicorn workers and by the PostgreSQL backends serving them:
    less sensitive than wall time to what else the machine is running."""

    def __init__(self, server: ServerUnderTest) -> None:
        self.server = server
        self.conn = connect(server.db_name, autocommit=True)

    def snapshot(self) -> tuple[dict[int, float], dict[int, float]]:
        backends = [pid for (pid,) in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()").fetchall()]
        return ({pid: cpu_seconds(pid) for pid in self.server.worker_pids()},
                {pid: cpu_seconds(pid) for pid in backends})

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(max(0.0, seconds - before.get(pid, 0.0)) for pid, seconds in after.items())


def run(server: ServerUnderTest, meter: CpuMeter, path: str, bodies: list[bytes], concurrency: int,
        expect_outcome: str | None) -> dict[str, float]:
    from django_apranova_payments.testing import sign_payload

    app_before, db_before = meter.snapshot()
    started = time.perf_counter()
    results = deliver(server.url + path, bodies, sign=sign_payload, concurrency=concurrency, deadline=900)
    elapsed = time.perf_counter() - started
    app_after, db_after = meter.snapshot()
    bad = [r for r in results if r.status != 200]
    if bad:
        raise SystemExit(f"{len(bad)} deliveries failed, e.g. {bad[0]}")
    if expect_outcome is not None:
        outcomes = {json.loads(r.body)["outcome"] for r in results}
        if outcomes != {expect_outcome}:
            raise SystemExit(f"expected every outcome to be {expect_outcome}, got {outcomes}")
    return {**summary(results, elapsed),
            "app_cpu_ms": CpuMeter.used(app_before, app_after) / len(bodies) * 1000,
            "db_cpu_ms": CpuMeter.used(db_before, db_after) / len(bodies) * 1000}


def drain(server: ServerUnderTest, meter: CpuMeter, engine: str, queue: str, count: int) -> dict[str, float]:
    """Start ``count`` workers on everything enqueued and wait until no event is left
    ``received``. The rate is over the span from the first event they applied to the last
    (``processed_at``), so the workers' start-up is not in it; their CPU time is net of what
    the same workers use to start and idle on an empty queue for as long (measured first)."""
    waiting = "SELECT count(*) FROM apranova_payments_webhookevent WHERE outcome = 'received'"
    [(total,)] = meter.conn.execute(waiting).fetchall()
    idle = Workers(server, engine, f"{queue}_idle", count, settings="benchmarks.task_settings").start()
    time.sleep(IDLE_SECONDS)
    idle.stop()
    [(since,)] = meter.conn.execute("SELECT now()").fetchall()
    workers = Workers(server, engine, queue, count, settings="benchmarks.task_settings")
    started = time.perf_counter()
    workers.start()
    while meter.conn.execute(waiting).fetchone()[0]:  # type: ignore[index]
        time.sleep(0.05)
    wall = time.perf_counter() - started
    workers.stop()
    [(first, last)] = meter.conn.execute(
        "SELECT min(processed_at), max(processed_at) FROM apranova_payments_webhookevent WHERE processed_at >= %s",
        [since]).fetchall()
    span = (last - first).total_seconds()
    return {"events": total, "seconds": span, "wall": wall, "per_second": total / span,
            "worker_cpu_ms": max(0.0, workers.cpu_seconds - idle.cpu_seconds) / total * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="deliveries per run")
    parser.add_argument("--warmup", type=int, default=400, help="deliveries in each warm-up run")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (1: sync worker)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--settings", default=None,
                        help="the server's settings module, e.g. one that tries a change (must keep the floor URL); "
                             "default benchmarks.settings, or benchmarks.task_settings with --mode task")
    parser.add_argument("--mode", choices=["inline", "task"], default="inline", help="WEBHOOK_PROCESSING")
    parser.add_argument("--engine", choices=["db", "celery"], default="db", help="the task engine of --mode task")
    parser.add_argument("--drain-workers", type=int, default=2, help="worker processes draining the queue (task mode)")
    parser.add_argument("--prepared", action="store_true",
                        help="server-side binding and prepared statements for every process (benchmarks/settings.py)")
    args = parser.parse_args()
    if args.prepared:
        os.environ["APRANOVA_BENCH_PREPARED"] = "1"
    task_mode = args.mode == "task"
    settings = args.settings or ("benchmarks.task_settings" if task_mode else "benchmarks.settings")
    new_outcome = "queued" if task_mode else "processed"
    queue = f"apranova_bench_{secrets.token_hex(4)}"
    os.environ.update(APRANOVA_TASK_ENGINE=args.engine, APRANOVA_TASK_QUEUE=queue)

    with ServerUnderTest(settings, workers=args.workers, threads=args.threads) as server:
        os.environ[DB_NAME_ENV] = server.db_name
        os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
        import django

        django.setup()
        runs = 2 * (1 + args.repetitions)
        payments = seed(args.warmup * 2 + args.events * 2 * args.repetitions)
        chunks = [payments[:args.warmup], payments[args.warmup:2 * args.warmup]]
        rest = payments[2 * args.warmup:]
        chunks += [rest[i * args.events:(i + 1) * args.events] for i in range(runs - 2)]
        bodies = [bodies_for(chunk) for chunk in chunks]
        from django.db import connection

        connection.close()

        meter = CpuMeter(server)
        run(server, meter, OURS, bodies[0], args.concurrency, new_outcome)
        run(server, meter, FLOOR, bodies[1], args.concurrency, None)
        figures: dict[str, list[dict[str, float]]] = {OURS: [], FLOOR: []}
        for rep in range(args.repetitions):
            order = (OURS, FLOOR) if rep % 2 == 0 else (FLOOR, OURS)
            for offset, path in enumerate(order):
                chunk = bodies[2 + 2 * rep + offset]
                figures[path].append(run(server, meter, path, chunk, args.concurrency,
                                         new_outcome if path == OURS else None))
        drained = drain(server, meter, args.engine, queue, args.drain_workers) if task_mode else None
        duplicates = [run(server, meter, OURS, bodies[0], args.concurrency, "duplicate")
                      for _ in range(max(3, args.repetitions // 2))]
        meter.conn.close()

    def line(name: str, runs_: list[dict[str, float]]) -> str:
        eps = [r["per_second"] for r in runs_]
        def mid(key: str) -> float:
            return median([r[key] for r in runs_])

        return (f"   {name:<26} {median(eps):6.0f} ev/s  p50 {mid('p50_ms'):6.1f} ms  p99 {mid('p99_ms'):6.1f} ms"
                f"  CPU/event: gunicorn {mid('app_cpu_ms'):4.2f} ms, PostgreSQL {mid('db_cpu_ms'):4.2f} ms"
                f"   runs (ev/s): {', '.join(f'{e:.0f}' for e in eps)}")

    ratio = median([r["per_second"] for r in figures[OURS]]) / median([r["per_second"] for r in figures[FLOOR]])
    mode = f"task mode on {args.engine}" if task_mode else "inline"
    target = TARGETS[args.mode]
    drained_lines = [] if drained is None else [
        f"   drain: {args.drain_workers} {args.engine} workers applied {drained['events']:.0f} queued events in "
        f"{drained['seconds']:.1f} s ({drained['wall']:.1f} s with their start): {drained['per_second']:.0f} "
        f"events/s, workers' CPU/event {drained['worker_cpu_ms']:.2f} ms",
    ]
    report(f"Webhook ingest ({mode}): gunicorn + PostgreSQL", [
        f"   gunicorn {args.workers} workers x {args.threads} thread(s), {args.concurrency} client threads, "
        f"{args.events} new events per run, {args.repetitions} runs each after a {args.warmup}-event warm-up; "
        "medians; " + ("prepared statements (server-side binding)" if args.prepared else "Django's default "
                       "connection options (client-side binding, no prepared statements)"),
        line(f"ours, {mode} (new)", figures[OURS]),
        line("floor (verify + 1 UPDATE)", figures[FLOOR]),
        line("ours (duplicates)", duplicates),
        *drained_lines,
        f"   ours / floor throughput: {ratio:.2f}x (target >= {target}x: {'met' if ratio >= target else 'MISSED'})",
    ])


if __name__ == "__main__":
    main()
