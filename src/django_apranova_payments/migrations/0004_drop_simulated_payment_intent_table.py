"""Drop the offline simulator's old table, left in the core app by the pre-release ``0002``.

The simulator is its own app now (``apranova_simulator``, table
``apranova_simulator_simulatedpaymentintent``); when it is installed, its ``0001`` runs first
and copies the old rows over. The table is not in the migration state (``0002`` is empty
now), so this is database work only, and only where the table exists: a fresh installation
has nothing to drop. Reversing it recreates nothing, as the state before it has no table.
"""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

OLD_TABLE = "apranova_payments_simulatedpaymentintent"


def drop_old_table(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    if OLD_TABLE in tables:
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(OLD_TABLE)}")


class Migration(migrations.Migration):

    dependencies = [
        ("apranova_payments", "0003_scrub_stored_client_secrets"),
    ]

    operations = [
        migrations.RunPython(drop_old_table, migrations.RunPython.noop),
    ]
