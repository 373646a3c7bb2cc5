import datetime as dt
import re

from django.db import migrations

TABLE = "bookings_webbookinglogentry"
DAY = re.compile(rf"^{TABLE}_p(\d{{8}})$")


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _month_after(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def days_into_months(apps, schema_editor) -> None:
    """R-LOG-3 on PostgreSQL: the log's day partitions move into a partition per month, each
    holding all its days, so a purge takes a backlog's whole months off the log and the boundary
    month's days off that month, each from a parent with few partitions (see
    bookings.services.web_log). Rows the default partition holds for a month made here move in. A
    day whose table a purge took off and its drop has not yet dropped stays out of its month.
    SQLite keeps its one table."""
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        names = [name for (name,) in cursor.fetchall()]
        # Days a purge took off and its drop has not yet dropped (or taken off by hand) keep their name.
        cursor.execute("SELECT relname FROM pg_class WHERE relname ~ %s AND NOT relispartition", [DAY.pattern])
        taken_off = {name for (name,) in cursor.fetchall()}
    months: dict[dt.date, list[tuple[dt.date, str]]] = {}
    for name in names:
        if match := DAY.match(name):
            day = dt.datetime.strptime(match.group(1), "%Y%m%d").date()
            months.setdefault(day.replace(day=1), []).append((day, name))
    for month, days in sorted(months.items()):
        month_name, end = f"{TABLE}_m{month:%Y%m}", _month_after(month)
        run(
            f'CREATE TABLE "{month_name}" (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING INDEXES) '
            "PARTITION BY RANGE (changed_at)"
        )
        for day, name in days:
            bounds = [_start(day), _start(day + dt.timedelta(days=1))]
            run(f'ALTER TABLE {TABLE} DETACH PARTITION "{name}"')
            run(f'ALTER TABLE "{month_name}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)', bounds)
        had = {day for day, _name in days}
        day = month
        while day < end:
            if day not in had and f"{TABLE}_p{day:%Y%m%d}" not in taken_off:
                run(
                    f'CREATE TABLE "{TABLE}_p{day:%Y%m%d}" PARTITION OF "{month_name}" FOR VALUES FROM (%s) TO (%s)',
                    [_start(day), _start(day + dt.timedelta(days=1))],
                )
            day += dt.timedelta(days=1)
        run(
            f'WITH moved AS (DELETE FROM "{TABLE}_default" WHERE changed_at >= %s AND changed_at < %s RETURNING *) '
            f'INSERT INTO "{month_name}" SELECT * FROM moved',
            [_start(month), _start(end)],
        )
        run(
            f'ALTER TABLE {TABLE} ATTACH PARTITION "{month_name}" FOR VALUES FROM (%s) TO (%s)',
            [_start(month), _start(end)],
        )


class Migration(migrations.Migration):
    dependencies = [("bookings", "0019_waitlist_actor")]

    # Backwards the months stay: older code finds no day directly under the log and deletes row by row.
    operations = [migrations.RunPython(days_into_months, migrations.RunPython.noop)]
