# The "Can refund payments" permission (apranova_payments.refund_payment): the refund endpoint and
# the admin's refund action ask for it. Django creates the permission row after migrate; granting
# it is the host's decision (see the CHANGELOG's upgrade note).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('apranova_payments', '0007_webhook_event_indexes'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='payment',
            options={'ordering': ['-created_at'], 'permissions': [('refund_payment', 'Can refund payments')], 'verbose_name': 'payment', 'verbose_name_plural': 'payments'},
        ),
    ]
