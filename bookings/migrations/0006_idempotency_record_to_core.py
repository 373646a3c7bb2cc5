from django.db import migrations


class Migration(migrations.Migration):
    """IdempotencyRecord now belongs to the core app (core 0001); its table stays, so only
    Django's picture of the bookings models loses it."""

    dependencies = [
        ('bookings', '0005_inbox_notify_claim'),
        ('core', '0001_idempotency_record_from_bookings'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='IdempotencyRecord')],
            database_operations=[],
        ),
    ]
