from django.db import migrations, models

import bookings.models


def backfill(apps, schema_editor):
    """Bookings made before the stable UID keep the UID their .ics already had
    (``booking-<id>@tidbok``), so events residents imported still match. A rebooking chain takes its
    first booking's UID, with the SEQUENCE counting the moves."""
    Booking = apps.get_model("bookings", "Booking")
    known: dict[int, tuple[str, int]] = {}
    for booking in Booking.objects.order_by("pk").only("pk", "rebooked_from_id", "status").iterator():
        if booking.rebooked_from_id in known:
            uid, sequence = known[booking.rebooked_from_id]
            sequence += 1
        else:
            uid, sequence = f"booking-{booking.pk}@tidbok", 0
        known[booking.pk] = (uid, sequence)
        stored = sequence + 1 if booking.status == "cancelled" else sequence
        Booking.objects.filter(pk=booking.pk).update(calendar_uid=uid, calendar_sequence=stored)


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0006_idempotency_record_to_core"),
    ]

    operations = [
        migrations.AddField(
            model_name="booking",
            name="calendar_uid",
            field=models.CharField(editable=False, max_length=100, null=True),
        ),
        migrations.AddField(
            model_name="booking",
            name="calendar_sequence",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="booking",
            name="calendar_uid",
            field=models.CharField(default=bookings.models.new_calendar_uid, editable=False, max_length=100),
        ),
    ]
