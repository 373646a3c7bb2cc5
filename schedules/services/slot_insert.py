"""Making a schedule's slots: the free times of a pattern go in as one set, blocked where a block
covers them (R-SCHED-1, R-OPS-6). Publishing (``schedule_publishing``) calls this at once or
batch by batch."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, connection, transaction

from ..models import Block, Schedule, Slot, SlotStatus
from .overlap import Times, _resource_lock, schedule_collisions
from .patterns import _blocked_ranges, _is_blocked


def _schedule_insert_slots(
    schedule: Schedule, times: Times, *, publish_at: dt.datetime | None = None
) -> tuple[int, int]:
    """Insert the schedule's slots at ``times`` (blocked where a block covers them) in the
    caller's transaction; returns (how many are new, how many were skipped).

    R-OPS-6: a time that overlaps a slot already on the resource (a single slot, another
    schedule's time) is skipped, not made and not an error: a scheduler lays a pattern over a
    timebook that already has times in it and expects the pattern to fill around them, and the
    preview has listed those collisions beforehand. A time of this same schedule that already
    exists (a rerun) is kept as it is. ``publish_at`` puts the new free, unblocked times on the
    web in this same transaction (the background run does, it is the worker of R-PUB-3, except
    for a type whose freed times go to its waitlist first, R-WAIT-2); the caller then asks once
    for the caches to follow (:func:`_published_times_changed`).

    The times go in as one set: on PostgreSQL one INSERT … SELECT over the arrays of starts
    and ends that works out each slot's block in SQL; elsewhere (SQLite) one bulk insert."""
    _resource_lock(schedule.resource_id)
    # Under the lock: the times in the way and the schedule's own times already made (a rerun
    # keeps them, never duplicates them) are left out here, so the insert need not look again.
    free = schedule_collisions(resource_id=schedule.resource_id, times=times, schedule=schedule)
    if not free.free:
        return 0, free.skipped
    if connection.vendor == "postgresql":
        return _insert_set(schedule, free.free, publish_at), free.skipped
    first, last = free.free[0][0], free.free[-1][0]
    blocks = _blocked_ranges(schedule.resource_id, first, free.free[-1][1])
    slots = []
    for start, end in free.free:
        blocked = _is_blocked(start, end, blocks)
        published = publish_at is not None and not blocked
        slots.append(
            Slot(
                clinic_id=schedule.clinic_id,
                resource_id=schedule.resource_id,
                appointment_type_id=schedule.appointment_type_id,
                schedule=schedule,
                start=start,
                end=end,
                is_blocked=blocked,
                is_published=published,
                published_at=publish_at if published else None,
            )
        )
    in_range = Slot.objects.filter(schedule=schedule, start__gte=first, start__lte=last)
    existing = in_range.count()
    Slot.objects.bulk_create(slots, batch_size=2000, ignore_conflicts=True)
    return in_range.count() - existing, free.skipped


def _insert_set(schedule: Schedule, times: Times, publish_at: dt.datetime | None) -> int:
    """The free ``times`` as slots, in one statement; returns how many were new.

    A plain INSERT: the check under the resource lock has left out every time in the way, and
    the exclusion constraint (slot_resource_no_overlap) still checks each row as it goes in.
    ON CONFLICT DO NOTHING would have each row probe the constraints once more before the
    insert (its speculative insertion), about a third of the statement's cost. Only when a
    writer that skipped the lock made a time in the way meanwhile does the insert fail; it is
    then made again, in a savepoint, with ON CONFLICT DO NOTHING, which skips that time as the
    check would have."""
    params: dict[str, Any] = {
        "clinic": schedule.clinic_id,
        "resource": schedule.resource_id,
        "type": schedule.appointment_type_id,
        "schedule": schedule.pk,
        "free": SlotStatus.FREE.value,
        "publish": publish_at is not None,
        "at": publish_at,
        "starts": _array([start for start, _end in times]),
        "ends": _array([end for _start, end in times]),
    }
    with connection.cursor() as cursor:
        if publish_at is not None:
            # A worker's batch (R-OPS-3): its commit need not wait for the disk. Were PostgreSQL
            # itself to crash just after, the batch and the cursor recording it would be lost
            # together (it never loses a later commit and keeps an earlier one), and the stalled
            # run would make the batch again from the cursor. A scheduler's publish at once
            # (no publish_at) keeps the durable commit: its answer says the times exist; so does
            # a batch whose times the waitlist is offered first: the offers reach residents.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        try:
            with transaction.atomic():
                cursor.execute(_INSERT_SET, params)
        except IntegrityError:
            cursor.execute(_INSERT_SET + " ON CONFLICT DO NOTHING", params)
        return cursor.rowcount


_INSERT_SET = f"""
    INSERT INTO {Slot._meta.db_table} (clinic_id, resource_id, appointment_type_id, schedule_id, start, "end",
        status, is_blocked, is_published, published_at, created_at)
    SELECT %(clinic)s, %(resource)s, %(type)s, %(schedule)s, u.start, u."end", %(free)s,
           b.hit IS NOT NULL, %(publish)s AND b.hit IS NULL,
           CASE WHEN %(publish)s AND b.hit IS NULL THEN %(at)s::timestamptz END, now()
    FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) AS u(start, "end")
    -- A join, not an EXISTS per column: the block is looked up once per time.
    LEFT JOIN LATERAL (
        SELECT 1 AS hit FROM {Block._meta.db_table} b
        WHERE b.resource_id = %(resource)s AND b.start < u."end" AND b."end" > u.start
        LIMIT 1
    ) b ON true"""


def _array(moments: list[dt.datetime]) -> str:
    """A timestamptz[] literal: one string to quote, where a list is quoted element by element
    (the driver binds on the client), several times the cost of the INSERT's own Python."""
    return "{" + ",".join(moment.isoformat() for moment in moments) + "}"
