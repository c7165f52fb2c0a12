# Coupons: the Coupon model, and the coupon and discount of each payment (amount stays what
# is charged, after the discount).

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
import re
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('apranova_payments', '0010_money_figures_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='discount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text='What the coupon took off the price; the amount is what is charged after it.', max_digits=14, verbose_name='discount'),
        ),
        migrations.CreateModel(
            name='Coupon',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(help_text='What students type; matched without regard to case.', max_length=40, unique=True, validators=[django.core.validators.RegexValidator('[A-Z0-9][A-Z0-9_-]{2,39}\\Z', flags=re.RegexFlag['IGNORECASE'], message="3 to 40 letters, digits, '-' or '_', starting with a letter or digit.")], verbose_name='code')),
                ('description', models.CharField(blank=True, help_text='For staff: what the coupon is for.', max_length=200, verbose_name='description')),
                ('percent_off', models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0.01')), django.core.validators.MaxValueValidator(Decimal('100'))], verbose_name='percent off')),
                ('amount_off', models.DecimalField(blank=True, decimal_places=2, help_text="In major units of the coupon's currency; it applies to prices in that currency only.", max_digits=14, null=True, verbose_name='amount off')),
                ('currency', models.CharField(blank=True, help_text='The currency of the amount off (lowercase ISO 4217).', max_length=3, verbose_name='currency')),
                ('valid_from', models.DateTimeField(blank=True, null=True, verbose_name='valid from')),
                ('valid_until', models.DateTimeField(blank=True, null=True, verbose_name='valid until')),
                ('max_redemptions', models.PositiveIntegerField(blank=True, help_text='How many payments may use it in all; empty: unlimited.', null=True, validators=[django.core.validators.MinValueValidator(1)], verbose_name='redemptions')),
                ('max_redemptions_per_user', models.PositiveIntegerField(blank=True, default=1, help_text='How many payments one student may use it for; empty: unlimited.', null=True, validators=[django.core.validators.MinValueValidator(1)], verbose_name='redemptions per student')),
                ('active', models.BooleanField(default=True, verbose_name='active')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
            ],
            options={
                'verbose_name': 'coupon',
                'verbose_name_plural': 'coupons',
                'ordering': ['-created_at'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('amount_off__isnull', True), ('currency', ''), ('percent_off__isnull', False)), models.Q(('amount_off__isnull', False), ('percent_off__isnull', True), models.Q(('currency', ''), _negated=True)), _connector='OR'), name='apranova_coupon_percent_xor_amount'), models.CheckConstraint(condition=models.Q(('percent_off__isnull', True), models.Q(('percent_off__gt', 0), ('percent_off__lte', 100)), _connector='OR'), name='apranova_coupon_percent_range'), models.CheckConstraint(condition=models.Q(('amount_off__isnull', True), ('amount_off__gt', 0), _connector='OR'), name='apranova_coupon_amount_positive'), models.CheckConstraint(condition=models.Q(('code', django.db.models.functions.text.Upper('code'))), name='apranova_coupon_code_upper'), models.CheckConstraint(condition=models.Q(('max_redemptions__isnull', True), ('max_redemptions__gte', 1), _connector='OR'), name='apranova_coupon_max_redemptions_min'), models.CheckConstraint(condition=models.Q(('max_redemptions_per_user__isnull', True), ('max_redemptions_per_user__gte', 1), _connector='OR'), name='apranova_coupon_max_per_user_min')],
            },
        ),
        migrations.AddField(
            model_name='payment',
            name='coupon',
            field=models.ForeignKey(blank=True, help_text='The coupon the student applied; its redemption is held unless the payment is canceled.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='apranova_payments.coupon', verbose_name='coupon'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(('discount__gte', 0)), name='apranova_pay_discount_not_negative'),
        ),
    ]
