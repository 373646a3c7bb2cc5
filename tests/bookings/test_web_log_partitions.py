"""R-LOG-3 on PostgreSQL: the web booking log is partitioned by month and each month by day, and
the purge takes whole months and days off, deletes the boundary day's older rows one by one (31
days exact to the second), and never waits on bookings nor keeps a booking waiting behind it for
long."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import tasks
from bookings.models import Booking, BookingStatus, Channel, LogStatus, WebBookingLogEntry
from bookings.services import booking_create, web_log_partitions, web_log_partitions_ensure, web_log_purge
from bookings.services import web_log as web_log_services
from tidbok.celery import app

from ..factories import SlotFactory

RETENTION = dt.timedelta(days=31)
# Noon UTC: the cutoff falls in the middle of its day, so that day is the boundary day.
PURGE_AT = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
CUTOFF = PURGE_AT - RETENTION


def _row(clinic, resident, changed_at: dt.datetime) -> WebBookingLogEntry:
    return WebBookingLogEntry.objects.create(
        changed_at=changed_at, status=LogStatus.BOOKED, clinic=clinic, resident=resident, channel=Channel.WEB
    )


def _partition_of(entry: WebBookingLogEntry) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM bookings_webbookinglogentry WHERE id = %s AND changed_at = %s",
            [entry.pk, entry.changed_at],
        )
        return cursor.fetchone()[0]


def _day_partitions() -> set[str]:
    return set(web_log_partitions._day_partitions().values())


@pytest.mark.django_db
def test_r_log_3_purge_drops_whole_days_and_keeps_the_boundary_exact(
    clinic, resident, django_capture_on_commit_callbacks
):
    web_log_partitions_ensure(now=CUTOFF, since=CUTOFF.date() - dt.timedelta(days=3))
    whole_days = [_row(clinic, resident, CUTOFF - dt.timedelta(days=d, hours=1)) for d in (1, 2, 2, 3)]
    unpartitioned = _row(clinic, resident, CUTOFF - dt.timedelta(days=20))  # a day nobody made
    boundary_older = [_row(clinic, resident, CUTOFF - dt.timedelta(minutes=m)) for m in (1, 60 * 11)]
    at_cutoff = _row(clinic, resident, CUTOFF)
    boundary_younger = _row(clinic, resident, CUTOFF + dt.timedelta(minutes=1))
    next_day = _row(clinic, resident, CUTOFF + dt.timedelta(days=1))
    assert _partition_of(unpartitioned) == web_log_partitions.DEFAULT_PARTITION
    assert _partition_of(boundary_older[0]) == _partition_of(at_cutoff) == "bookings_webbookinglogentry_p20260217"
    batches: list[tuple[int, float]] = []

    # The days' tables are dropped by the task the purge asks for, after it (run here at once).
    with django_capture_on_commit_callbacks(execute=True):
        purged = web_log_purge(now=PURGE_AT, on_batch=lambda rows, seconds: batches.append((rows, seconds)))

    assert purged == len(whole_days) + 1 + len(boundary_older) == sum(rows for rows, _s in batches)
    kept = {at_cutoff.pk, boundary_younger.pk, next_day.pk}
    assert set(WebBookingLogEntry.objects.values_list("pk", flat=True)) == kept
    partitions = _day_partitions()
    assert not {f"bookings_webbookinglogentry_p202602{d}" for d in (14, 15, 16)} & partitions  # dropped whole
    assert {"bookings_webbookinglogentry_p20260217", "bookings_webbookinglogentry_p20260218"} <= partitions
    with connection.cursor() as cursor:  # taken off the log and dropped, not left beside it
        cursor.execute("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname LIKE '%%_p202602%%'")
        assert cursor.fetchone()[0] == len(
            {p for p in partitions if p.startswith("bookings_webbookinglogentry_p202602")}
        )


@pytest.mark.django_db
def test_r_log_3_rows_a_missing_day_caught_move_into_its_partition_when_made(clinic, resident):
    day = dt.date(2026, 5, 4)
    entry = _row(clinic, resident, dt.datetime(2026, 5, 4, 23, 59, tzinfo=dt.UTC))
    assert _partition_of(entry) == web_log_partitions.DEFAULT_PARTITION

    made = web_log_partitions_ensure(now=dt.datetime(2026, 5, 4, tzinfo=dt.UTC), since=day)

    assert made == 31  # May, made whole: the day and the two ahead of it (TIDBOK_LOG_PARTITION_DAYS_AHEAD) in it
    assert _partition_of(entry) == "bookings_webbookinglogentry_p20260504"
    assert list(WebBookingLogEntry.objects.filter(pk=entry.pk).values_list("changed_at", flat=True)) == [
        entry.changed_at
    ]
    assert web_log_partitions_ensure(now=dt.datetime(2026, 5, 4, tzinfo=dt.UTC), since=day) == 0


def _other_connection() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432
    )


@pytest.mark.django_db(transaction=True)
def test_r_log_3_the_purge_takes_no_lock_on_bookings(clinic, resident, appointment_type, monkeypatch):
    """A booking row locked and changed by an open transaction holds up neither the purge nor
    the month it makes (the log has no foreign-key constraints that would lock bookings)."""
    monkeypatch.setattr(web_log_partitions, "LOCK_ATTEMPTS", 1)  # a wait for a lock would leave its work undone
    booking = booking_create(resident=resident, slot_id=SlotFactory(appointment_type=appointment_type).pk)
    # The purge makes the month around PURGE_AT itself, while the booking is locked.
    web_log_partitions_ensure(now=CUTOFF, since=CUTOFF.date() - dt.timedelta(days=2))
    old = [_row(clinic, resident, CUTOFF - dt.timedelta(days=d)) for d in (1, 2)]
    with _other_connection() as other:
        other.execute("SET lock_timeout = '5s'")
        other.execute("SELECT id FROM bookings_booking WHERE id = %s FOR UPDATE", [booking.pk])
        other.execute("UPDATE bookings_booking SET patient_reason = 'x' WHERE id = %s", [booking.pk])

        purged = web_log_purge(now=PURGE_AT)
        other.rollback()

    assert purged == len(old)
    # Nothing waited: March was made, and February's days before the cutoff were taken off whole.
    assert dt.date(2026, 3, 1) in web_log_partitions._partitions()[0]
    assert not {"bookings_webbookinglogentry_p20260215", "bookings_webbookinglogentry_p20260216"} & _day_partitions()
    assert not WebBookingLogEntry.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert Booking.objects.filter(pk=booking.pk, status=BookingStatus.ACTIVE).exists()


@contextmanager
def _a_booking_writing_its_log_row(clinic, resident) -> Iterator[None]:
    """Another request's open transaction that has written a log row for now, as a booking does."""
    written, release = threading.Event(), threading.Event()

    def booking_writes_its_log_row() -> None:  # its own connection, as another request's
        try:
            with transaction.atomic():
                _row(clinic, resident, timezone.now())
                written.set()
                release.wait(30)
        finally:
            connection.close()

    writer = threading.Thread(target=booking_writes_its_log_row)
    writer.start()
    assert written.wait(30)
    try:
        yield
    finally:
        release.set()
        writer.join()


