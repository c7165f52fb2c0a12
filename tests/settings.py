"""Settings for the package's own test suite.

``APRANOVA_TEST_DB=postgres`` runs it on PostgreSQL (127.0.0.1:5432, user ``postgres``,
trust auth; override with the usual ``PG*`` variables); the default is SQLite.
"""

import os

import django

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
AUTH_USER_MODEL = "testapp.Member"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"  # the package must not care
ALLOWED_HOSTS = ["*"]
STATIC_URL = "/static/"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "tests.testapp",
    "django_apranova_payments",
    # The offline simulator is an app of its own (tests/simulator/test_gateway.py uses it); a
    # production install leaves it out (tests/packaging/smoke.py).
    "django_apranova_payments.simulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The package's messages are translated (Accept-Language: hi); English unless asked.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if os.environ.get("APRANOVA_TEST_DB", "sqlite") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "apranova_payments"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": os.environ.get("APRANOVA_TEST_DB_NAME", "test_apranova_payments")},
        }
    }
    if os.environ.get("APRANOVA_TEST_PREPARED") == "1":
        # psycopg's server-side binding and prepared statements, as a host enables them (a
        # statement run 5 times on a connection is prepared): the package's own SQL must work
        # so (tox's django61-postgres environment runs the suite this way).
        DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {"NAME": os.environ.get("APRANOVA_TEST_DB_NAME") or None},
        }
    }

REST_FRAMEWORK = {
    # Basic authentication lets the API fuzzer log in without a session and CSRF token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
}

# The throttles (THROTTLE_RATES, at their defaults) count in the default cache. A dummy cache
# keeps no count, so no test is throttled by the requests of the tests before it (SQLite
# hands a rolled-back user id to the next test's user). tests/api/test_throttling.py switches to
# a local-memory cache, cleared around each test.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

# The suite takes the client's amount on purpose (as a donation site would), so it has no
# PRICE_RESOLVER: the documented way to say so. It runs in one process with a cache that keeps
# nothing (the throttle tests bring their own), so W005 is expected too.
SILENCED_SYSTEM_CHECKS = ["apranova_payments.W004", "apranova_payments.W005"]

STRIPE_TEST_WEBHOOK_SECRET = "whsec_test_secret_for_the_suite"

APRANOVA_PAYMENTS = {
    "STRIPE_SECRET_KEY": "sk_test_suite",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_suite",
    "STRIPE_WEBHOOK_SECRET": STRIPE_TEST_WEBHOOK_SECRET,
    "STRIPE_MAX_NETWORK_RETRIES": 0,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django_apranova_payments": {"handlers": ["null"], "propagate": True}},
}

if django.VERSION >= (6, 1):  # the e-mail settings' successor; tests deliver to memory anyway
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users in tests
