"""The web booking log's partitions on PostgreSQL (R-LOG-3): months of days, made ahead of the
days they hold, and the short, lock-limited transactions that change them (see web_log for why
the log is laid out so and how a purge takes them off)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from psycopg.pq import TransactionStatus

from ..models import WebBookingLogEntry

logger = logging.getLogger(__name__)
IDLE = TransactionStatus.IDLE

LOG_TABLE = WebBookingLogEntry._meta.db_table
DEFAULT_PARTITION = f"{LOG_TABLE}_default"
_DAY_PARTITION = re.compile(rf"^{LOG_TABLE}_p(\d{{8}})$")
_MONTH_PARTITION = re.compile(rf"^{LOG_TABLE}_m(\d{{6}})$")
# Taking a month off the log takes the log's table lock, which waits for bookings writing their
# log row and holds back the ones after it. It waits at most this long, then steps aside and tries
# again, so no booking ever queues behind the purge for longer.
LOCK_TIMEOUT_MS = 10
LOCK_ATTEMPTS = 50
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
# What runs under _briefly_locked: given the cursor, the statements that begin its transaction,
# which it sends in its own first call, and those that end it, which it may send in its last call
# (on a busy machine a round trip can take far longer than the work, and each one between taking
# a lock and the commit holds it that much longer).
Work = Callable[[CursorWrapper, str, str], int]
_SETTINGS = f"SET LOCAL synchronous_commit = off; SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'; "


def _transaction(work: Work) -> int:
    """``work`` in a transaction of its own. Inside a caller's transaction (the tests), a savepoint,
    with the foreign-key checks pending in it run first, as a table with pending checks cannot be
    dropped or attached, and deferred again after. Otherwise (a purge or a beat task) the
    transaction is begun in work's first call and, where work sends it, committed in its last,
    so a change of one statement (a detach) takes the log's lock, changes it and lets it go in
    one round trip; whatever work leaves open is committed, or rolled back after an error."""
    if connection.in_atomic_block or not connection.get_autocommit():
        with transaction.atomic(), connection.cursor() as cursor:
            rows = work(cursor, _SETTINGS + "SET CONSTRAINTS ALL IMMEDIATE; ", "")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return rows
    with connection.cursor() as cursor:
        try:
            rows = work(cursor, "BEGIN; " + _SETTINGS, "; COMMIT")
        except BaseException:
            # The error raised is the one to see; a connection too broken to roll back is closed.
            if connection.connection is not None and connection.connection.info.transaction_status != IDLE:
                with contextlib.suppress(DatabaseError):
                    cursor.execute("ROLLBACK")
            raise
        if connection.connection.info.transaction_status != IDLE:
            cursor.execute("COMMIT")
    return rows


def _briefly_locked(work: Work, on_batch: OnBatch | None, *, report_rows: bool = True) -> tuple[int, float] | None:
    """Run ``work`` (which returns the rows it removed, or what it made when not ``report_rows``)
    in its own transaction (see _transaction) that waits at most LOCK_TIMEOUT_MS for any lock,
    trying again LOCK_ATTEMPTS times. Returns what work returned and how long the transaction
    lasted, or None if it never got its locks.

    Its commit does not wait for the WAL to reach the disk (on a busy disk most of the time a
    lock is held): a crash can lose only these transactions' own latest ones, which the next run
    does again, and a later booking's commit flushes them with its own."""
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        began = time.perf_counter()
        try:
            rows: int | None = _transaction(work)
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

    def add(cursor: CursorWrapper, begin_sql: str, _end_sql: str) -> int:
        cursor.execute(begin_sql + "SELECT pg_advisory_xact_lock(%s)", [MAKE_LOCK_KEY])
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

    def add(cursor: CursorWrapper, begin_sql: str, _end_sql: str) -> int:
        cursor.execute(begin_sql + "SELECT pg_advisory_xact_lock(%s)", [MAKE_LOCK_KEY])
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
