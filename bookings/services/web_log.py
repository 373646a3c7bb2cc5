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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from core.models import IdempotencyRecord
from core.queue import enqueue_on_commit

from ..models import WebBookingLogEntry
from .web_log_partitions import (
    _DAY_PARTITION,
    _MONTH_PARTITION,
    LOG_TABLE,
    OnBatch,
    _briefly_locked,
    _day_start,
    _ends,
    _month_after,
    _partitioned,
    _partitions,
    web_log_partitions_ensure,
)

logger = logging.getLogger(__name__)

# --- Web booking log retention (R-LOG-3) ------------------------------------------------------

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

        def detach(cursor: CursorWrapper, begin_sql: str, end_sql: str, batch: list[str] = batch) -> int:
            # The parent's own lock first: the lock wait is for it, not for each table in turn.
            cursor.execute(
                begin_sql
                + f'LOCK TABLE "{parent}" IN ACCESS EXCLUSIVE MODE; '
                + "; ".join(f'ALTER TABLE "{parent}" DETACH PARTITION "{name}"' for name in batch)
                + end_sql
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
    with transaction.atomic(), connection.cursor() as cursor:
        # Past days take no more rows: counted once, before any lock. Each table alone, whole,
        # needs no test of each row's time nor of the partition it is in: half the time. Not
        # compiled: a log some 5 M rows long costs the count past jit_above_cost, and compiling a
        # scan for each of a year's days (a thousand functions) took 0.4 s, twice the count.
        cursor.execute("SET LOCAL jit = off")
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
    """Delete what is left before the cutoff in batches, each its own transaction, by primary key:
    one statement a batch, the oldest rows picked in it, until a batch finds fewer than it may
    take (no row older than the cutoff is written any more, so none is left)."""
    old = WebBookingLogEntry.objects.filter(changed_at__lt=cutoff)
    total = 0
    while True:
        began = time.perf_counter()
        with transaction.atomic():
            if _partitioned():
                # As when taking tables off (see _briefly_locked): a crash loses at most these
                # latest deletes, which the next purge does again.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            # changed_at again: on PostgreSQL it keeps the DELETE to the partitions before the cutoff.
            deleted, _details = old.filter(pk__in=old.order_by("changed_at").values("pk")[:batch_size]).delete()
        if on_batch is not None:
            on_batch(deleted, time.perf_counter() - began)
        total += deleted
        if deleted < batch_size:
            return total


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
