"""Settings of the gunicorn server the load tests start: the suite's settings, a fresh
PostgreSQL database named by ``APRANOVA_LOAD_DB_NAME``, and the ``tally`` app that counts
every signal in that database from inside the server processes."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS as _SUITE_APPS

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["APRANOVA_LOAD_DB_NAME"],
        "USER": os.environ.get("PGUSER", "postgres"),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        # Persistent connections, as a production deployment has them.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        # A backend whose gunicorn worker was killed notices within half a second, even
        # while it waits for a lock, and rolls the worker's transaction back.
        "OPTIONS": {"options": "-c client_connection_check_interval=500"},
    }
}

INSTALLED_APPS = [*_SUITE_APPS, "tests.load.tally"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_apranova_payments": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}

# A Stripe stand-in on loopback, for the tests whose server calls Stripe (the refund race).
if os.environ.get("APRANOVA_LOAD_STRIPE_API_BASE"):
    APRANOVA_PAYMENTS = {**APRANOVA_PAYMENTS, "STRIPE_API_BASE": os.environ["APRANOVA_LOAD_STRIPE_API_BASE"]}  # noqa: F405
