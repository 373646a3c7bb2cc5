"""Retention: the web booking log (R-LOG-3) and the stored first answers of idempotent POSTs.

On PostgreSQL the web booking log is partitioned by month (UTC) on ``changed_at``, and each
month by day (migrations 0016 and 0020): a month is made whole, all its days with it, a few days
before its first, and a default partition catches a row for a day nobody made yet (a beat that
did not run) so a booking never fails for want of a partition. A purge takes off the log what
lies wholly before the cutoff, catalogue changes that take milliseconds however many rows they
hold: whole months off the log, then the whole days before the cutoff off the cutoff's own month,
and deletes row by row only what is left before the cutoff: the part of the boundary day, and
stray rows in the default partition. The 31 days therefore stay exact to the second. Taking a
partition off costs more the more partitions its parent has (PostgreSQL rebuilds the parent's
list of them each time): months of days keep both lists short, where a year of days under one
table made a backlog's purge quadratic. The cutoff's month is always before today's, so no
booking writes into it and taking its days off waits for none. The tables taken off, no longer
read by any query, are dropped after the purge by a task of their own: deleting their files is
most of the work, and no row waits for it. The log has no foreign-key constraints in the
database (see the model), so none of this locks the tables it points at: bookings are never
locked (R-LOG-3). SQLite (``make run``) has one table and the batched DELETE alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from core.models import IdempotencyRecord
from core.queue import enqueue_on_commit

from ..models import (
    WebBookingLogEntry,
)

logger = logging.getLogger(__name__)

# --- Web booking log retention (R-LOG-3) ------------------------------------------------------

LOG_TABLE = WebBookingLogEntry._meta.db_table
DEFAULT_PARTITION = f"{LOG_TABLE}_default"
_DAY_PARTITION = re.compile(rf"^{LOG_TABLE}_p(\d{{8}})$")
_MONTH_PARTITION = re.compile(rf"^{LOG_TABLE}_m(\d{{6}})$")
# Taking a month off the log takes the log's table lock, which waits for bookings writing their
# log row and holds back the ones after it. It waits at most this long, then steps aside and tries
# again, so no booking ever queues behind the purge for longer.
LOCK_TIMEOUT_MS = 10
LOCK_ATTEMPTS = 50
# Months or days are taken off several per transaction (fewer commits), as many as keep it about
# this long.
DROP_TARGET_SECONDS = 0.02
# Taken off in the first transaction; then more or fewer by how long it took. A month off the log
# costs a few times a day off its month, so few to begin with.
DETACH_FIRST_BATCH = 2
# Tables dropped per statement, a month counting as its days (see web_log_detached_drop).
DROP_PER_STATEMENT = 50
# The advisory lock one purge at a time holds ("tidbok web log purge").
PURGE_LOCK_KEY = 0x7469_6462_6F6B_6C70
# The one a transaction making partitions holds ("tidbok web log make"): two making the same
# month at once would both try to create its tables.
MAKE_LOCK_KEY = 0x7469_6462_6F6B_6C6D


def _partitioned() -> bool:
    return connection.vendor == "postgresql"


def _day_partition(day: dt.date) -> str:
    return f"{LOG_TABLE}_p{day:%Y%m%d}"


def _month_partition(month: dt.date) -> str:
    return f"{LOG_TABLE}_m{month:%Y%m}"


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _month_after(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _ends(name: str) -> dt.datetime | None:
    """When the day or month a table of the log's holds ends; None for any other table."""
    if match := _DAY_PARTITION.match(name):
        return _day_start(dt.datetime.strptime(match.group(1), "%Y%m%d").date() + dt.timedelta(days=1))
    if match := _MONTH_PARTITION.match(name):
        return _day_start(_month_after(dt.datetime.strptime(match.group(1), "%Y%m").date()))
    return None


def _partitions() -> tuple[dict[dt.date, str], dict[dt.date, tuple[str, str]]]:
    """The log's months by their first day, and their days with the month each is in: one
    query, as a purge or a beat reads them all."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhparent = %s::regclass OR i.inhparent IN "
            "(SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass)",
            [LOG_TABLE, LOG_TABLE],
        )
        rows = cursor.fetchall()
    months, days = {}, {}
    for name, parent in rows:
        if (match := _MONTH_PARTITION.match(name)) and parent == LOG_TABLE:
            months[dt.datetime.strptime(match.group(1), "%Y%m").date()] = name
        elif match := _DAY_PARTITION.match(name):
            days[dt.datetime.strptime(match.group(1), "%Y%m%d").date()] = (name, parent)
    return months, days


def _day_partitions() -> dict[dt.date, str]:
    """The log's day partitions by the (UTC) day they hold."""
    return {day: name for day, (name, _month) in _partitions()[1].items()}


