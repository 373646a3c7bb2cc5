"""Retention: the web booking log (R-LOG-3) and the stored first answers of idempotent POSTs.

On PostgreSQL the web booking log is partitioned by day (UTC) on ``changed_at`` (migration
0016): one partition per day, made a few days ahead, and a default partition that catches a
row for a day nobody made yet (a beat that did not run) so a booking never fails for want of
a partition. A purge takes the days that lie wholly before the cutoff off the log (detaches
them), catalogue changes that take milliseconds however many rows the day holds, and deletes row
by row only what is left before the cutoff: the part of the boundary day, and stray rows in the
default partition. The 31 days therefore stay exact to the second. The tables of the days taken
off, no longer read by any query, are dropped after the purge by a task of their own: deleting
their files is most of the work, and no row waits for it. The log has no foreign-key
constraints in the database (see the model), so none of this locks the tables it points at:
bookings are never locked (R-LOG-3). SQLite (``make run``) has one table and the batched DELETE
alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
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
# Taking a day off the log takes the log's table lock, which waits for bookings writing their log
# row and holds back the ones after it. It waits at most this long, then steps aside and tries
# again, so no booking ever queues behind the purge for longer.
LOCK_TIMEOUT_MS = 10
LOCK_ATTEMPTS = 50
# Days are taken off several per transaction (fewer commits), as many as keep it about this long.
DROP_TARGET_SECONDS = 0.02
# Days taken off in the first transaction; then more or fewer by how long it took.
DETACH_FIRST_BATCH = 4
# Day tables dropped per statement (see web_log_detached_drop).
DROP_PER_STATEMENT = 50
# The advisory lock one purge at a time holds ("tidbok web log purge").
PURGE_LOCK_KEY = 0x7469_6462_6F6B_6C70


def _partitioned() -> bool:
    return connection.vendor == "postgresql"


def _day_partition(day: dt.date) -> str:
    return f"{LOG_TABLE}_p{day:%Y%m%d}"


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _days_named(names: Iterable[str]) -> dict[dt.date, str]:
    """The day tables among ``names``, by the (UTC) day each holds."""
    days = {}
    for name in names:
        match = _DAY_PARTITION.match(name)
        if match:
            days[dt.datetime.strptime(match.group(1), "%Y%m%d").date()] = name
    return days


def _day_partitions() -> dict[dt.date, str]:
    """The log's day partitions by the (UTC) day they hold."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [LOG_TABLE],
        )
        return _days_named(name for (name,) in cursor.fetchall())


def _lock_timeout_hit(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == "55P03"  # lock_not_available


OnBatch = Callable[[int, float], None]


def _briefly_locked(work: Callable[[CursorWrapper], int], on_batch: OnBatch | None) -> tuple[int, float] | None:
    """Run ``work`` (which returns the rows it removed) in its own transaction that waits at most
    LOCK_TIMEOUT_MS for any lock, trying again LOCK_ATTEMPTS times. Returns the rows and how long
    the transaction lasted, or None if it never got its locks.

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
            on_batch(rows or 0, seconds)
        if rows is not None:
            return rows, seconds
        time.sleep(0.005 * attempt)
    return None


def _partition_add(day: dt.date, on_batch: OnBatch | None) -> bool:
    """Make ``day``'s partition, moving in any rows of that day the default partition caught;
    False if the locks were not to be had (the rows wait in the default partition meanwhile).

    Made beside the table and then attached, which locks the log only against other changes
    of its partitions, not against bookings writing their rows (CREATE TABLE … PARTITION OF
    would), and the default partition to move its rows out."""
    name, start, end = _day_partition(day), _day_start(day), _day_start(day + dt.timedelta(days=1))

    def add(cursor: CursorWrapper) -> int:
        # The lock also queues a second run making the same day, which then finds it made.
        cursor.execute(f'LOCK TABLE "{DEFAULT_PARTITION}" IN SHARE ROW EXCLUSIVE MODE')
        cursor.execute("SELECT to_regclass(%s)", [f'"{name}"'])
        if cursor.fetchone()[0] is not None:
            return 0
        cursor.execute(f'CREATE TABLE "{name}" (LIKE "{LOG_TABLE}" INCLUDING DEFAULTS)')
        cursor.execute(
            f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" WHERE changed_at >= %s AND changed_at < %s '
            f'RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
            [start, end],
        )
        cursor.execute(
            f'ALTER TABLE "{LOG_TABLE}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)', [start, end]
        )
        return 0

    if _briefly_locked(add, on_batch) is None:
        logger.warning("web log: the partition for %s was not made (the log was busy); next run", day)
        return False
    return True


def web_log_partitions_ensure(
    *, now: dt.datetime | None = None, since: dt.date | None = None, on_batch: OnBatch | None = None
) -> int:
    """Make the log's missing day partitions, from ``since`` (default: today, UTC) to
    TIDBOK_LOG_PARTITION_DAYS_AHEAD days after today. Returns how many were made. A no-op on
    SQLite. Run by beat and by every purge; safe to run twice, and at once."""
    if not _partitioned():
        return 0
    today = (now or timezone.now()).astimezone(dt.UTC).date()
    day = since or today
    last = today + dt.timedelta(days=settings.TIDBOK_LOG_PARTITION_DAYS_AHEAD)
    existing = _day_partitions()
    made = 0
    while day <= last:
        if day not in existing and _partition_add(day, on_batch):
            made += 1
        day += dt.timedelta(days=1)
    return made


def _detached_days() -> dict[dt.date, str]:
    """Day tables no longer part of the log: taken off by a purge, not yet dropped. A day being
    made is never one of them, as it is made and attached in one transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition AND relname ~ %s "
            "AND pg_table_is_visible(oid)",
            [_DAY_PARTITION.pattern],
        )
        return _days_named(name for (name,) in cursor.fetchall())


