"""Settings of the example project: ApraNova's course checkout on django-apranova-payments.

Payments mode is chosen by the environment:

* ``STRIPE_SECRET_KEY`` and ``STRIPE_PUBLISHABLE_KEY`` set (test keys, ``sk_test_…`` /
  ``pk_test_…``): real Stripe test mode with Stripe.js and the Payment Element;
  ``STRIPE_WEBHOOK_SECRET`` is the ``whsec_…`` that ``stripe listen`` prints.
* neither set: the package's offline simulator (its app is added to ``INSTALLED_APPS``
  and its URLs are included only then). No Stripe account, no network, no money. It runs
  only with ``DEBUG`` on (``EXAMPLE_DEBUG``, on by default): with it off the simulator
  refuses every payment. Its webhook secret is ``STRIPE_WEBHOOK_SECRET`` when set,
  otherwise a random one made once per database and kept beside it (``simulator_secret``).

The database is SQLite (``EXAMPLE_DB_PATH``, default ``db.sqlite3`` beside ``manage.py``);
``EXAMPLE_DATABASE=postgres`` uses PostgreSQL through the usual ``PG*`` variables.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .simulator_secret import simulator_webhook_secret

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-only-not-a-secret")
DEBUG = env_flag("EXAMPLE_DEBUG", True)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_apranova_payments",
    "courses",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The reader's language: the switcher's choice (a cookie), else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_site.urls"
WSGI_APPLICATION = "example_site.wsgi.application"
TEST_RUNNER = "example_site.testing.DebugRunner"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "courses.views.payments_mode",
                "courses.views.site_languages",
            ]
        },
    }
]

if os.environ.get("EXAMPLE_DATABASE", "sqlite") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "apranova_example"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": os.environ.get("EXAMPLE_TEST_DB_NAME", "test_apranova_example")},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("EXAMPLE_DB_PATH", str(BASE_DIR / "db.sqlite3")),
            # The webhook and the browser's update-status write at the same moment: take the
            # write lock when a transaction starts and wait for it, instead of failing.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            },
            # A file, not shared memory, so the concurrency tests' threads can wait for locks.
            "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"apranova-example-test-{os.getpid()}.sqlite3")},
        }
    }

# The payment throttles (THROTTLE_RATES) count in the default cache: one every server process
# shares, as production needs (check W005). The database cache needs no other service;
# production sites often use Redis ("django.core.cache.backends.redis.RedisCache").
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "example_cache",
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # a local demo
# The language of pages whose reader asked for none, and of the e-mails (sent after the request).
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("hi", "हिन्दी")]
LOCALE_PATHS = [BASE_DIR / "courses" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "course-list"
LOGOUT_REDIRECT_URL = "course-list"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}

# -- payments ------------------------------------------------------------------------------------

STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
if bool(STRIPE_SECRET_KEY) != bool(STRIPE_PUBLISHABLE_KEY):
    raise ImproperlyConfigured("Set both STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY, or neither (offline simulator).")

#: "stripe" with keys in the environment, otherwise "simulator".
PAYMENTS_MODE = "stripe" if STRIPE_SECRET_KEY else "simulator"
SIMULATOR_GATEWAY = "django_apranova_payments.simulator.gateway.SimulatorGateway"

APRANOVA_PAYMENTS = {
    "CURRENCIES": ["usd", "eur", "inr", "gbp"],
    "PRICE_RESOLVER": "courses.pricing.resolve_course_price",
    # A course priced 0 is free: the resolver answers 0, the package stores a succeeded
    # free_… payment and sends payment_succeeded, and the same receiver enrolls.
    "ALLOW_FREE": True,
    # Students may save a card ("Save this card for next time") and pay with it in one click.
    "SAVE_PAYMENT_METHODS": True,
}

# Tax and receipts. Stripe Tax prices each paid course for the buyer's country (and postal
# code): txcd_10000000 is Stripe's general "electronically supplied services" code, what an
# online course sold to anyone is in most countries (a school with an accredited programme may
# need a more specific code; see Stripe's list of product tax codes). "exclusive": the course
# prices are before tax, and the student pays price + tax, as the checkout shows before the
# card is asked for. EXAMPLE_TAX=0 turns tax off (prices are then charged as they are);
# EXAMPLE_TAX_BEHAVIOR=inclusive makes the prices include the tax.
if env_flag("EXAMPLE_TAX", True):
    APRANOVA_PAYMENTS["TAX"] = {
        "tax_code": os.environ.get("EXAMPLE_TAX_CODE", "txcd_10000000"),
        "behavior": os.environ.get("EXAMPLE_TAX_BEHAVIOR", "exclusive"),
    }
# Who the numbered receipts say sells (GET /api/payments/<pi>/receipt/, "My courses" links
# them). A fictional school: a real one puts its registered name, address and tax id here.
# The package refuses TAX without a SELLER (check E011).
APRANOVA_PAYMENTS["SELLER"] = {
    "name": os.environ.get("EXAMPLE_SELLER_NAME", "ApraNova Academy Ltd"),
    "address": ["12 Example Lane", "Bengaluru 560001", "India"],
    "tax_id": os.environ.get("EXAMPLE_SELLER_TAX_ID", "GSTIN 29AAAAA0000A1Z5"),
    "email": os.environ.get("EXAMPLE_SELLER_EMAIL", "receipts@apranova.example"),
}
if PAYMENTS_MODE == "stripe":
    APRANOVA_PAYMENTS |= {
        "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": STRIPE_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
    }
else:
    # The simulator is an app of its own, installed only here: with Stripe keys the site has
    # no simulator table, URL or code (example_site/urls.py follows INSTALLED_APPS).
    INSTALLED_APPS.append("django_apranova_payments.simulator")
    if os.environ.get("EXAMPLE_SIMULATOR_SECRET_FILE"):
        SIMULATOR_SECRET_FILE = Path(os.environ["EXAMPLE_SIMULATOR_SECRET_FILE"])
    elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        SIMULATOR_SECRET_FILE = Path(f"{DATABASES['default']['NAME']}.simulator-webhook-secret")
    else:
        SIMULATOR_SECRET_FILE = BASE_DIR / f".{DATABASES['default']['NAME']}.simulator-webhook-secret"
    APRANOVA_PAYMENTS |= {
        "GATEWAY": SIMULATOR_GATEWAY,
        # The simulator signs its events with this secret, and the endpoint verifies them:
        # never a default written here (it would be public), but one made for this database.
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET")
        or simulator_webhook_secret(SIMULATOR_SECRET_FILE),
        # Where the simulator posts its events: this server's own webhook endpoint.
        "SIMULATOR_WEBHOOK_URL": os.environ.get(
            "SIMULATOR_WEBHOOK_URL", "http://127.0.0.1:8000/api/payments/webhook/"
        ),
    }

# -- e-mail -------------------------------------------------------------------------------------

# The failure notice (courses/notifications.py) goes through Django's e-mail framework. In
# development it is printed on the console that runs the server, so no mail leaves the
# machine; a deployment sets EXAMPLE_EMAIL_BACKEND (and Django's EMAIL_HOST settings) to
# "django.core.mail.backends.smtp.EmailBackend".
EMAIL_BACKEND = os.environ.get("EXAMPLE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("EXAMPLE_FROM_EMAIL", "ApraNova <courses@apranova.example>")
#: Where the links in e-mails point (the e-mails are sent after the request, if any, is gone).
SITE_URL = os.environ.get("EXAMPLE_SITE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"short": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "short"}},
    "loggers": {
        "django_apranova_payments": {"handlers": ["console"], "level": os.environ.get("EXAMPLE_LOG_LEVEL", "INFO")},
        "courses": {"handlers": ["console"], "level": os.environ.get("EXAMPLE_LOG_LEVEL", "INFO")},
    },
}
