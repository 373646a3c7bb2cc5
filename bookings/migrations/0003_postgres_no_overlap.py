from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

from core.migration_ops import postgres_only_sql


class Migration(migrations.Migration):
    """R-BOOK-2 and R-SCHED-1 as database rules: no resident holds two overlapping active
    bookings; no resource has two overlapping slots."""

    dependencies = [
        ("bookings", "0002_initial"),
        ("schedules", "0001_initial"),
    ]

    operations = [
        BtreeGistExtension(),
        postgres_only_sql(
            "ALTER TABLE bookings_booking ADD CONSTRAINT booking_resident_no_overlap "
            "EXCLUDE USING gist (resident_id WITH =, tstzrange(start, \"end\") WITH &&) "
            "WHERE (status = 'active')",
            "ALTER TABLE bookings_booking DROP CONSTRAINT IF EXISTS booking_resident_no_overlap",
        ),
        postgres_only_sql(
            "ALTER TABLE schedules_slot ADD CONSTRAINT slot_resource_no_overlap "
            "EXCLUDE USING gist (resource_id WITH =, tstzrange(start, \"end\") WITH &&)",
            "ALTER TABLE schedules_slot DROP CONSTRAINT IF EXISTS slot_resource_no_overlap",
        ),
    ]
