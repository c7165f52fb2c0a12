"""Settings of the benchmarks: the load-test server's settings (a fresh PostgreSQL database
named by ``APRANOVA_LOAD_DB_NAME``, persistent connections) without the test-only signal
tally, plus the floor view's URL."""

from tests.load.server_settings import *  # noqa: F403
from tests.load.server_settings import INSTALLED_APPS as _LOAD_APPS

INSTALLED_APPS = [app for app in _LOAD_APPS if app != "tests.load.tally"]
ROOT_URLCONF = "benchmarks.urls"
DATABASES["default"]["OPTIONS"] = {}  # noqa: F405 - no test-only connection options
