"""Every model change ships with its migration, whatever the host's DEFAULT_AUTO_FIELD; the
simulator's table lives in its own app, and pre-release installs upgrade cleanly."""

from __future__ import annotations

import ast
import inspect
import sys
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection, migrations, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.test.utils import override_settings
from django.utils import timezone

from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.simulator.models import SimulatedPaymentIntent
from tests.testapp.models import Member


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


@pytest.fixture(autouse=True)
def new_connection_afterwards():
    """These tests migrate back and forth on one connection. Where psycopg prepares the
    statements it runs 5 times on a connection (tox's prepared-statements environment,
    ``APRANOVA_TEST_PREPARED``), repeating Django's multi-command DDL would prepare it, which
    PostgreSQL refuses; a new connection after each test starts the count again."""
    yield
    connection.close()


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


# -- the simulator's own app, and the upgrade of pre-release installs ------------------------

CORE, SIMULATOR = "apranova_payments", "apranova_simulator"
OLD_TABLE, NEW_TABLE = "apranova_payments_simulatedpaymentintent", "apranova_simulator_simulatedpaymentintent"

#: What the pre-release core 0002 created (before the simulator became an app of its own).
PRE_RELEASE_0002 = migrations.CreateModel(
    name="SimulatedPaymentIntent",
    fields=[
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
        ("intent_id", models.CharField(max_length=64, unique=True)),
        ("client_secret", models.CharField(editable=False, max_length=128)),
        ("amount", models.PositiveBigIntegerField()),
        ("currency", models.CharField(max_length=3)),
        ("status", models.CharField(default="requires_payment_method", max_length=32)),
        ("metadata", models.JSONField(blank=True, default=dict)),
        ("last_payment_error", models.JSONField(blank=True, null=True)),
        ("card_brand", models.CharField(blank=True, max_length=20)),
        ("card_last4", models.CharField(blank=True, max_length=4)),
        ("cancellation_reason", models.CharField(blank=True, max_length=40)),
        ("idempotency_key", models.CharField(blank=True, editable=False, max_length=255, null=True, unique=True)),
        ("request_fingerprint", models.CharField(blank=True, editable=False, max_length=64)),
        ("created_at", models.DateTimeField()),
        ("updated_at", models.DateTimeField()),
    ],
)


def migrate(*targets: tuple[str, str | None]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets))
    return executor


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # the schema the rest of the suite expects


def tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def create_pre_release_table(executor: MigrationExecutor) -> Any:
    """The table the pre-release core 0002 made, created as that migration did; its model."""
    state = executor.loader.project_state((CORE, "0003_scrub_stored_client_secrets"))
    before = state.clone()
    PRE_RELEASE_0002.state_forwards(CORE, state)
    with connection.schema_editor() as editor:
        PRE_RELEASE_0002.database_forwards(CORE, editor, before, state)
    return state.apps.get_model(CORE, "SimulatedPaymentIntent")


@pytest.mark.django_db(transaction=True)
def test_a_pre_release_install_upgrades_keeping_its_simulated_intents_and_dropping_the_old_table():
    try:
        executor = migrate((CORE, "0003_scrub_stored_client_secrets"), (SIMULATOR, None))
        old_model = create_pre_release_table(executor)
        now = timezone.now()
        for n in (1, 2):
            old_model.objects.create(
                intent_id=f"pi_sim{n}", client_secret=f"pi_sim{n}_secret_x", amount=1999 * n, currency="inr",
                status="succeeded", metadata={"course": str(n)}, card_brand="visa", card_last4="4242",
                idempotency_key=f"key-{n}", request_fingerprint="f" * 64, created_at=now, updated_at=now,
            )
        member = Member.objects.create(username="kept")
        old_payment = executor.loader.project_state((CORE, "0003_scrub_stored_client_secrets")).apps.get_model(
            CORE, "Payment")
        payment = old_payment.objects.create(user_id=member.pk, stripe_payment_intent="pi_sim1", amount="19.99",
                                             currency="inr", status="succeeded")
        before = tables()
        assert OLD_TABLE in before and NEW_TABLE not in before

        migrate_to_latest()

        # testapp's Course points at Coupon, so its tables come back with the coupons.
        assert tables() == before - {OLD_TABLE} | {NEW_TABLE, "apranova_payments_refund", "apranova_payments_dispute",
                                                   "apranova_payments_coupon", "apranova_payments_customer",
                                                   "apranova_payments_pendingcustomerdeletion",
                                                   "apranova_payments_receiptsequence",
                                                   "apranova_simulator_simulatedrefund",
                                                   "apranova_simulator_simulatedcustomer",
                                                   "apranova_simulator_simulatedpaymentmethod",
                                                   "apranova_simulator_simulateddispute", "testapp_course",
                                                   "testapp_course_coupons",
                                                   "apranova_simulator_simulatedcheckoutsession",
                                                   "apranova_simulator_simulatedtaxcalculation",
                                                   "apranova_simulator_simulatedtaxtransaction"}
        copied = list(SimulatedPaymentIntent.objects.order_by("intent_id").values(
            "intent_id", "client_secret", "amount", "currency", "status", "metadata", "idempotency_key"))
        assert copied == [
            {"intent_id": "pi_sim1", "client_secret": "pi_sim1_secret_x", "amount": 1999, "currency": "inr",
             "status": "succeeded", "metadata": {"course": "1"}, "idempotency_key": "key-1"},
            {"intent_id": "pi_sim2", "client_secret": "pi_sim2_secret_x", "amount": 3998, "currency": "inr",
             "status": "succeeded", "metadata": {"course": "2"}, "idempotency_key": "key-2"},
        ]
        assert SimulatedPaymentIntent.objects.create(amount=50, currency="usd").pk  # ids go on from there
        kept = Payment.objects.get()
        assert (kept.pk, kept.amount_refunded) == (payment.pk, 0) and Member.objects.get() == member
    finally:
        if OLD_TABLE in tables():
            with connection.schema_editor() as editor:
                editor.execute(f"DROP TABLE {editor.quote_name(OLD_TABLE)}")
        migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_a_production_install_migrates_without_any_simulator_table():
    production_apps = [app for app in settings.INSTALLED_APPS if app != "django_apranova_payments.simulator"]
    try:
        migrate((SIMULATOR, None), (CORE, None))
        assert not [name for name in tables() if "simulat" in name]

        with override_settings(INSTALLED_APPS=production_apps):
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            executor.migrate(executor.loader.graph.leaf_nodes())

        assert [m.name for m, _ in plan if m.app_label == CORE] == [
            "0001_initial", "0002_simulated_payment_intent", "0003_scrub_stored_client_secrets",
            "0004_drop_simulated_payment_intent_table", "0005_refunds_and_disputes",
            "0006_payment_created_figures_index", "0007_webhook_event_indexes",
            "0008_payment_refund_permission", "0009_dispute_appeals_and_prevented",
            "0010_money_figures_indexes", "0011_coupons",
            "0012_paid_figures_index_discount", "0013_customers", "0014_checkout", "0015_tax_and_receipts",
            "0016_payment_card"]
        assert not [m for m, _ in plan if m.app_label == SIMULATOR]
        assert {"apranova_payments_payment", "apranova_payments_webhookevent"} <= tables()
        assert not [name for name in tables() if "simulat" in name]
    finally:
        migrate_to_latest()


