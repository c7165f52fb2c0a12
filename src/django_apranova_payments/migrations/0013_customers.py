# Saved cards: each user's Stripe Customer (one per user and mode), and the deleted users'
# Customers that Stripe has yet to delete.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('apranova_payments', '0012_paid_figures_index_discount'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PendingCustomerDeletion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stripe_customer', models.CharField(max_length=255, unique=True, verbose_name='Customer id')),
                ('livemode', models.BooleanField(verbose_name='live mode')),
                ('attempts', models.PositiveIntegerField(default=0, verbose_name='attempts')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='queued')),
            ],
            options={
                'verbose_name': 'pending customer deletion',
                'verbose_name_plural': 'pending customer deletions',
                'ordering': ['created_at'],
            },
        ),
        migrations.CreateModel(
            name='Customer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stripe_customer', models.CharField(max_length=255, unique=True, verbose_name='Customer id')),
                ('livemode', models.BooleanField(verbose_name='live mode')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'customer',
                'verbose_name_plural': 'customers',
                'ordering': ['-created_at'],
                'permissions': [('forget_payment_methods', "Can forget a customer's saved cards")],
                'constraints': [models.UniqueConstraint(fields=('user', 'livemode'), name='apranova_customer_user_mode_uniq')],
            },
        ),
    ]
