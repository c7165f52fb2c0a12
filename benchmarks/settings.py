"""Settings of the benchmarks: the load-test server's settings (a fresh PostgreSQL database
named by ``APRANOVA_LOAD_DB_NAME``, persistent connections) without the test-only signal
tally, plus the floor view's URL.

``APRANOVA_BENCH_PREPARED=1`` (``webhook_ingest.py --prepared``) turns on psycopg's
server-side binding and prepared statements (``prepare_threshold`` 5: a statement run 5 times
on a connection is prepared on the server): Django leaves both off unless a host sets them in
``OPTIONS``. Ours and the floor share the server, so both get it."""

import os

from tests.load.server_settings import *  # noqa: F403
from tests.load.server_settings import INSTALLED_APPS as _LOAD_APPS

INSTALLED_APPS = [app for app in _LOAD_APPS if app != "tests.load.tally"]
ROOT_URLCONF = "benchmarks.urls"
DATABASES["default"]["OPTIONS"] = {}  # noqa: F405 - no test-only connection options
if os.environ.get("APRANOVA_BENCH_PREPARED") == "1":
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}  # noqa: F405