def _lock_timeout_hit(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == "55P03"  # lock_not_available


OnBatch = Callable[[int, float], None]


def _briefly_locked(
    work: Callable[[CursorWrapper], int], on_batch: OnBatch | None, *, report_rows: bool = True
) -> tuple[int, float] | None:
    """Run ``work`` (which returns the rows it removed, or what it made when not ``report_rows``)
    in its own transaction that waits at most LOCK_TIMEOUT_MS for any lock, trying again
    LOCK_ATTEMPTS times. Returns what work returned and how long the transaction lasted, or None
    if it never got its locks.

    Its commit does not wait for the WAL to reach the disk (on a busy disk most of the time a
    lock is held): a crash can lose only these transactions' own latest ones, which the next run
    does again, and a later booking's commit flushes them with its own. Foreign-key checks still
    pending in a caller's transaction are run first, as a table with pending checks cannot be
    dropped or attached (a purge is its own transaction and has none), and deferred again after."""
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        began = time.perf_counter()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SET LOCAL synchronous_commit = off; "
                    f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'; SET CONSTRAINTS ALL IMMEDIATE"
                )
                rows = work(cursor)
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        except OperationalError as error:
            if not _lock_timeout_hit(error):
                raise
            rows = None
        seconds = time.perf_counter() - began
        if on_batch is not None:
            on_batch((rows or 0) if report_rows else 0, seconds)
        if rows is not None:
            return rows, seconds
        time.sleep(0.005 * attempt)
    return None


def _exists(cursor: CursorWrapper, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s)", [f'"{name}"'])
    return cursor.fetchone()[0] is not None


def _month_add(month: dt.date, on_batch: OnBatch | None) -> int:
    """Make ``month``'s partition with a partition for each of its days, moving in any rows of
    the month the default partition caught; returns the days made, 0 if the locks were not to
    be had (the rows wait in the default partition meanwhile) or a purge's taken-off table of
    the month still waits for its drop.

    Made beside the log, its days and indexes with it, and then attached, which locks the log
    only against other changes of its partitions, not against bookings writing their rows, and
    the default partition, last, to move its rows out."""
    name, start, end = _month_partition(month), _day_start(month), _day_start(_month_after(month))
    days = [month + dt.timedelta(days=d) for d in range((_month_after(month) - month).days)]

    def add(cursor: CursorWrapper) -> int:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MAKE_LOCK_KEY])
        if _exists(cursor, name) or any(_exists(cursor, _day_partition(day)) for day in days):
            return 0
        cursor.execute(
            f'CREATE TABLE "{name}" (LIKE "{LOG_TABLE}" INCLUDING DEFAULTS INCLUDING INDEXES) '
            "PARTITION BY RANGE (changed_at); "
            + "".join(
                f'CREATE TABLE "{_day_partition(day)}" PARTITION OF "{name}" FOR VALUES FROM '
                f"('{_day_start(day).isoformat()}') TO ('{_day_start(day + dt.timedelta(days=1)).isoformat()}'); "
                for day in days
            )
        )
        cursor.execute(f'LOCK TABLE "{DEFAULT_PARTITION}" IN SHARE ROW EXCLUSIVE MODE')
        cursor.execute(
            f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" WHERE changed_at >= %s AND changed_at < %s '
            f'RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
            [start, end],
        )
        cursor.execute(
            f'ALTER TABLE "{LOG_TABLE}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)', [start, end]
        )
        return len(days)

    done = _briefly_locked(add, on_batch, report_rows=False)
    if done is None:
        logger.warning("web log: the partitions for %s were not made (the log was busy); next run", month)
        return 0
    return done[0]


def _partition_add(day: dt.date, month_name: str, on_batch: OnBatch | None) -> bool:
    """Make ``day``'s partition in its month's, where it went missing (a month is made whole);
    False if it was not made. Made beside the month and then attached, which does not lock the
    month against bookings writing their rows (CREATE TABLE … PARTITION OF would). A month has
    no default partition, so no row of the day can be waiting anywhere."""
    name, start, end = _day_partition(day), _day_start(day), _day_start(day + dt.timedelta(days=1))

    def add(cursor: CursorWrapper) -> int:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MAKE_LOCK_KEY])
        if _exists(cursor, name):
            return 0
        cursor.execute(f'CREATE TABLE "{name}" (LIKE "{LOG_TABLE}" INCLUDING DEFAULTS)')
        cursor.execute(
            f'ALTER TABLE "{month_name}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)', [start, end]
        )
        return 1

    done = _briefly_locked(add, on_batch, report_rows=False)
    if done is None:
        logger.warning("web log: the partition for %s was not made (the log was busy); next run", day)
        return False
    return done[0] == 1


