# The parts' large values compressed with lz4 on PostgreSQL, by hand (Django has no option for it).

from django.db import migrations

from core.migration_ops import postgres_only_sql


def _compression(method: str) -> str:
    # A server built without lz4 keeps its default: the parts are only slower to write.
    return f"""
    DO $$ BEGIN
        EXECUTE 'ALTER TABLE fhir_bulkpublishpart
                 ALTER COLUMN ndjson SET COMPRESSION {method}, ALTER COLUMN index SET COMPRESSION {method}';
    EXCEPTION WHEN feature_not_supported THEN NULL;
    END $$;
    """


class Migration(migrations.Migration):
    dependencies = [
        ("fhir", "0004_bulk_slot_parts_by_id"),
    ]

    operations = [postgres_only_sql(_compression("lz4"), _compression("DEFAULT"))]
