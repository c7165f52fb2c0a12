# The indexes behind the analytics' money, which counts on the day it moved: a range of
# succeeded_at for the succeeded payments (gross), and of created_at for the succeeded refunds
# (refunded), each with the columns the figures read.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('apranova_payments', '0009_dispute_appeals_and_prevented'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(
                fields=['status', 'succeeded_at', 'currency', 'amount'], name='apranova_pay_paid_figs_idx',
            ),
        ),
        migrations.AddIndex(
            model_name='refund',
            index=models.Index(
                fields=['status', 'created_at', 'payment', 'amount'], name='apranova_ref_created_figs_idx',
            ),
        ),
    ]