def web_log_partitions_ensure(
    *, now: dt.datetime | None = None, since: dt.date | None = None, on_batch: OnBatch | None = None
) -> int:
    """Make the log's missing month and day partitions for the days from ``since`` (default:
    today, UTC) to TIDBOK_LOG_PARTITION_DAYS_AHEAD days after today, a month always whole.
    Returns how many day partitions were made. A no-op on SQLite. Run by beat and by every
    purge; safe to run twice, and at once."""
    if not _partitioned():
        return 0
    today = (now or timezone.now()).astimezone(dt.UTC).date()
    day = since or today
    last = today + dt.timedelta(days=settings.TIDBOK_LOG_PARTITION_DAYS_AHEAD)
    months, days = _partitions()
    made = 0
    while day <= last:
        month = day.replace(day=1)
        if month not in months:
            made += _month_add(month, on_batch)
            day = _month_after(month)
            continue
        if day not in days and _partition_add(day, months[month], on_batch):
            made += 1
        day += dt.timedelta(days=1)
    return made


def _detached() -> dict[str, dt.datetime]:
    """The month and day tables no longer part of the log, each with when the time it holds
    ends: taken off by a purge, not yet dropped. A month's days are in its table, not among
    them. One being made is never one of them, as it is made and attached in one transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND NOT relispartition "
            "AND (relname ~ %s OR relname ~ %s) AND pg_table_is_visible(oid)",
            [_DAY_PARTITION.pattern, _MONTH_PARTITION.pattern],
        )
        return {name: ends for (name,) in cursor.fetchall() if (ends := _ends(name)) is not None}


def web_log_detached_drop(*, now: dt.datetime | None = None) -> int:
    """Drop the month and day tables purges took off the log, deleting their files; returns how
    many. Their rows left the log when they were taken off (R-LOG-3): this is only the disk's
    work, which on a busy disk takes seconds for a year of days, so it runs after the purge, in
    the task each purge asks for. It finds every such table, so the ones a worker killed midway
    left are dropped by the next run, and a second run at once drops nothing twice. A table
    holding a time not wholly older than the retention is never one a purge took off, and is
    kept. No lock of the log's is taken: nothing reads or writes these tables any more. A no-op
    on SQLite."""
    if not _partitioned():
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TIDBOK_LOG_RETENTION_DAYS)
    names = [name for ends, name in sorted((ends, name) for name, ends in _detached().items()) if ends <= cutoff]
    with connection.cursor() as cursor:
        # Many per statement (one commit each, which deletes their files), not so many that the
        # locks of their tables and indexes fill PostgreSQL's lock table: a month weighs its days.
        batch: list[str] = []
        weight = 0
        for name in [*names, None]:
            size = 1 if name is None or _DAY_PARTITION.match(name) else 31
            if batch and (name is None or weight + size > DROP_PER_STATEMENT):
                cursor.execute("DROP TABLE IF EXISTS " + ", ".join(f'"{table}"' for table in batch))
                batch, weight = [], 0
            if name is not None:
                batch.append(name)
                weight += size
    return len(names)


def _take_off(parent: str, tables: list[str], sizes: dict[str, int], on_batch: OnBatch | None) -> int:
    """Detach ``tables`` (whole months, or whole days of the cutoff's month) from ``parent``, as
    many per short transaction as keep its lock near DROP_TARGET_SECONDS; returns the rows
    they held (``sizes``). Detaching is a change of the catalogue alone, so the lock is held for
    no file work: their tables are dropped later (web_log_detached_drop). Tables that never got
    the lock are left to the row-wise delete."""
    total, left, size = 0, list(tables), DETACH_FIRST_BATCH
    while left:
        batch = left[:size]

        def detach(cursor: CursorWrapper, batch: list[str] = batch) -> int:
            # The parent's own lock first: the lock wait is for it, not for each table in turn.
            cursor.execute(
                f'LOCK TABLE "{parent}" IN ACCESS EXCLUSIVE MODE; '
                + "".join(f'ALTER TABLE "{parent}" DETACH PARTITION "{name}"; ' for name in batch)
            )
            return sum(sizes.get(name, 0) for name in batch)

        done = _briefly_locked(detach, on_batch)
        if done is None:
            logger.warning("web log purge: %s tables left to the row-wise delete (the log was busy)", len(left))
            break
        rows, seconds = done
        total += rows
        left = left[len(batch) :]
        # More per transaction while they are quick, fewer when one took too long.
        size = min(size * 2, 64) if seconds < DROP_TARGET_SECONDS / 2 else size
        size = max(size // 2, 1) if seconds > DROP_TARGET_SECONDS else size
    return total


def _whole_detach(cutoff: dt.datetime, on_batch: OnBatch | None) -> int:
    """Take off the log the months wholly before the cutoff, then the days wholly before it in
    the months that are not; returns the rows they held."""
    months, days = _partitions()
    old_months = [name for month, name in sorted(months.items()) if _day_start(_month_after(month)) <= cutoff]
    gone = set(old_months)
    old_days: dict[str, list[str]] = {}
    for day, (name, month_name) in sorted(days.items()):
        if month_name not in gone and _day_start(day + dt.timedelta(days=1)) <= cutoff:
            old_days.setdefault(month_name, []).append(name)
    tables = old_months + [name for names in old_days.values() for name in names]
    if not tables:
        return 0
    with connection.cursor() as cursor:
        # Past days take no more rows: counted once, before any lock. Each table alone, whole,
        # needs no test of each row's time nor of the partition it is in: half the time.
        cursor.execute(
            " UNION ALL ".join(
                f'SELECT %s, count(*) FROM "{name}"' if name in gone else f'SELECT %s, count(*) FROM ONLY "{name}"'
                for name in tables
            ),
            tables,
        )
        sizes = dict(cursor.fetchall())
    total = _take_off(LOG_TABLE, old_months, sizes, on_batch)
    for month_name, names in old_days.items():
        total += _take_off(month_name, names, sizes, on_batch)
    return total


@contextmanager
def _purge_alone() -> Iterator[bool]:
    """Whether this is the only purge running (a session lock, gone with a killed worker's
    connection). Two at once, beat's and one run by hand, would both count and take off the
    same days, and the second would fail on a day the first had taken."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [PURGE_LOCK_KEY])
        alone = cursor.fetchone()[0]
    try:
        yield alone
    finally:
        if alone:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PURGE_LOCK_KEY])


