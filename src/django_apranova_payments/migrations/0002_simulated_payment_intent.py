"""Empty on purpose: the offline simulator's table moved to its own app
(``django_apranova_payments.simulator``, label ``apranova_simulator``).

Before the first release this migration created ``apranova_payments_simulatedpaymentintent``
in every installation. It stays, empty, because ``0003`` depends on it and installations
record it as applied; Django reads migration files afresh on every run, so an installation
that applied the old version keeps the old table only until ``0004`` drops it, and a fresh
one never creates it.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("apranova_payments", "0001_initial"),
    ]

    operations = []
