import django.db.models.deletion
from django.db import migrations, models

from core.migration_ops import postgres_only_sql

ADD = (
    "ALTER TABLE schedules_slot ADD CONSTRAINT slot_resource_clinic_fk FOREIGN KEY (resource_id, clinic_id) "
    "REFERENCES clinics_resource (id, clinic_id) DEFERRABLE INITIALLY DEFERRED NOT VALID"
)


class Migration(migrations.Migration):
    """A slot's resource and clinic are checked by one composite key, (resource_id, clinic_id) →
    the resource's (id, clinic_id), in place of a key each: one lookup per slot made instead of
    two, and the slot's clinic is now also checked to be its resource's. The clinic's existence
    follows from the resource's own key to it.

    Safe on a big slot table, so not in one transaction: the new key is added NOT VALID (a
    moment's lock, new rows checked from then on), validated by a scan that lets reads and
    writes go on, and only then are the two old keys dropped (each a moment's lock). A slot
    whose clinic is not its resource's stops the validation; the old keys then stay."""

    atomic = False

    dependencies = [
        ("clinics", "0009_resource_unique_id_clinic"),
        ("schedules", "0007_slot_fk_indexes_covered"),
    ]

    operations = [
        postgres_only_sql(ADD, "ALTER TABLE schedules_slot DROP CONSTRAINT IF EXISTS slot_resource_clinic_fk"),
        postgres_only_sql("ALTER TABLE schedules_slot VALIDATE CONSTRAINT slot_resource_clinic_fk", "SELECT 1"),
        migrations.AlterField(
            model_name="slot",
            name="clinic",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="slots",
                to="clinics.clinic",
            ),
        ),
        migrations.AlterField(
            model_name="slot",
            name="resource",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="slots",
                to="clinics.resource",
            ),
        ),
    ]
