"""Every model change ships with its migration, whatever the host's DEFAULT_AUTO_FIELD."""

from __future__ import annotations

import inspect
import sys
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import models
from django.db.migrations.loader import MigrationLoader
from django.test.utils import override_settings

from django_apranova_payments.models import Payment, WebhookEvent


def makemigrations_check() -> str:
    out = StringIO()
    call_command("makemigrations", "apranova_payments", "--check", "--dry-run", stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.django_db
def test_models_and_migrations_agree():
    assert "No changes detected" in makemigrations_check()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "auto_field",
    ["django.db.models.AutoField", "django.db.models.BigAutoField", "django.db.models.SmallAutoField"],
)
def test_hosts_default_auto_field_never_asks_for_a_migration(auto_field):
    with override_settings(DEFAULT_AUTO_FIELD=auto_field):
        assert "No changes detected" in makemigrations_check()


def test_the_suite_uses_a_different_default_auto_field_than_the_app():
    assert settings.DEFAULT_AUTO_FIELD == "django.db.models.AutoField"
    assert apps.get_app_config("apranova_payments").default_auto_field == "django.db.models.BigAutoField"
    assert isinstance(Payment._meta.pk, models.BigAutoField)
    assert isinstance(WebhookEvent._meta.pk, models.BigAutoField)


@pytest.mark.django_db
def test_migrations_have_names_that_explain_them():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = [name for app, name in loader.disk_migrations if app == "apranova_payments"]

    assert names
    assert not [name for name in names if "_auto_" in name]


@pytest.mark.django_db
def test_the_user_foreign_key_follows_auth_user_model():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    source = "".join(
        inspect.getsource(sys.modules[migration.__module__])
        for (app, _), migration in loader.disk_migrations.items() if app == "apranova_payments"
    )

    assert "swappable_dependency(settings.AUTH_USER_MODEL)" in source
    assert "to=settings.AUTH_USER_MODEL" in source
    assert "auth.user" not in source.lower()
    assert Payment._meta.get_field("user").related_model._meta.label == "testapp.Member"


@pytest.mark.django_db(transaction=True)
def test_0003_removes_client_secrets_from_stored_payloads():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("apranova_payments", "0002_simulated_payment_intent")], [
        ("apranova_payments", "0003_scrub_stored_client_secrets")
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    event_model = old_apps.get_model("apranova_payments", "WebhookEvent")
    secret = "pi_1_secret_abc"
    dirty = event_model.objects.create(
        stripe_id="evt_dirty", type="payment_intent.created",
        payload={"data": {"object": {"id": "pi_1", "client_secret": secret},
                          "previous_attributes": [{"client_secret": secret, "amount": 5}]}},
    )
    clean = event_model.objects.create(stripe_id="evt_clean", type="charge.succeeded", payload={"data": {"object": {}}})

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    dirty.refresh_from_db()
    clean.refresh_from_db()
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # the schema the rest of the suite expects

    assert dirty.payload == {"data": {"object": {"id": "pi_1"}, "previous_attributes": [{"amount": 5}]}}
    assert clean.payload == {"data": {"object": {}}}
