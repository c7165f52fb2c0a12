#!/usr/bin/env sh
# Every benchmark, one after the other, then the full-size storms. Run on a quiet machine,
# from any directory, with the project's test and engines dependencies installed (gunicorn,
# psycopg, celery, django-tasks-celery), PostgreSQL on 127.0.0.1:5432 (or the PG* variables)
# and RabbitMQ on 127.0.0.1:5672 for the Celery runs. PYTHON picks the interpreter.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
for script in webhook_ingest sql_statements list_pagination revenue_query analytics_query analytics_index_cost prune_events receipt; do
    "$PYTHON" "benchmarks/$script.py"
done
# The webhook again with prepared statements, then task mode on each engine (ingest and drain).
"$PYTHON" benchmarks/webhook_ingest.py --prepared
for engine in db celery; do
    "$PYTHON" benchmarks/webhook_ingest.py --events 1000 --warmup 200 --repetitions 3 --mode task --engine "$engine"
done
# Inline, then task mode on both engines with worker kills and a restart: delivery to signal.
APRANOVA_LOAD_FULL=1 APRANOVA_TEST_DB=postgres "$PYTHON" -m pytest -q -s -p no:cacheprovider tests/load/test_storm.py
APRANOVA_LOAD_FULL=1 APRANOVA_ENGINE_TESTS=1 APRANOVA_TEST_DB=postgres \
    "$PYTHON" -m pytest -q -s -p no:cacheprovider tests/load/test_task_engines.py
