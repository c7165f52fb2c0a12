# The index behind Payment.objects.analytics() and GET analytics/: a range of created_at,
# with every column the figures read, so PostgreSQL answers them by an index-only scan.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('apranova_payments', '0005_refunds_and_disputes'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(
                fields=['created_at', 'currency', 'status', 'amount', 'amount_refunded', 'failure_code'],
                name='apranova_pay_created_figs_idx',
            ),
        ),
    ]
