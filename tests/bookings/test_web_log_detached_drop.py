"""R-LOG-3 on PostgreSQL: a purge returns once no row older than 31 days is in the log, and the
tables of the days it took off are dropped after it by a task of their own, which finds the
ones a killed worker left; a purge killed midway is finished by the next, exactly once."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection

from bookings import tasks
from bookings.models import Channel, LogStatus, WebBookingLogEntry
from bookings.services import web_log as web_log_services
from bookings.services import web_log_detached_drop, web_log_partitions_ensure, web_log_purge

RETENTION = dt.timedelta(days=31)
PURGE_AT = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
CUTOFF = PURGE_AT - RETENTION
OLD_DAYS = ("20260213", "20260214", "20260215", "20260216")


class Killed(Exception):
    """Stands for the worker being killed: nothing after it runs, committed work stays."""


def _row(clinic, resident, changed_at: dt.datetime) -> WebBookingLogEntry:
    return WebBookingLogEntry.objects.create(
        changed_at=changed_at, status=LogStatus.BOOKED, clinic=clinic, resident=resident, channel=Channel.WEB
    )


def _tables() -> dict[str, bool]:
    """The log's day tables, each with whether it is still a partition of the log."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relispartition FROM pg_class WHERE relkind = 'r' "
            "AND relname LIKE 'bookings_webbookinglogentry_p%%'"
        )
        return dict(cursor.fetchall())


def _old_day_tables() -> dict[str, bool]:
    return {name: attached for name, attached in _tables().items() if name[-8:] in OLD_DAYS}


@pytest.fixture
def log(clinic, resident):
    """Two rows on each of four whole days before the cutoff, two older rows on the boundary day
    (one a minute before the cutoff), and the rows to keep: at the cutoff, a minute after it and
    a day after it. The days around the purge are made first, so a purge makes none."""
    web_log_partitions_ensure(now=PURGE_AT, since=CUTOFF.date() - dt.timedelta(days=4))
    old = [_row(clinic, resident, CUTOFF - dt.timedelta(days=d, hours=h)) for d in (1, 2, 3, 4) for h in (1, 13)]
    old += [_row(clinic, resident, CUTOFF - dt.timedelta(minutes=m)) for m in (1, 60 * 5)]
    kept = [_row(clinic, resident, CUTOFF + delta) for delta in (dt.timedelta(0), dt.timedelta(minutes=1))]
    kept.append(_row(clinic, resident, CUTOFF + dt.timedelta(days=1)))
    return {"old": {e.pk for e in old}, "kept": {e.pk for e in kept}}


