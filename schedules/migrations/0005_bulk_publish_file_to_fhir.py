from django.db import migrations


class Migration(migrations.Migration):
    """BulkPublishFile now belongs to the fhir app (fhir 0001); its table stays, so only Django's
    picture of the schedules models loses it."""

    dependencies = [
        ('schedules', '0004_schedule_publish_resumable'),
        ('fhir', '0001_bulk_publish_file_from_schedules'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='BulkPublishFile')],
            database_operations=[],
        ),
    ]