@pytest.mark.django_db(transaction=True)
def test_r_log_3_a_booking_writing_the_log_is_not_kept_waiting_by_a_month_taken_off(clinic, resident, monkeypatch):
    """Negative control for the short lock of taking a month off the log: while another
    transaction has written a log row (as a booking does), it cannot get the log's lock. It
    waits at most LOCK_TIMEOUT_MS per try, and after its tries the old rows go row by row
    instead: the purge finishes, exact, and the writer was never blocked."""
    monkeypatch.setattr(web_log_partitions, "LOCK_ATTEMPTS", 3)
    # January and March only: January lies wholly before the cutoff, and February (the cutoff's
    # month, whose days would be taken off without the log's lock) is not made.
    web_log_partitions_ensure(now=dt.datetime(2026, 1, 29, tzinfo=dt.UTC), since=dt.date(2026, 1, 1))
    web_log_partitions_ensure(now=PURGE_AT, since=PURGE_AT.date())
    old = [_row(clinic, resident, CUTOFF - dt.timedelta(days=d)) for d in (20, 30)]
    young = _row(clinic, resident, CUTOFF + dt.timedelta(minutes=1))
    batches: list[tuple[int, float]] = []

    with _a_booking_writing_its_log_row(clinic, resident):
        purged = web_log_purge(now=PURGE_AT, on_batch=lambda rows, seconds: batches.append((rows, seconds)))

    assert purged == len(old)
    assert set(WebBookingLogEntry.objects.filter(changed_at__lt=PURGE_AT).values_list("pk", flat=True)) == {young.pk}
    waits = [seconds for rows, seconds in batches if rows == 0]
    assert len(waits) == 3 and all(seconds < 1 for seconds in waits)
    assert "bookings_webbookinglogentry_m202601" in set(web_log_partitions._partitions()[0].values())  # still on
    assert WebBookingLogEntry.objects.filter(changed_at__gte=PURGE_AT).count() == 1  # the writer's row


