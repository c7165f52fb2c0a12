"""Smoke test of the installed wheel, run in a fresh virtualenv from an empty directory.

Started by ``check_dist.py`` (``tox -e packaging``); not collected by pytest. It writes a
throwaway project into the current directory, the way a new user following the tutorial
would: a custom user model, the package's URLs under a prefix of the project's own, an
enrollment receiver (in an app of its own) imported from ``AppConfig.ready()``. Then it migrates, runs the system
checks, takes a payment through the API against ``StripeMock`` and delivers the signed
``payment_intent.succeeded`` webhook twice. The project is a production install: without the
offline simulator's app, it has no simulator table, URL or import, and a ``GATEWAY`` naming
the simulator is refused with a message that names ``INSTALLED_APPS``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import textwrap
from pathlib import Path

HERE = Path.cwd()

FILES = {
    "shop/__init__.py": "",
    "shop/settings.py": """
        SECRET_KEY = "smoke-test-only"
        DEBUG = False
        USE_TZ = True
        DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
        ALLOWED_HOSTS = ["testserver"]
        ROOT_URLCONF = "shop.urls"
        AUTH_USER_MODEL = "accounts.Learner"
        INSTALLED_APPS = [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "rest_framework",
            "accounts",
            "django_apranova_payments",
            "courses",
        ]
        MIDDLEWARE = [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ]
        TEMPLATES = [{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]},
        }]
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "smoke.sqlite3"}}
        # A cache every server process shares, as production needs for the throttles (W005).
        CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                              "LOCATION": "smoke_cache"}}
        APRANOVA_PAYMENTS = {
            "STRIPE_SECRET_KEY": "sk_test_smoke",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_smoke",
            "STRIPE_WEBHOOK_SECRET": "whsec_smoke",
            "STRIPE_MAX_NETWORK_RETRIES": 0,
            "PRICE_RESOLVER": "courses.pricing.resolve_price",
        }
    """,
    "shop/urls.py": """
        from django.contrib import admin
        from django.urls import include, path

        urlpatterns = [
            path("admin/", admin.site.urls),
            path("shop/checkout/", include("django_apranova_payments.urls")),
        ]
    """,
    "accounts/__init__.py": "",
    "accounts/migrations/__init__.py": "",
    "accounts/models.py": """
        from django.contrib.auth.models import AbstractUser


        class Learner(AbstractUser):
            pass
    """,
    # Enrollment is in an app of its own: in the user model's app, its foreign key to
    # Payment would make the two initial migrations depend on each other.
    "courses/__init__.py": "",
    "courses/migrations/__init__.py": "",
    "courses/apps.py": """
        from django.apps import AppConfig


        class CoursesConfig(AppConfig):
            name = "courses"
            default_auto_field = "django.db.models.BigAutoField"

            def ready(self):
                from . import receivers  # noqa: F401
    """,
    "courses/models.py": """
        from django.conf import settings
        from django.db import models


        class Enrollment(models.Model):
            user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
            course_id = models.CharField(max_length=40)
            payment = models.OneToOneField("apranova_payments.Payment", on_delete=models.PROTECT)
    """,
    "courses/pricing.py": """
        from decimal import Decimal

        from rest_framework.exceptions import ValidationError

        PRICES = {"42": Decimal("19.99")}


        def resolve_price(request, data):
            course_id = str(data["metadata"].get("courseId", ""))
            if course_id not in PRICES:
                raise ValidationError({"metadata": {"courseId": ["No such course."]}})
            return {"amount": PRICES[course_id], "currency": "usd", "metadata": {"courseId": course_id}}
    """,
    "courses/receivers.py": """
        from django.dispatch import receiver

        from django_apranova_payments.signals import payment_succeeded

        from .models import Enrollment


        @receiver(payment_succeeded, dispatch_uid="courses.enroll")
        def enroll(sender, payment, event, **kwargs):
            Enrollment.objects.get_or_create(
                payment=payment,
                defaults={"user": payment.user, "course_id": payment.metadata["courseId"]},
            )
    """,
}


def write_project() -> None:
    for name, text in FILES.items():
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def check(condition: object, message: str) -> None:
    if not condition:
        raise SystemExit(f"smoke test FAILED: {message}")


def main() -> None:
    write_project()
    sys.path.insert(0, str(HERE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "shop.settings"

    import django

    django.setup()

    import django_apranova_payments

    installed_at = Path(django_apranova_payments.__file__).resolve()
    check("site-packages" in installed_at.parts, f"package imported from {installed_at}, not the venv")
    version = importlib.metadata.version("django-apranova-payments")
    check(version == django_apranova_payments.__version__, f"metadata {version} != __version__")
    print(f"django-apranova-payments {version} from {installed_at.parent}")

    from django.core.management import call_command

    call_command("makemigrations", "accounts", "courses", verbosity=0)
    call_command("makemigrations", "apranova_payments", check=True, dry_run=True, verbosity=0)
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("check", fail_level="WARNING")

    take_a_payment()
    no_simulator_anywhere()
    simulator_gateway_needs_its_app()
    print("smoke test OK")


def take_a_payment() -> None:
    from courses.models import Enrollment
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from rest_framework.test import APIClient

    from django_apranova_payments.models import Payment
    from django_apranova_payments.testing import StripeMock, build_event, post_event

    setup_test_environment()
    url = reverse("apranova_payments:create-payment")
    check(url == "/shop/checkout/create-payment/", f"create-payment is at {url}")
    learner = get_user_model().objects.create_user("ada", "ada@example.com", "pw-smoke")
    api = APIClient()
    api.force_authenticate(learner)

    with StripeMock() as stripe_mock:
        body = {"metadata": {"courseId": "42"}}  # the server's PRICE_RESOLVER sets the price
        response = api.post(url, json.dumps(body), content_type="application/json")
        check(response.status_code == 201, f"create-payment: {response.status_code} {response.content!r}")
        created = response.json()
        intent = stripe_mock.intents[created["paymentIntent"]]
        check(intent["amount"] == 1999, f"Stripe was asked for {intent['amount']}")
        check(created["clientSecret"] == intent["client_secret"], "wrong client secret")
        check(created["publishableKey"] == "pk_test_smoke", "wrong publishable key")

        payment = Payment.objects.get(stripe_payment_intent=created["paymentIntent"])
        event = build_event(payment, "payment_intent.succeeded")
        webhook = Client(enforce_csrf_checks=True)
        first, again = post_event(webhook, event), post_event(webhook, event)
        check(first.status_code == 200 and first.json()["outcome"] == "processed", first.content)
        check(again.status_code == 200 and again.json()["outcome"] == "duplicate", again.content)

        detail = api.get(reverse("apranova_payments:payment-detail", args=[payment.stripe_payment_intent]))
        check(detail.json()["status"] == "succeeded", detail.content)
    check(Enrollment.objects.filter(user=learner, course_id="42").count() == 1, "enrollment not granted once")
    print(f"payment {payment.stripe_payment_intent}: created, succeeded by webhook, enrollment granted once")


SIMULATOR = "django_apranova_payments.simulator"


def no_simulator_anywhere() -> None:
    """After a payment and its webhook: no simulator module, app, table or URL."""
    from django.apps import apps
    from django.db import connection
    from django.urls import NoReverseMatch, reverse

    imported = sorted(name for name in sys.modules if name == SIMULATOR or name.startswith(f"{SIMULATOR}."))
    check(not imported, f"a production install imported {imported}")
    check(not apps.is_installed(SIMULATOR), "the simulator app is installed")
    check("apranova_simulator" not in {config.label for config in apps.get_app_configs()}, "simulator label")
    tables = connection.introspection.table_names()
    check("apranova_payments_payment" in tables, f"tables: {tables}")
    check(not [name for name in tables if "simulat" in name], f"simulator tables: {tables}")
    try:
        reverse("apranova_payments_simulator:js")
    except NoReverseMatch:
        pass
    else:
        raise SystemExit("smoke test FAILED: a simulator URL resolves")
    print("production install: no simulator module, app, table or URL")


def simulator_gateway_needs_its_app() -> None:
    """``GATEWAY`` set to the simulator without its app: a clear error, at run time and in
    ``manage.py check``."""
    from django.conf import settings
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured
    from django.test.utils import override_settings

    from django_apranova_payments.gateway import get_gateway

    config = {**settings.APRANOVA_PAYMENTS, "GATEWAY": f"{SIMULATOR}.gateway.SimulatorGateway"}
    with override_settings(APRANOVA_PAYMENTS=config, DEBUG=True):
        try:
            get_gateway()
        except ImproperlyConfigured as exc:
            check("INSTALLED_APPS" in str(exc) and SIMULATOR in str(exc), f"unclear error: {exc}")
        else:
            raise SystemExit("smoke test FAILED: the simulator gateway ran without its app")
        errors = [m for m in checks.run_checks() if m.id == "apranova_payments.E006"]
        check(len(errors) == 1 and "INSTALLED_APPS" in errors[0].msg, f"check said {errors}")
    print("simulator gateway without its app: ImproperlyConfigured and E006 name INSTALLED_APPS")


if __name__ == "__main__":
    main()
