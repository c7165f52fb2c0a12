"""The event table's indexes: only what its lookups use (every delivery inserts a row).

The unique index on ``stripe_id`` moves to a named constraint, without the
``varchar_pattern_ops`` copy Django adds to a unique or indexed ``CharField`` on PostgreSQL;
``object_id`` keeps a plain index; the index on ``outcome`` becomes a partial one on the events
still ``received`` or ``failed``; ``type`` loses its index. The new ones are created before the
old ones go, in the migration's transaction.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('apranova_payments', '0006_payment_created_figures_index'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='webhookevent',
            constraint=models.UniqueConstraint(fields=('stripe_id',), name='apranova_event_stripe_id_uniq'),
        ),
        migrations.AddIndex(
            model_name='webhookevent',
            index=models.Index(fields=['object_id'], name='apranova_event_object_id_idx'),
        ),
        migrations.AddIndex(
            model_name='webhookevent',
            index=models.Index(condition=models.Q(('outcome__in', ['received', 'failed'])), fields=['outcome', 'received_at'], name='apranova_event_waiting_idx'),
        ),
        migrations.AlterField(
            model_name='webhookevent',
            name='object_id',
            field=models.CharField(blank=True, help_text='The id of data.object, e.g. the PaymentIntent.', max_length=255, verbose_name='object id'),
        ),
        migrations.AlterField(
            model_name='webhookevent',
            name='outcome',
            field=models.CharField(choices=[('received', 'Received'), ('processed', 'Processed'), ('ignored', 'Ignored'), ('failed', 'Failed')], default='received', max_length=20, verbose_name='outcome'),
        ),
        migrations.AlterField(
            model_name='webhookevent',
            name='stripe_id',
            field=models.CharField(max_length=255, verbose_name='event id'),
        ),
        migrations.AlterField(
            model_name='webhookevent',
            name='type',
            field=models.CharField(max_length=100, verbose_name='type'),
        ),
    ]