@pytest.mark.django_db(transaction=True)
def test_r_log_3_the_cutoffs_month_gives_up_its_days_while_bookings_write_the_log(clinic, resident, monkeypatch):
    """The cutoff (31 days back) always falls in a month before today's, which no booking writes
    into: its whole days are taken off it at once even while a booking's log row is being written,
    where taking a month off the log itself waits for that booking to finish."""
    monkeypatch.setattr(web_log_partitions, "LOCK_ATTEMPTS", 1)  # a try that waited would leave them on
    web_log_partitions_ensure(now=PURGE_AT, since=CUTOFF.date() - dt.timedelta(days=2))
    old = [_row(clinic, resident, CUTOFF - dt.timedelta(days=d)) for d in (1, 2)]

    with _a_booking_writing_its_log_row(clinic, resident):
        purged = web_log_purge(now=PURGE_AT)

    assert purged == len(old)
    assert not {"bookings_webbookinglogentry_p20260215", "bookings_webbookinglogentry_p20260216"} & _day_partitions()


@pytest.mark.django_db
def test_r_log_3_a_backlog_goes_as_whole_months_then_the_cutoffs_months_days(
    clinic, resident, django_capture_on_commit_callbacks
):
    """Months wholly before the cutoff are taken off the log whole, their days with them, and the
    cutoff's month gives up its whole days before the cutoff; the boundary day stays exact."""
    web_log_partitions_ensure(now=PURGE_AT, since=dt.date(2025, 12, 1))
    old = [
        _row(clinic, resident, at)
        for at in (dt.datetime(2025, 12, 3, tzinfo=dt.UTC), dt.datetime(2026, 1, 31, 23, 59, tzinfo=dt.UTC))
    ]
    old += [_row(clinic, resident, CUTOFF - dt.timedelta(days=d, minutes=1)) for d in (0, 5)]
    kept = [_row(clinic, resident, CUTOFF), _row(clinic, resident, CUTOFF + dt.timedelta(days=20))]
    months = set(web_log_partitions._partitions()[0].values())
    assert {f"bookings_webbookinglogentry_m{m}" for m in ("202512", "202601", "202602", "202603")} <= months

    with django_capture_on_commit_callbacks(execute=True):  # the drop the purge asks for, run at once
        purged = web_log_purge(now=PURGE_AT)

    assert purged == len(old)
    assert set(WebBookingLogEntry.objects.values_list("pk", flat=True)) == {e.pk for e in kept}
    months = set(web_log_partitions._partitions()[0].values())
    assert not {"bookings_webbookinglogentry_m202512", "bookings_webbookinglogentry_m202601"} & months
    days = _day_partitions()
    assert not {f"bookings_webbookinglogentry_p202602{d:02}" for d in range(1, 17)} & days
    assert {f"bookings_webbookinglogentry_p202602{d:02}" for d in range(17, 29)} <= days
    with connection.cursor() as cursor:  # taken off and dropped, months with their days
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p') "
            "AND (relname ~ '_p20251[0-9]{3}$' OR relname ~ '_p202601[0-9]{2}$' OR relname ~ '_m20251[0-9]$' "
            "OR relname ~ '_m202601$' OR relname ~ '_p202602(0[0-9]|1[0-6])$')"
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_r_log_3_a_purge_of_its_own_holds_each_lock_for_its_statements_and_the_commit(clinic, resident):
    """A purge run as its own transaction (beat's task) sends each detach in one call, begun with
    its transaction's settings and ended with the commit: no foreign-key checks are pending in
    it, so none are run or deferred again, and no round trip waits with the log's lock held. The boundary day's
    older rows go one DELETE a batch, the rows picked inside it, and a batch that finds fewer
    than it may take is the last."""
    web_log_partitions_ensure(now=PURGE_AT, since=dt.date(2026, 1, 1))
    old = [_row(clinic, resident, at) for at in (dt.datetime(2026, 1, 5, tzinfo=dt.UTC), CUTOFF - dt.timedelta(days=2))]
    boundary = [_row(clinic, resident, CUTOFF - dt.timedelta(minutes=m)) for m in (1, 2, 3)]
    kept = _row(clinic, resident, CUTOFF)

    with CaptureQueriesContext(connection) as queries:
        purged = web_log_purge(now=PURGE_AT, batch_size=2)

    assert purged == len(old) + len(boundary)
    assert set(WebBookingLogEntry.objects.values_list("pk", flat=True)) == {kept.pk}
    statements = [query["sql"] for query in queries.captured_queries]
    detaches = [sql for sql in statements if "DETACH PARTITION" in sql]
    assert any("_m202601" in sql for sql in detaches) and any("_p20260216" in sql for sql in detaches)
    # Begun, locked, changed and committed in one call: no round trip with the lock held.
    assert all(sql.startswith("BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL lock_timeout") for sql in detaches)
    assert all(sql.endswith("; COMMIT") for sql in detaches)
    assert not [sql for sql in statements if "SET CONSTRAINTS" in sql]
    log_statements = [sql for sql in statements if sql.startswith(("DELETE", 'SELECT "bookings_webbookinglogentry"'))]
    assert len(log_statements) == 2 and all(sql.startswith("DELETE") for sql in log_statements)  # 2 + 1 rows


