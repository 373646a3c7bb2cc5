"""No overlapping times on a resource (R-SCHED-1, R-OPS-6)."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from dataclasses import dataclass

from django.db.models import QuerySet

from clinics.models import Resource

from ..models import Schedule, Slot

# --- No overlapping times on a resource (R-SCHED-1, R-OPS-6) ------------------------------------
#
# PostgreSQL has an exclusion constraint (slot_resource_no_overlap) as the last line; SQLite,
# the ``make run`` default, has none. So the rule is kept here, on every database: each path
# that makes slots locks the resource's row first and then checks, so two of them can never both
# find a time free and both insert it.

Times = list[tuple[dt.datetime, dt.datetime]]


def _resource_lock(resource_id: int) -> None:
    """Row-lock the resource for the rest of the transaction. FOR NO KEY UPDATE: it excludes the
    other slot makers, but not inserts that merely reference the resource (bookings, blocks).
    On SQLite this is a no-op, and not needed there: its IMMEDIATE transactions already let one
    writer in at a time (see settings)."""
    list(Resource.objects.select_for_update(no_key=True).filter(pk=resource_id).values_list("pk"))


def _overlapping(times: Times, others: Times) -> list[bool]:
    """For each time in ``times``, whether it overlaps one of ``others`` (sorted by start).
    ``others`` may overlap among themselves (rows made on SQLite before the rule was kept
    there), so the running maximum of their ends is compared, not just the latest one."""
    starts = [start for start, _end in others]
    max_ends = list(itertools.accumulate((end for _start, end in others), max))
    hits = []
    for start, end in times:
        before = bisect.bisect_left(starts, end)  # others[:before] start before this time ends
        hits.append(before > 0 and max_ends[before - 1] > start)
    return hits


def _existing_slots(resource_id: int, times: Times) -> QuerySet[Slot]:
    """Slots already on the resource within the span of ``times``, the schedule's own included."""
    first = min(start for start, _end in times)
    last = max(end for _start, end in times)
    return Slot.objects.filter(resource_id=resource_id, start__lt=last, end__gt=first).order_by("start")


@dataclass(frozen=True)
class Collisions:
    """What the no-overlap rule does to a schedule's times (R-OPS-6): ``free`` are the times that
    will be made (not those the schedule itself already has), ``skipped`` how many are not made
    for a slot in the way, and ``slots`` the existing slots in the way."""

    free: Times
    skipped: int
    slots: list[Slot]


def schedule_collisions(*, resource_id: int, times: Times, schedule: Schedule | None = None) -> Collisions:
    if not times:
        return Collisions(free=[], skipped=0, slots=[])
    existing = list(_existing_slots(resource_id, times).select_related("appointment_type"))
    # A rerun finds its own times exactly where it makes them: those are kept, neither made again
    # nor collisions. Any other slot of this schedule (one whose start or end no longer matches
    # its pattern) is in the way like any other slot on the resource (R-OPS-6).
    if schedule is not None and schedule.pk and any(slot.schedule_id == schedule.pk for slot in existing):
        wanted = set(times)
        kept = {(s.start, s.end) for s in existing if s.schedule_id == schedule.pk and (s.start, s.end) in wanted}
        existing = [s for s in existing if s.schedule_id != schedule.pk or (s.start, s.end) not in wanted]
        times = [time for time in times if time not in kept]
    if not existing:
        return Collisions(free=list(times), skipped=0, slots=[])
    others = [(slot.start, slot.end) for slot in existing]
    hits = _overlapping(times, others)
    ordered = sorted(times)
    in_the_way = _overlapping(others, ordered)
    return Collisions(
        free=[time for time, hit in zip(times, hits, strict=True) if not hit],
        skipped=sum(hits),
        slots=[slot for slot, hit in zip(existing, in_the_way, strict=True) if hit],
    )
