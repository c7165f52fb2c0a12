#!/usr/bin/env sh
# Every benchmark, one after the other, then the full-size storm. Run on a quiet machine,
# from any directory, with the project's test dependencies installed (gunicorn, psycopg)
# and PostgreSQL on 127.0.0.1:5432 (or the PG* variables). PYTHON picks the interpreter.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
for script in webhook_ingest sql_statements list_pagination revenue_query analytics_query analytics_index_cost; do
    "$PYTHON" "benchmarks/$script.py"
done
APRANOVA_LOAD_FULL=1 APRANOVA_TEST_DB=postgres "$PYTHON" -m pytest -q -s -p no:cacheprovider tests/load/test_storm.py
