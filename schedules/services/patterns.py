"""A schedule's pattern, its checks and the times it makes (R-SCHED-1, R-SCHED-2)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from clinics.models import AppointmentType, Resource
from core.errors import ValidationFailed

from ..models import Block, Schedule, Slot
from ..selectors import LOCAL_TZ
from .common import _require_scheduler
from .overlap import Times, schedule_collisions

# --- Schedules (R-SCHED-1, R-SCHED-2) ---------------------------------------------------------

MAX_SCHEDULE_DAYS = 366


def _local(day: dt.date, time: dt.time) -> dt.datetime | None:
    """The aware instant for a Stockholm wall-clock time, or None if the clock skips it (the
    spring-forward hour). In the repeated autumn hour the first occurrence is used."""
    candidate = dt.datetime.combine(day, time, tzinfo=LOCAL_TZ)
    round_trip = candidate.astimezone(dt.UTC).astimezone(LOCAL_TZ)
    if round_trip.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        return None
    return candidate


def _day_times(day: dt.date, schedule: Schedule, length: dt.timedelta) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """One day's times, each converted on its own: the slow way, for a day the clock changes."""
    wall = dt.datetime.combine(day, schedule.day_start)
    day_end = dt.datetime.combine(day, schedule.day_end)
    while wall + length <= day_end:
        start = _local(day, wall.time())
        if start is not None:
            # Lengths are real minutes: convert through UTC so a slot spanning a clock
            # change still lasts slot_minutes.
            end = (start.astimezone(dt.UTC) + length).astimezone(LOCAL_TZ)
            yield start, end
        wall += length


def schedule_slot_times(schedule: Schedule) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    length = dt.timedelta(minutes=schedule.slot_minutes)
    # The day's slot starts as offsets from its first: the same on every day.
    span = dt.datetime.combine(dt.date.min, schedule.day_end) - dt.datetime.combine(dt.date.min, schedule.day_start)
    steps = [length * k for k in range(span // length)]
    weekdays = set(schedule.weekdays)
    day = schedule.start_date
    one_day = dt.timedelta(days=1)
    while day <= schedule.end_date:
        if day.isoweekday() in weekdays:
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ)
            if midnight.utcoffset() == (midnight + one_day).utcoffset():
                # No clock change this day (R-SCHED-1): wall-clock and real minutes agree, so
                # the times are plain additions, converted by nobody.
                first = dt.datetime.combine(day, schedule.day_start, tzinfo=LOCAL_TZ)
                for step in steps:
                    start = first + step
                    yield start, start + length
            else:
                yield from _day_times(day, schedule, length)
        day += one_day


@dataclass(frozen=True)
class SchedulePattern:
    """A schedule's pattern as the scheduler fills it in: which resource and type, which
    weekdays between which dates, the day's hours and the slot length (R-SCHED-1). Creating,
    previewing and creating-and-publishing a schedule all take one."""

    resource: Resource
    appointment_type: AppointmentType
    weekdays: Iterable[int]
    start_date: dt.date
    end_date: dt.date
    day_start: dt.time
    day_end: dt.time
    slot_minutes: int


def _schedule_check(pattern: SchedulePattern) -> list[int]:
    """The rules a schedule's pattern must meet; returns the weekdays, sorted, or raises."""
    errors: dict[str, list[Any]] = {}
    days = sorted({int(d) for d in pattern.weekdays})
    if not days or any(d < 1 or d > 7 for d in days):
        errors["weekdays"] = [_("Choose at least one weekday.")]
    if pattern.appointment_type.clinic_id != pattern.resource.clinic_id:
        errors["appointment_type"] = [_("Choose an appointment type of this clinic.")]
    if pattern.end_date < pattern.start_date:
        errors["end_date"] = [_("The last day must be on or after the first day.")]
    elif (pattern.end_date - pattern.start_date).days >= MAX_SCHEDULE_DAYS:
        errors["end_date"] = [_("A schedule can cover at most one year.")]
    if pattern.day_end <= pattern.day_start:
        errors["day_end"] = [_("The end time must be after the start time.")]
    if not 5 <= pattern.slot_minutes <= 480:
        errors["slot_minutes"] = [_("The slot length must be between 5 and 480 minutes.")]
    if errors:
        raise ValidationFailed(errors)
    return days


def _draft(pattern: SchedulePattern, days: list[int]) -> Schedule:
    """The schedule the pattern describes, not saved."""
    return Schedule(
        clinic=pattern.resource.clinic,  # loaded by the scheduler check before
        resource=pattern.resource,
        appointment_type=pattern.appointment_type,
        weekdays=days,
        start_date=pattern.start_date,
        end_date=pattern.end_date,
        day_start=pattern.day_start,
        day_end=pattern.day_end,
        slot_minutes=pattern.slot_minutes,
    )


def schedule_create(*, actor: User, pattern: SchedulePattern) -> Schedule:
    _require_scheduler(actor, pattern.resource.clinic)
    schedule = _draft(pattern, _schedule_check(pattern))
    schedule.created_by = actor
    schedule.save()
    return schedule


def _blocked_ranges(resource_id: int, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    return list(Block.objects.filter(resource_id=resource_id, start__lt=end, end__gt=start).values_list("start", "end"))


def _is_blocked(start: dt.datetime, end: dt.datetime, ranges: list[tuple[dt.datetime, dt.datetime]]) -> bool:
    return any(b_start < end and b_end > start for b_start, b_end in ranges)


# --- What publishing a pattern would do (R-SCHED-1, R-OPS-6) ------------------------------------


def _future_times(schedule: Schedule, now: dt.datetime) -> Times:
    times = list(schedule_slot_times(schedule))
    # The times come in order of start, so the past ones are a prefix.
    return times[bisect.bisect_right(times, now, key=lambda time: time[0]) :]


@dataclass(frozen=True)
class SchedulePreview:
    """What publishing a pattern would do (R-SCHED-1, R-OPS-6): ``count`` times are made; the
    ``skipped`` ones overlap ``collisions``, slots already on the resource (``collision_count``
    in all, the first COLLISIONS_SHOWN of them listed)."""

    count: int
    skipped: int
    collisions: list[Slot]
    collision_count: int


COLLISIONS_SHOWN = 50


def schedule_preview_detail(
    *, actor: User, pattern: SchedulePattern, now: dt.datetime | None = None
) -> SchedulePreview:
    """What publishing this pattern would make, and which existing times are in its way (times
    already passed are never made); the same checks as :func:`schedule_create`, and nothing is
    saved (R-SCHED-1, R-OPS-6)."""
    _require_scheduler(actor, pattern.resource.clinic)
    draft = _draft(pattern, _schedule_check(pattern))
    collisions = schedule_collisions(resource_id=pattern.resource.pk, times=_future_times(draft, now or timezone.now()))
    return SchedulePreview(
        count=len(collisions.free),
        skipped=collisions.skipped,
        collisions=collisions.slots[:COLLISIONS_SHOWN],
        collision_count=len(collisions.slots),
    )


def schedule_preview(*, actor: User, pattern: SchedulePattern, now: dt.datetime | None = None) -> int:
    """How many slots publishing this pattern would make (see :func:`schedule_preview_detail`)."""
    return schedule_preview_detail(actor=actor, pattern=pattern, now=now).count