def test_the_core_migrations_never_import_the_simulator():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    imported = set()
    for (app, _), migration in loader.disk_migrations.items():
        if app == CORE:
            for node in ast.walk(ast.parse(inspect.getsource(sys.modules[migration.__module__]))):
                if isinstance(node, ast.Import):
                    imported |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom):
                    imported.add(node.module or "")

    assert "django.db" in imported  # the walk sees the imports
    assert not [name for name in imported if "simulator" in name]
    state = loader.project_state((CORE, "0003_scrub_stored_client_secrets"))
    assert (CORE, "simulatedpaymentintent") not in state.models


def test_the_simulator_is_an_app_of_its_own():
    config = apps.get_app_config(SIMULATOR)

    assert config.name == "django_apranova_payments.simulator"
    assert config.default_auto_field == "django.db.models.BigAutoField"
    assert SimulatedPaymentIntent._meta.app_label == SIMULATOR
    assert SimulatedPaymentIntent._meta.db_table == NEW_TABLE
    assert isinstance(SimulatedPaymentIntent._meta.pk, models.BigAutoField)
    assert sorted(model._meta.model_name for model in apps.get_app_config(CORE).get_models()) == [
        "coupon", "customer", "dispute", "payment", "pendingcustomerdeletion", "receiptsequence", "refund",
        "webhookevent"]


@pytest.mark.django_db
def test_simulator_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", SIMULATOR, "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_0014_checkout_keeps_existing_payments_and_goes_back_naming_sessionless_ones_by_their_session():
    before, after = (CORE, "0013_customers"), (CORE, "0014_checkout")
    try:
        executor = migrate(before)
        member = Member.objects.create(username="checkout-migration")
        old_payment = executor.loader.project_state(before).apps.get_model(CORE, "Payment")
        kept = old_payment.objects.create(user_id=member.pk, stripe_payment_intent="pi_kept", amount="19.99",
                                          currency="usd", status="succeeded")

        executor = migrate(after)
        new_payment = executor.loader.project_state(after).apps.get_model(CORE, "Payment")
        row = new_payment.objects.get(pk=kept.pk)
        assert (row.stripe_payment_intent, row.stripe_checkout_session) == ("pi_kept", None)
        assert row.checkout_reference is None
        waiting = new_payment.objects.create(user_id=member.pk, stripe_payment_intent=None, amount="5.00",
                                             currency="usd", stripe_checkout_session="cs_test_waiting")
        new_payment.objects.create(user_id=member.pk, stripe_payment_intent=None, amount="6.00", currency="usd",
                                   stripe_checkout_session="cs_test_other")

        migrate(before)
        assert set(old_payment.objects.values_list("stripe_payment_intent", flat=True)) == {
            "pi_kept", "cs_test_waiting", "cs_test_other"}

        migrate(after)
        assert new_payment.objects.get(pk=waiting.pk).stripe_payment_intent == "cs_test_waiting"
    finally:
        migrate_to_latest()