@pytest.mark.django_db
def test_r_log_3_the_count_of_the_tables_taken_off_is_not_compiled(clinic, resident):
    """Where the count's cost passes jit_above_cost (a log a few times the bench's), compiling a
    scan for each day would cost more than counting: it runs with JIT off, whatever the server's
    setting."""
    web_log_partitions_ensure(now=PURGE_AT, since=CUTOFF.date() - dt.timedelta(days=2))
    old = [_row(clinic, resident, CUTOFF - dt.timedelta(days=d)) for d in (1, 2)]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit_above_cost = 0")  # every query costs enough

    with CaptureQueriesContext(connection) as queries:
        assert web_log_purge(now=PURGE_AT) == len(old)

    statements = [query["sql"] for query in queries.captured_queries]
    count = next(i for i, sql in enumerate(statements) if "count(*)" in sql)
    assert statements[count - 1] == "SET LOCAL jit = off"


@pytest.mark.django_db
def test_r_log_3_beat_makes_the_days_ahead_through_the_task():
    entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == "bookings.tasks.web_log_partitions_ensure")
    assert entry["schedule"].hour  # runs several times a day, long before a day begins
    today = dt.datetime.now(dt.UTC).date()
    for day in range(3):
        with connection.cursor() as cursor:  # as if beat had not run for days
            cursor.execute(
                f'DROP TABLE IF EXISTS "bookings_webbookinglogentry_p{today + dt.timedelta(days=day):%Y%m%d}"'
            )

    assert tasks.web_log_partitions_ensure.delay().get() == 3
    assert {today + dt.timedelta(days=d) for d in range(3)} <= set(web_log_partitions._day_partitions())


