# Stripe Checkout: a payment may exist before its PaymentIntent (stripe_payment_intent is NULL
# until Stripe creates it), and is found by its Checkout Session and, from its PaymentIntent's
# metadata, by its checkout reference.

from django.db import migrations, models


def name_payments_by_their_session(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Going back: the PaymentIntent id is required again, so a Checkout payment whose
    PaymentIntent never came is named by its Checkout Session id (unique as well)."""
    payment = apps.get_model("apranova_payments", "Payment")
    payment.objects.filter(stripe_payment_intent__isnull=True).update(
        stripe_payment_intent=models.F("stripe_checkout_session")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('apranova_payments', '0013_customers'),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='stripe_checkout_session',
            field=models.CharField(blank=True, max_length=255, null=True, unique=True, verbose_name='Checkout Session id'),
        ),
        migrations.AddField(
            model_name='payment',
            name='checkout_reference',
            field=models.UUIDField(blank=True, editable=False, help_text="Names a Checkout payment in its PaymentIntent's metadata, before Stripe creates it.", null=True, unique=True),
        ),
        migrations.AlterField(
            model_name='payment',
            name='stripe_payment_intent',
            field=models.CharField(blank=True, max_length=255, null=True, unique=True, verbose_name='PaymentIntent id'),
        ),
        migrations.RunPython(migrations.RunPython.noop, name_payments_by_their_session, elidable=False),
    ]