def _in_log() -> set[int]:
    return set(WebBookingLogEntry.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_r_log_3_purge_returns_with_the_rows_gone_and_asks_for_the_drop(log, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as asked:
        purged = web_log_purge(now=PURGE_AT)

    # Gone from the log, exact to the minute, before any table is dropped.
    assert purged == len(log["old"])
    assert _in_log() == log["kept"]
    assert _old_day_tables() == dict.fromkeys((f"bookings_webbookinglogentry_p{d}" for d in OLD_DAYS), False)
    assert asked  # the drop task, sent when the purge's outbox row commits

    for callback in asked:
        callback()

    assert _old_day_tables() == {}
    assert {"bookings_webbookinglogentry_p20260217", "bookings_webbookinglogentry_p20260218"} <= set(_tables())
    assert _in_log() == log["kept"]


@pytest.mark.django_db
def test_r_log_3_day_tables_a_killed_worker_left_are_dropped_by_a_later_run(
    log, django_capture_on_commit_callbacks, monkeypatch
):
    # The drop it asks for never runs: the ask is lost with the worker that took it.
    monkeypatch.setattr(web_log_services, "enqueue_on_commit", lambda task: None)
    web_log_purge(now=PURGE_AT)
    monkeypatch.undo()
    # Another worker is killed after its first statement: one table dropped, three left.
    monkeypatch.setattr(web_log_services, "DROP_PER_STATEMENT", 1)
    real_execute = connection.cursor().__class__.execute
    statements: list[str] = []

    def killed_after_one_drop(cursor, sql, params=None):
        if sql.startswith("DROP TABLE"):
            if statements:
                raise Killed()
            statements.append(sql)
        return real_execute(cursor, sql, params)

    monkeypatch.setattr(connection.cursor().__class__, "execute", killed_after_one_drop)
    with pytest.raises(Killed):
        tasks.web_log_detached_drop.delay()
    monkeypatch.undo()
    left = {name for name, attached in _tables().items() if not attached}
    assert len(left) == 16 - 1  # February 1 to 16 were taken off its month, the oldest dropped
    assert len(_old_day_tables()) == 4

    # A later purge has nothing to delete, but asks for the drop, which finds them.
    with django_capture_on_commit_callbacks(execute=True):
        assert web_log_purge(now=PURGE_AT) == 0

    assert _old_day_tables() == {}
    assert web_log_detached_drop(now=PURGE_AT) == 0  # a second run at once drops nothing twice
    assert _in_log() == log["kept"]


@pytest.mark.django_db
def test_r_log_3_the_drop_keeps_a_taken_off_day_that_is_not_past_the_retention(log):
    young = "bookings_webbookinglogentry_p20260218"
    with connection.cursor() as cursor:  # taken off by hand (maintenance), not by a purge
        cursor.execute(f'ALTER TABLE bookings_webbookinglogentry_m202602 DETACH PARTITION "{young}"')

    assert web_log_detached_drop(now=PURGE_AT) == 0

    assert _tables()[young] is False


@pytest.mark.django_db
def test_r_log_3_a_purge_killed_while_taking_days_off_is_finished_by_the_next(log, monkeypatch):
    monkeypatch.setattr(web_log_services, "DETACH_FIRST_BATCH", 1)
    monkeypatch.setattr(web_log_services, "DROP_TARGET_SECONDS", 1e-9)  # one day per transaction
    real = web_log_services._briefly_locked

    def killed_after_the_first_day_with_rows(work, on_batch, **kwargs):
        done = real(work, on_batch, **kwargs)
        if done is not None and done[0] > 0:
            raise Killed()
        return done

    monkeypatch.setattr(web_log_services, "_briefly_locked", killed_after_the_first_day_with_rows)
    with pytest.raises(Killed):
        web_log_purge(now=PURGE_AT)
    monkeypatch.setattr(web_log_services, "_briefly_locked", real)
    first_gone = log["old"] - _in_log()
    assert len(first_gone) == 1  # the first day with a row (February 12, made with its month), taken off
    assert log["kept"] <= _in_log()

    purged = web_log_purge(now=PURGE_AT)

    assert purged == len(log["old"]) - len(first_gone)  # each row counted by the run that removed it
    assert _in_log() == log["kept"]


@pytest.mark.django_db
def test_r_log_3_a_purge_killed_between_row_batches_is_finished_by_the_next(clinic, resident):
    web_log_partitions_ensure(now=PURGE_AT, since=CUTOFF.date())
    older = [_row(clinic, resident, CUTOFF - dt.timedelta(minutes=m)) for m in (1, 2, 3)]
    kept = {_row(clinic, resident, CUTOFF).pk, _row(clinic, resident, CUTOFF + dt.timedelta(minutes=1)).pk}
    removed: list[int] = []

    def killed_after_the_first_batch(rows: int, _seconds: float) -> None:
        if rows:  # the month's empty days before the cutoff's go first, taken off whole
            removed.append(rows)
            raise Killed()

    with pytest.raises(Killed):
        web_log_purge(now=PURGE_AT, batch_size=1, on_batch=killed_after_the_first_batch)
    assert removed == [1]
    assert len(_in_log()) == len(older) - 1 + len(kept)

    assert web_log_purge(now=PURGE_AT, batch_size=1) == len(older) - 1

    assert _in_log() == kept


@pytest.mark.django_db
def test_r_log_3_a_purge_finding_another_running_leaves_the_work_to_it(log):
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432
    ) as other:  # another worker's purge, running
        other.execute("SELECT pg_advisory_lock(%s)", [web_log_services.PURGE_LOCK_KEY])

        assert web_log_purge(now=PURGE_AT) == 0

        assert _in_log() == log["old"] | log["kept"]
        assert all(_old_day_tables().values())  # no day taken off twice
        other.execute("SELECT pg_advisory_unlock(%s)", [web_log_services.PURGE_LOCK_KEY])

    assert web_log_purge(now=PURGE_AT) == len(log["old"])
    assert _in_log() == log["kept"]