@pytest.mark.django_db
def test_r_log_3_a_day_partition_has_only_the_indexes_reads_use():
    """Each index is one more for every log row a booking writes and files for every day the
    purge drops: the key, time (the purge's boundary day, the admin's order), clinic and time
    (the support log and its export, and the clinic alone), and resident (a personnummer search)."""
    web_log_partitions_ensure(now=PURGE_AT, since=PURGE_AT.date())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT regexp_replace(pg_get_indexdef(indexrelid), '^.* USING ', '') FROM pg_index "
            "WHERE indrelid = %s::regclass",
            [f"bookings_webbookinglogentry_p{PURGE_AT:%Y%m%d}"],
        )
        indexes = {definition for (definition,) in cursor.fetchall()}

    assert indexes == {
        "btree (id, changed_at)",
        "btree (changed_at)",
        "btree (clinic_id, changed_at DESC)",
        "btree (resident_id)",
    }


@pytest.mark.django_db
def test_r_log_3_the_migration_moves_day_partitions_of_the_log_into_months(clinic, resident):
    """Migration 0020 on a log whose days hang directly under it (as 0016 made them): each month
    of them becomes a partition holding all its days, the rows of its days stay where they were,
    rows the default partition caught for the month move in, and a day a purge took off (not
    yet dropped) stays out."""
    migration = importlib.import_module("bookings.migrations.0020_web_log_partitioned_by_month")
    web_log_partitions_ensure(now=PURGE_AT, since=dt.date(2026, 3, 1))
    log = "bookings_webbookinglogentry"
    with connection.cursor() as cursor:  # March as 0016 would have left it: two days, one taken off
        cursor.execute(f"ALTER TABLE {log} DETACH PARTITION {log}_m202603")
        for day in (5, 6):
            cursor.execute(f"ALTER TABLE {log}_m202603 DETACH PARTITION {log}_p202603{day:02}")
            cursor.execute(
                f"ALTER TABLE {log} ATTACH PARTITION {log}_p202603{day:02} FOR VALUES FROM (%s) TO (%s)",
                [dt.datetime(2026, 3, day, tzinfo=dt.UTC), dt.datetime(2026, 3, day + 1, tzinfo=dt.UTC)],
            )
        cursor.execute(f"ALTER TABLE {log}_m202603 DETACH PARTITION {log}_p20260307")
        cursor.execute(f"DROP TABLE {log}_m202603")
    in_day = _row(clinic, resident, dt.datetime(2026, 3, 5, 8, tzinfo=dt.UTC))
    caught = _row(clinic, resident, dt.datetime(2026, 3, 20, 8, tzinfo=dt.UTC))
    assert _partition_of(caught) == web_log_partitions.DEFAULT_PARTITION

    with connection.schema_editor() as editor:
        migration.days_into_months(None, editor)

    months, days = web_log_partitions._partitions()
    assert months[dt.date(2026, 3, 1)] == f"{log}_m202603"
    in_march = {day for day, (_name, month) in days.items() if month == f"{log}_m202603"}
    assert in_march == {dt.date(2026, 3, d) for d in range(1, 32)} - {dt.date(2026, 3, 7)}
    assert _partition_of(in_day) == f"{log}_p20260305"
    assert _partition_of(caught) == f"{log}_p20260320"
    assert f"{log}_p20260307" in web_log_services._detached()
