from django.db import migrations, models


class Migration(migrations.Migration):
    """BulkPublishFile moves here from the schedules app. Only Django's picture of the models
    changes: the table schedules_bulkpublishfile, made by schedules 0003, stays as it is."""

    initial = True

    dependencies = [
        ('schedules', '0004_schedule_publish_resumable'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='BulkPublishFile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('resource_type', models.CharField(max_length=20, unique=True)),
                        ('ndjson', models.TextField(blank=True)),
                        ('index', models.JSONField(blank=True, default=list)),
                        ('generated_at', models.DateTimeField()),
                    ],
                    options={
                        'verbose_name': 'bulk publish file',
                        'verbose_name_plural': 'bulk publish files',
                        'db_table': 'schedules_bulkpublishfile',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