def web_log_detached_drop(*, now: dt.datetime | None = None) -> int:
    """Drop the day tables purges took off the log, deleting their files; returns how many.
    Their rows left the log when they were taken off (R-LOG-3): this is only the disk's work,
    which on a busy disk takes seconds for a year of days, so it runs after the purge, in the
    task each purge asks for. It finds every such table, so the ones a worker killed midway left
    are dropped by the next run, and a second run at once drops nothing twice. A table holding
    a day not wholly older than the retention is never one a purge took off, and is kept. No
    lock of the log's is taken: nothing reads or writes these tables any more. A no-op on SQLite."""
    if not _partitioned():
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TIDBOK_LOG_RETENTION_DAYS)
    names = [name for day, name in sorted(_detached_days().items()) if _day_start(day + dt.timedelta(days=1)) <= cutoff]
    with connection.cursor() as cursor:
        # Many per statement (one commit each, which deletes their files), not so many that the
        # locks of their tables and indexes fill PostgreSQL's lock table.
        for first in range(0, len(names), DROP_PER_STATEMENT):
            batch = names[first : first + DROP_PER_STATEMENT]
            cursor.execute("DROP TABLE IF EXISTS " + ", ".join(f'"{name}"' for name in batch))
    return len(names)


def _days_detach(days: list[tuple[dt.date, str]], on_batch: OnBatch | None) -> int:
    """Take whole day partitions off the log, as many per short transaction as keep its lock
    near DROP_TARGET_SECONDS; returns the rows they held. Detaching is a change of the catalogue
    alone, so the log's lock is held for no file work: their tables are dropped later
    (web_log_detached_drop). Days that never got the lock are left to the row-wise delete."""
    if not days:
        return 0
    with connection.cursor() as cursor:
        # Past days take no more rows: counted once, before any lock. Each day's table alone,
        # whole, needs no test of each row's time nor of the table it is in: half the time.
        cursor.execute(
            " UNION ALL ".join(f'SELECT %s, count(*) FROM ONLY "{name}"' for _day, name in days),
            [name for _day, name in days],
        )
        sizes = dict(cursor.fetchall())
    total, left, size = 0, [name for _day, name in days], DETACH_FIRST_BATCH
    while left:
        batch = left[:size]

        def detach(cursor: CursorWrapper, batch: list[str] = batch) -> int:
            # The log's own lock first: the lock wait is for it, not for each day in turn.
            cursor.execute(
                f'LOCK TABLE "{LOG_TABLE}" IN ACCESS EXCLUSIVE MODE; '
                + "".join(f'ALTER TABLE "{LOG_TABLE}" DETACH PARTITION "{name}"; ' for name in batch)
            )
            return sum(sizes.get(name, 0) for name in batch)

        done = _briefly_locked(detach, on_batch)
        if done is None:
            logger.warning("web log purge: %s days left to the row-wise delete (the log was busy)", len(left))
            break
        rows, seconds = done
        total += rows
        left = left[len(batch) :]
        # More days per transaction while they are quick, fewer when one took too long.
        size = min(size * 2, 64) if seconds < DROP_TARGET_SECONDS / 2 else size
        size = max(size // 2, 1) if seconds > DROP_TARGET_SECONDS else size
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
    """Delete rows older than 31 days (R-LOG-3): on PostgreSQL whole days first (see the module
    docstring), then what is left before the cutoff in short batches, each its own transaction,
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
        days = sorted(_day_partitions().items())
        total = _days_detach(
            [(day, name) for day, name in days if _day_start(day + dt.timedelta(days=1)) <= cutoff], on_batch
        )
        total += _rows_delete(cutoff, batch_size, on_batch)
    if _detached_days():  # this run's, or ones a killed worker left
        from ..tasks import web_log_detached_drop as drop_task  # the tasks module imports these services

        enqueue_on_commit(drop_task)
    return total


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Stored first answers are kept a day: long enough for any client's retries."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=1)
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
