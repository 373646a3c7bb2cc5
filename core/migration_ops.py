"""Migration helpers for rules only PostgreSQL can hold (SQLite is only the demo default)."""

from __future__ import annotations

from django.db import migrations


def postgres_only_sql(forward: str, backward: str) -> migrations.RunPython:
    def _run(sql: str):
        def run(apps, schema_editor) -> None:
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)

        return run

    return migrations.RunPython(_run(forward), _run(backward))
