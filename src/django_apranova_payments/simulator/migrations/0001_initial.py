"""The simulator's table, in its own app.

Pre-release versions kept it in the core app (``apranova_payments_simulatedpaymentintent``,
created by the core ``0002``). Where that table exists, its rows are copied here, before the
core ``0004`` drops it (``run_before``), so a development database keeps its simulated
PaymentIntents. Row ids are not copied (nothing refers to them; a PaymentIntent is known by
``intent_id``), so PostgreSQL's identity sequence stays right.
"""

import django.utils.timezone
import django_apranova_payments.simulator.models
from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

OLD_TABLE = "apranova_payments_simulatedpaymentintent"
COPIED_COLUMNS = (
    "intent_id", "client_secret", "amount", "currency", "status", "metadata",
    "last_payment_error", "card_brand", "card_last4", "cancellation_reason",
    "idempotency_key", "request_fingerprint", "created_at", "updated_at",
)


def copy_pre_release_rows(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if OLD_TABLE not in connection.introspection.table_names(cursor):
            return
    new_table = apps.get_model("apranova_simulator", "SimulatedPaymentIntent")._meta.db_table
    quote = schema_editor.quote_name
    columns = ", ".join(quote(column) for column in COPIED_COLUMNS)
    schema_editor.execute(
        f"INSERT INTO {quote(new_table)} ({columns}) SELECT {columns} FROM {quote(OLD_TABLE)}"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    run_before = [
        ("apranova_payments", "0004_drop_simulated_payment_intent_table"),
    ]

    operations = [
        migrations.CreateModel(
            name='SimulatedPaymentIntent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('intent_id', models.CharField(default=django_apranova_payments.simulator.models.new_intent_id, max_length=64, unique=True, verbose_name='PaymentIntent id')),
                ('client_secret', models.CharField(editable=False, max_length=128, verbose_name='client secret')),
                ('amount', models.PositiveBigIntegerField(verbose_name='amount (minor units)')),
                ('currency', models.CharField(max_length=3, verbose_name='currency')),
                ('status', models.CharField(choices=[('requires_payment_method', 'Requires Payment Method'), ('requires_action', 'Requires Action'), ('processing', 'Processing'), ('succeeded', 'Succeeded'), ('canceled', 'Canceled')], default='requires_payment_method', max_length=32, verbose_name='status')),
                ('metadata', models.JSONField(blank=True, default=dict, verbose_name='metadata')),
                ('last_payment_error', models.JSONField(blank=True, null=True, verbose_name='last payment error')),
                ('card_brand', models.CharField(blank=True, max_length=20, verbose_name='card brand')),
                ('card_last4', models.CharField(blank=True, max_length=4, verbose_name='card last 4')),
                ('cancellation_reason', models.CharField(blank=True, max_length=40, verbose_name='cancellation reason')),
                ('idempotency_key', models.CharField(blank=True, editable=False, max_length=255, null=True, unique=True)),
                ('request_fingerprint', models.CharField(blank=True, editable=False, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
            ],
            options={
                'verbose_name': 'simulated PaymentIntent',
                'verbose_name_plural': 'simulated PaymentIntents',
                'ordering': ['-created_at'],
            },
        ),
        migrations.RunPython(copy_pre_release_rows, migrations.RunPython.noop),
    ]