def _rows_delete(cutoff: dt.datetime, batch_size: int, on_batch: OnBatch | None) -> int:
    """Delete what is left before the cutoff in batches, each its own transaction, by primary key."""
    old = WebBookingLogEntry.objects.filter(changed_at__lt=cutoff)
    total = 0
    while True:
        ids = list(old.order_by("changed_at").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        began = time.perf_counter()
        with transaction.atomic():
            # changed_at again: on PostgreSQL it keeps the DELETE to the partitions before the cutoff.
            deleted, _details = old.filter(pk__in=ids).delete()
        if on_batch is not None:
            on_batch(deleted, time.perf_counter() - began)
        total += deleted


def web_log_purge(
    *,
    now: dt.datetime | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[int, float], None] | None = None,
) -> int:
    """Delete rows older than 31 days (R-LOG-3): on PostgreSQL whole months and days first (see the
    module docstring), then what is left before the cutoff in short batches, each its own transaction,
    by primary key. The log only points at bookings, so neither takes a lock on them.
    ``on_batch`` hears each transaction's row count and how long it (and so its locks) lasted.
    When it returns no row older than the cutoff is in the log; the tables of the days taken off
    are dropped after it by the task it asks for (web_log_detached_drop). A purge that finds
    another running leaves the work to it and returns 0."""
    now = now or timezone.now()
    batch_size = batch_size or settings.TIDBOK_LOG_PURGE_BATCH
    cutoff = now - dt.timedelta(days=settings.TIDBOK_LOG_RETENTION_DAYS)
    if not _partitioned():
        return _rows_delete(cutoff, batch_size, on_batch)
    with _purge_alone() as alone:
        if not alone:
            logger.info("web log purge: another purge is running")
            return 0
        web_log_partitions_ensure(now=now, on_batch=on_batch)
        total = _whole_detach(cutoff, on_batch)
        total += _rows_delete(cutoff, batch_size, on_batch)
    if _detached():  # this run's, or ones a killed worker left
        from ..tasks import web_log_detached_drop as drop_task  # the tasks module imports these services

        enqueue_on_commit(drop_task)
    return total


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Stored first answers are kept a day: long enough for any client's retries."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=1)
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
