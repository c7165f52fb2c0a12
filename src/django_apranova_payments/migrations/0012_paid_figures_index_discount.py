# The analytics sum each succeeded payment's discount with its amount (``discounts`` beside
# ``gross``): the succeeded payments' index holds the discount too, so that statement stays an
# index-only scan. Same name, one more column.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('apranova_payments', '0011_coupons'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='payment',
            name='apranova_pay_paid_figs_idx',
        ),
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(
                fields=['status', 'succeeded_at', 'currency', 'amount', 'discount'],
                name='apranova_pay_paid_figs_idx',
            ),
        ),
    ]
