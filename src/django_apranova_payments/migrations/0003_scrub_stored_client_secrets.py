"""Remove PaymentIntent client secrets from webhook payloads stored before the endpoint
stripped them on arrival. A client secret lets its holder confirm the PaymentIntent; the
package never keeps one."""

from typing import Any

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

SCRUBBED_KEYS = frozenset({"client_secret"})


def scrub(value: Any) -> bool:
    """Remove SCRUBBED_KEYS at any depth, in place; return whether anything was removed."""
    removed = False
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in SCRUBBED_KEYS.intersection(item):
                del item[key]
                removed = True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return removed


def scrub_stored_payloads(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    WebhookEvent = apps.get_model("apranova_payments", "WebhookEvent")
    events = WebhookEvent.objects.using(schema_editor.connection.alias).only("pk", "payload")
    for event in events.iterator(chunk_size=500):
        if scrub(event.payload):
            event.save(update_fields=["payload"])


class Migration(migrations.Migration):

    dependencies = [
        ("apranova_payments", "0002_simulated_payment_intent"),
    ]

    operations = [
        migrations.RunPython(scrub_stored_payloads, migrations.RunPython.noop, elidable=True),
    ]
