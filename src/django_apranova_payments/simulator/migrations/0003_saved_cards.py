# Saved cards: simulated Customers and the test cards saved on them, and the Customer, card and
# setup_future_usage of each simulated PaymentIntent.

import django.db.models.deletion
import django.utils.timezone
import django_apranova_payments.simulator.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('apranova_simulator', '0002_refunds_disputes'),
    ]

    operations = [
        migrations.CreateModel(
            name='SimulatedCustomer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('customer_id', models.CharField(default=django_apranova_payments.simulator.models.new_customer_id, max_length=64, unique=True)),
                ('email', models.CharField(blank=True, max_length=254)),
                ('metadata', models.JSONField(blank=True, default=dict, verbose_name='metadata')),
                ('idempotency_key', models.CharField(blank=True, editable=False, max_length=255, null=True, unique=True)),
                ('request_fingerprint', models.CharField(blank=True, editable=False, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddField(
            model_name='simulatedpaymentintent',
            name='customer',
            field=models.CharField(blank=True, max_length=64, verbose_name='customer'),
        ),
        migrations.AddField(
            model_name='simulatedpaymentintent',
            name='payment_method',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='simulatedpaymentintent',
            name='setup_future_usage',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.CreateModel(
            name='SimulatedPaymentMethod',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('payment_method_id', models.CharField(default=django_apranova_payments.simulator.models.new_payment_method_id, max_length=64, unique=True)),
                ('number', models.CharField(max_length=19)),
                ('brand', models.CharField(max_length=20, verbose_name='card brand')),
                ('exp_month', models.PositiveSmallIntegerField()),
                ('exp_year', models.PositiveSmallIntegerField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('customer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='payment_methods', to='apranova_simulator.simulatedcustomer')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
    ]
