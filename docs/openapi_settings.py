"""Django settings for generating ``docs/reference/openapi.yaml`` with drf-spectacular.

From the repository root, with the ``openapi`` extra installed::

    python -m django spectacular --settings docs.openapi_settings \
        --file docs/reference/openapi.yaml --validate --fail-on-warn

(``tox -e openapi`` checks that the committed file is up to date.)
"""

from django_apranova_payments import __version__

SECRET_KEY = "openapi-schema-only"  # noqa: S105 - generates a file, serves nothing
DEBUG = False
USE_TZ = True
ROOT_URLCONF = "docs.openapi_urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "drf_spectacular",
    "django_apranova_payments",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "django-apranova-payments",
    "DESCRIPTION": (
        "Stripe one-time payments: create a PaymentIntent, refresh and cancel it, list the "
        "caller's payments. Paths are relative to where the host includes "
        "`django_apranova_payments.urls` (here `/api/payments/`). The Stripe webhook "
        "(`POST webhook/`) is called by Stripe, not by clients, and is described in the "
        "reference documentation instead."
    ),
    "VERSION": __version__,
    "SERVE_INCLUDE_SCHEMA": False,
}

APRANOVA_PAYMENTS = {
    "STRIPE_SECRET_KEY": "sk_test_schema",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_schema",
    "STRIPE_WEBHOOK_SECRET": "whsec_schema",
}
