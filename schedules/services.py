"""Writes for schedules, slots, blocks and holds (R-SCHED, R-PUB, R-BOOK-3).

Making times disappear happens here, synchronously, in the caller's transaction. Making them
appear is left to the ``slots_publish`` task (R-PUB-3), enqueued when the transaction commits.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.selectors import user_has_clinic_role
from clinics.models import AppointmentType, Resource
from core.errors import BookingError, DomainError, ErrorCode, PermissionDeniedError, ValidationFailed
from core.outbox.services import outbox_add
from core.queue import enqueue_on_commit

from . import free_times
from .models import Block, Hold, HoldState, PublishState, Schedule, Slot, SlotStatus, publish_stale_q
from .selectors import LOCAL_TZ, slot_check_offered

SCHEDULER_ROLES = (Role.SCHEDULER,)
MAX_SCHEDULE_DAYS = 366
logger = logging.getLogger(__name__)


def _require_scheduler(actor: User, clinic: Any) -> None:
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=SCHEDULER_ROLES):
        raise PermissionDeniedError()


def _publish_later(slot_ids: Iterable[int]) -> None:
    from .tasks import slots_publish

    ids = sorted(set(slot_ids))
    if ids:
        enqueue_on_commit(slots_publish, ids)


def _free_times_changed(slot_ids: list[int]) -> None:
    """These slots came onto or went off the web: their clinics' cached free times are stale."""
    free_times.invalidate_on_commit(Slot.objects.filter(pk__in=slot_ids).values_list("clinic_id", flat=True).distinct())


# The outbox step that refreshes the FHIR bulk files lives in the top-layer fhir app
# (fhir.bulk.REFRESH_ASK): named here, never imported, as schedules sits below it.
BULK_REFRESH_ASK = "fhir.bulk.refresh_ask"


def bulk_refresh_later() -> None:
    """The FHIR bulk publication (``/fhir/r4/$bulk-publish``) follows after the commit, through
    the outbox (R-OPS-1); the step folds asks together (see :mod:`fhir.bulk`)."""
    outbox_add(name=BULK_REFRESH_ASK)


# --- Publishing (R-PUB-1, R-PUB-3) -----------------------------------------------------------


def slots_publish(*, slot_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Put free, unblocked future slots on the web. A conditional UPDATE, so running it twice,
    or racing a booking, publishes nothing that has been taken meanwhile."""
    now = now or timezone.now()
    ids = list(slot_ids)
    published = Slot.objects.filter(
        pk__in=ids, status=SlotStatus.FREE, is_blocked=False, is_published=False, start__gt=now
    ).update(is_published=True, published_at=now)
    if published:
        _free_times_changed(ids)
    return published


def slots_publish_pending(*, now: dt.datetime | None = None, batch_size: int = 5000) -> int:
    """Sweep up free slots whose publish task was lost. Uses ``slot_pending_publish_idx``."""
    now = now or timezone.now()
    total = 0
    while True:
        ids = list(
            Slot.objects.filter(status=SlotStatus.FREE, is_blocked=False, is_published=False, start__gt=now)
            .order_by("start")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        total += slots_publish(slot_ids=ids, now=now)


def _unpublish(slots: QuerySet[Slot]) -> list[int]:
    ids = list(slots.values_list("pk", flat=True))
    Slot.objects.filter(pk__in=ids).update(is_published=False, published_at=None)
    if ids:
        _free_times_changed(ids)
    return ids


def slot_free(*, slot_id: int) -> None:
    """A booked or held time is free again. It comes back through the publisher (R-PUB-1),
    unless its type has since been taken off its schedule: then it goes (R-PUB-2). The caller
    holds the slot's row lock; both statements only touch a slot that is still taken."""
    taken = Slot.objects.filter(pk=slot_id, status__in=[SlotStatus.HELD, SlotStatus.BOOKED])
    removed = taken.filter(schedule__removed_at__isnull=False, appointment_type_id=F("schedule__appointment_type_id"))
    if removed.delete()[0]:
        bulk_refresh_later()
        return
    if taken.update(status=SlotStatus.FREE, is_published=False, published_at=None):
        _publish_later([slot_id])  # the bulk files follow once it is published again


def slots_republish_for_type(*, appointment_type: AppointmentType) -> None:
    """R-PUB-1: the type's web name changed, so its free times reappear through the publisher."""
    ids = _unpublish(Slot.objects.filter(appointment_type=appointment_type, status=SlotStatus.FREE))
    _publish_later(ids)


# --- Schedules (R-SCHED-1, R-SCHED-2) ---------------------------------------------------------


def _local(day: dt.date, time: dt.time) -> dt.datetime | None:
    """The aware instant for a Stockholm wall-clock time, or None if the clock skips it (the
    spring-forward hour). In the repeated autumn hour the first occurrence is used."""
    candidate = dt.datetime.combine(day, time, tzinfo=LOCAL_TZ)
    round_trip = candidate.astimezone(dt.UTC).astimezone(LOCAL_TZ)
    if round_trip.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        return None
    return candidate


def schedule_slot_times(schedule: Schedule) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    length = dt.timedelta(minutes=schedule.slot_minutes)
    day = schedule.start_date
    while day <= schedule.end_date:
        if day.isoweekday() in schedule.weekdays:
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
        day += dt.timedelta(days=1)


def _schedule_check(
    *,
    clinic_id: int,
    appointment_type: AppointmentType,
    weekdays: Iterable[int],
    start_date: dt.date,
    end_date: dt.date,
    day_start: dt.time,
    day_end: dt.time,
    slot_minutes: int,
) -> list[int]:
    """The rules a schedule's pattern must meet; returns the weekdays, sorted, or raises."""
    errors: dict[str, list[Any]] = {}
    days = sorted({int(d) for d in weekdays})
    if not days or any(d < 1 or d > 7 for d in days):
        errors["weekdays"] = [_("Choose at least one weekday.")]
    if appointment_type.clinic_id != clinic_id:
        errors["appointment_type"] = [_("Choose an appointment type of this clinic.")]
    if end_date < start_date:
        errors["end_date"] = [_("The last day must be on or after the first day.")]
    elif (end_date - start_date).days >= MAX_SCHEDULE_DAYS:
        errors["end_date"] = [_("A schedule can cover at most one year.")]
    if day_end <= day_start:
        errors["day_end"] = [_("The end time must be after the start time.")]
    if not 5 <= slot_minutes <= 480:
        errors["slot_minutes"] = [_("The slot length must be between 5 and 480 minutes.")]
    if errors:
        raise ValidationFailed(errors)
    return days


def schedule_create(
    *,
    actor: User,
    resource: Resource,
    appointment_type: AppointmentType,
    weekdays: Iterable[int],
    start_date: dt.date,
    end_date: dt.date,
    day_start: dt.time,
    day_end: dt.time,
    slot_minutes: int,
) -> Schedule:
    clinic = resource.clinic
    _require_scheduler(actor, clinic)
    days = _schedule_check(
        clinic_id=clinic.pk,
        appointment_type=appointment_type,
        weekdays=weekdays,
        start_date=start_date,
        end_date=end_date,
        day_start=day_start,
        day_end=day_end,
        slot_minutes=slot_minutes,
    )
    return Schedule.objects.create(
        clinic=clinic,
        resource=resource,
        appointment_type=appointment_type,
        weekdays=days,
        start_date=start_date,
        end_date=end_date,
        day_start=day_start,
        day_end=day_end,
        slot_minutes=slot_minutes,
        created_by=actor,
    )


def _blocked_ranges(resource_id: int, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    return list(Block.objects.filter(resource_id=resource_id, start__lt=end, end__gt=start).values_list("start", "end"))


def _is_blocked(start: dt.datetime, end: dt.datetime, ranges: list[tuple[dt.datetime, dt.datetime]]) -> bool:
    return any(b_start < end and b_end > start for b_start, b_end in ranges)


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
    will be made, ``skipped`` how many are not, and ``slots`` the existing slots in the way."""

    free: Times
    skipped: int
    slots: list[Slot]


def schedule_collisions(*, resource_id: int, times: Times, schedule: Schedule | None = None) -> Collisions:
    if not times:
        return Collisions(free=[], skipped=0, slots=[])
    existing = list(_existing_slots(resource_id, times).select_related("appointment_type"))
    if schedule is not None and schedule.pk:
        # A rerun finds its own times exactly where it makes them: those are kept, not collisions.
        # Any other slot of this schedule (one whose start or end no longer matches its pattern)
        # is in the way like any other slot on the resource (R-OPS-6).
        wanted = set(times)
        existing = [s for s in existing if s.schedule_id != schedule.pk or (s.start, s.end) not in wanted]
    others = [(slot.start, slot.end) for slot in existing]
    hits = _overlapping(times, others)
    ordered = sorted(times)
    in_the_way = _overlapping(others, ordered)
    return Collisions(
        free=[time for time, hit in zip(times, hits, strict=True) if not hit],
        skipped=sum(hits),
        slots=[slot for slot, hit in zip(existing, in_the_way, strict=True) if hit],
    )


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
    web in this same transaction (the background run does; it is the worker of R-PUB-3)."""
    _resource_lock(schedule.resource_id)
    free = schedule_collisions(resource_id=schedule.resource_id, times=times, schedule=schedule)
    if not free.free:
        return 0, free.skipped
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
    # ON CONFLICT DO NOTHING: this schedule's own time made by an earlier run is kept, never
    # duplicated; on PostgreSQL the exclusion constraint is the last line behind the check above.
    Slot.objects.bulk_create(slots, batch_size=2000, ignore_conflicts=True)
    created = in_range.count() - existing
    if created and publish_at is not None:
        free_times.invalidate_on_commit([schedule.clinic_id])
        bulk_refresh_later()
    return created, free.skipped


@transaction.atomic
def schedule_publish(*, actor: User, schedule: Schedule, now: dt.datetime | None = None) -> int:
    """Generate the schedule's slots and hand them to the publisher (R-SCHED-1, R-PUB-1).
    Safe to repeat: existing slots are left alone; times overlapping another slot on the
    resource are skipped and counted in ``publish_skipped`` (R-OPS-6). Returns how many slots
    were created."""
    _require_scheduler(actor, schedule.clinic)
    # Locked as schedule_remove_type locks it: a removal waits for these times and takes them
    # with it, or has already happened and is seen here (R-OPS-3).
    removed_at = Schedule.objects.select_for_update().filter(pk=schedule.pk).values_list("removed_at", flat=True)
    if schedule.removed_at is not None or removed_at.first() is not None:
        raise ValidationFailed(
            {"appointment_type": [_("This type was removed from the schedule; make a new schedule.")]}
        )
    now = now or timezone.now()
    times = _future_times(schedule, now)
    if not times:
        schedule.published_at = schedule.published_at or now
        schedule.save(update_fields=["published_at"])
        return 0
    created, skipped = _schedule_insert_slots(schedule, times)
    schedule.published_at = now
    schedule.publish_skipped = skipped
    schedule.save(update_fields=["published_at", "publish_skipped"])
    from .tasks import schedule_slots_publish

    enqueue_on_commit(schedule_slots_publish, schedule.pk)
    return created


# Publishes of more slots than this run in a worker, batch by batch, with progress shown.
PUBLISH_IN_BACKGROUND_OVER = 500


def _future_times(schedule: Schedule, now: dt.datetime) -> Times:
    return [(start, end) for start, end in schedule_slot_times(schedule) if start > now]


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
    *,
    actor: User,
    resource: Resource,
    appointment_type: AppointmentType,
    weekdays: Iterable[int],
    start_date: dt.date,
    end_date: dt.date,
    day_start: dt.time,
    day_end: dt.time,
    slot_minutes: int,
    now: dt.datetime | None = None,
) -> SchedulePreview:
    """What publishing this pattern would make, and which existing times are in its way (times
    already passed are never made); the same checks as :func:`schedule_create`, and nothing is
    saved (R-SCHED-1, R-OPS-6)."""
    _require_scheduler(actor, resource.clinic)
    days = _schedule_check(
        clinic_id=resource.clinic_id,
        appointment_type=appointment_type,
        weekdays=weekdays,
        start_date=start_date,
        end_date=end_date,
        day_start=day_start,
        day_end=day_end,
        slot_minutes=slot_minutes,
    )
    draft = Schedule(
        weekdays=days,
        start_date=start_date,
        end_date=end_date,
        day_start=day_start,
        day_end=day_end,
        slot_minutes=slot_minutes,
    )
    collisions = schedule_collisions(resource_id=resource.pk, times=_future_times(draft, now or timezone.now()))
    return SchedulePreview(
        count=len(collisions.free),
        skipped=collisions.skipped,
        collisions=collisions.slots[:COLLISIONS_SHOWN],
        collision_count=len(collisions.slots),
    )


def schedule_preview(**values: Any) -> int:
    """How many slots publishing this pattern would make (see :func:`schedule_preview_detail`)."""
    return schedule_preview_detail(**values).count


def _publish_stale_before(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=settings.TIDBOK_PUBLISH_STALE_SECONDS)


def _publish_enqueue(schedule_id: int) -> None:
    from .tasks import schedule_publish_background

    enqueue_on_commit(schedule_publish_background, schedule_id)


@transaction.atomic
def schedule_publish_start(*, actor: User, schedule: Schedule, now: dt.datetime | None = None) -> int | None:
    """Publish a schedule: at once when it is small, returning how many slots were created;
    in a worker when it makes more than PUBLISH_IN_BACKGROUND_OVER slots, returning None (the
    schedule's ``publish_*`` fields then show the progress, R-OPS-3)."""
    _require_scheduler(actor, schedule.clinic)
    now = now or timezone.now()
    total = len(_future_times(schedule, now))
    if total <= PUBLISH_IN_BACKGROUND_OVER:
        created = schedule_publish(actor=actor, schedule=schedule, now=now)
        Schedule.objects.filter(pk=schedule.pk).update(
            publish_state=PublishState.DONE, publish_total=total, publish_done=total, publish_cursor=None
        )
        schedule.refresh_from_db()
        return created
    if schedule.removed_at is not None:
        raise ValidationFailed(
            {"appointment_type": [_("This type was removed from the schedule; make a new schedule.")]}
        )
    # A conditional UPDATE: one publish run per schedule at a time, however often it is asked for.
    queued = (
        Schedule.objects.filter(pk=schedule.pk)
        .exclude(publish_state__in=[PublishState.QUEUED, PublishState.RUNNING])
        .update(
            publish_state=PublishState.QUEUED,
            publish_total=total,
            publish_done=0,
            publish_skipped=0,
            publish_cursor=None,
            publish_heartbeat_at=now,
            publish_actor=actor,
            publish_token="",
            publish_task_id="",
            publish_attempts=0,
        )
    )
    if not queued:
        raise ValidationFailed({"schedule": [_("This schedule is already being published.")]})
    _publish_enqueue(schedule.pk)
    schedule.refresh_from_db()
    return None


@transaction.atomic
def schedule_create_and_publish(
    *,
    actor: User,
    resource: Resource,
    appointment_type: AppointmentType,
    weekdays: Iterable[int],
    start_date: dt.date,
    end_date: dt.date,
    day_start: dt.time,
    day_end: dt.time,
    slot_minutes: int,
    now: dt.datetime | None = None,
) -> tuple[Schedule, int | None]:
    """Create a schedule and publish it (R-SCHED-1), or nothing at all if either step says no."""
    schedule = schedule_create(
        actor=actor,
        resource=resource,
        appointment_type=appointment_type,
        weekdays=weekdays,
        start_date=start_date,
        end_date=end_date,
        day_start=day_start,
        day_end=day_end,
        slot_minutes=slot_minutes,
    )
    return schedule, schedule_publish_start(actor=actor, schedule=schedule, now=now)


def _publish_claim(*, schedule_id: int, task_id: str, now: dt.datetime) -> str | None:
    """Claim the schedule's publish run for this execution; returns its token, or None if the
    run is not this execution's to do. Claimable: a queued run; a running one whose heartbeat is
    stale (its worker is gone); and a running one claimed by this same task id, i.e. this very
    message redelivered because the worker running it died (acks_late + reject_on_worker_lost).
    Any execution that loses its token to a new claim stops at its next batch."""
    claimable = Q(publish_state=PublishState.QUEUED) | Q(
        publish_stale_q(_publish_stale_before(now)), publish_state=PublishState.RUNNING
    )
    if task_id:
        claimable |= Q(publish_state=PublishState.RUNNING, publish_task_id=task_id)
    token = uuid.uuid4().hex
    with transaction.atomic():
        row = Schedule.objects.select_for_update().filter(claimable, pk=schedule_id).first()
        if row is None:
            return None
        if row.publish_attempts >= settings.TIDBOK_PUBLISH_MAX_ATTEMPTS:
            # The run has died this often: something in it kills workers. Stop and show it.
            logger.error("publishing schedule %s gave up after %s attempts", schedule_id, row.publish_attempts)
            Schedule.objects.filter(pk=schedule_id).update(publish_state=PublishState.FAILED, publish_token="")
            return None
        Schedule.objects.filter(pk=schedule_id).update(
            publish_state=PublishState.RUNNING,
            publish_token=token,
            publish_task_id=task_id,
            publish_heartbeat_at=now,
            publish_attempts=F("publish_attempts") + 1,
        )
    return token


def schedule_publish_run(
    *,
    schedule_id: int,
    actor_id: int | None = None,
    task_id: str = "",
    batch_size: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """The worker's part of a large publish (R-SCHED-1, R-PUB-1, R-OPS-3, R-OPS-6).

    The run is claimed first (:func:`_publish_claim`), so a task delivered twice does the work
    once. Then slots are made batch by batch, each batch its own short transaction that checks
    the claim still holds, makes and publishes the batch's times under the resource lock, and
    records the cursor (the last start handled), the progress and the heartbeat. A run killed at
    any point has therefore either made and published a batch completely or not at all, and a
    resumed run starts after the cursor: every slot is made once and published once. Times that
    overlap slots already on the resource are skipped and counted (R-OPS-6).
    Returns how many slots this execution created."""
    batch_size = batch_size or settings.TIDBOK_PUBLISH_BATCH_SIZE
    token = _publish_claim(schedule_id=schedule_id, task_id=task_id, now=timezone.now())
    if token is None:
        return 0
    schedule = Schedule.objects.select_related("clinic", "publish_actor", "created_by").get(pk=schedule_id)
    mine = Schedule.objects.filter(pk=schedule_id, publish_token=token)
    created = 0
    try:
        actor = schedule.publish_actor or User.objects.filter(pk=actor_id).first() or schedule.created_by
        if actor is None:
            raise PermissionDeniedError()
        _require_scheduler(actor, schedule.clinic)
        now = now or timezone.now()
        times = _future_times(schedule, now)
        if schedule.publish_cursor is not None:
            times = [(start, end) for start, end in times if start > schedule.publish_cursor]
        for offset in range(0, len(times), batch_size):
            batch = times[offset : offset + batch_size]
            with transaction.atomic():
                current = mine.select_for_update().first()
                if current is None:
                    logger.info("publishing schedule %s was taken over; this execution stops", schedule_id)
                    return created
                if current.removed_at is not None:
                    raise ValidationFailed({"appointment_type": [_("This type was removed from the schedule.")]})
                made, skipped = _schedule_insert_slots(schedule, batch, publish_at=timezone.now())
                created += made
                mine.update(
                    publish_done=F("publish_done") + len(batch),
                    publish_skipped=F("publish_skipped") + skipped,
                    publish_cursor=batch[-1][0],
                    publish_heartbeat_at=timezone.now(),
                )
        mine.update(
            publish_state=PublishState.DONE,
            published_at=now,
            publish_done=F("publish_total"),
            publish_token="",
            publish_heartbeat_at=timezone.now(),
        )
    except DomainError:
        logger.warning("publishing schedule %s was refused", schedule_id, exc_info=True)
        mine.update(publish_state=PublishState.FAILED, publish_token="")
    # Anything else (the database went away, a bug) leaves the run as it is: its heartbeat goes
    # stale and the sweep resumes it from the cursor, up to TIDBOK_PUBLISH_MAX_ATTEMPTS times.
    return created


def schedule_publish_resume_stale(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """The beat sweep (R-OPS-3): a queued or running publish whose heartbeat is older than
    TIDBOK_PUBLISH_STALE_SECONDS lost its worker (killed, out of memory) or its task message;
    it is queued again and resumes from its cursor. Returns how many runs were queued again."""
    now = now or timezone.now()
    stale = Schedule.objects.filter(
        publish_stale_q(_publish_stale_before(now)),
        publish_state__in=[PublishState.QUEUED, PublishState.RUNNING],
    )
    resumed = 0
    for schedule_id in list(stale.order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            # Conditional: a run that beat since the query above is left alone.
            if stale.filter(pk=schedule_id).update(
                publish_state=PublishState.QUEUED, publish_token="", publish_task_id="", publish_heartbeat_at=now
            ):
                logger.warning("publishing schedule %s had stalled; queued again", schedule_id)
                _publish_enqueue(schedule_id)
                resumed += 1
    return resumed


@transaction.atomic
def schedule_publish_resume(*, actor: User, schedule: Schedule, now: dt.datetime | None = None) -> None:
    """A scheduler resumes a stalled publish by hand (R-OPS-3): the same as the sweep, with a
    fresh budget of attempts and on their authority. Audited. Only a stalled run can be resumed;
    a run that is still making progress is left to finish."""
    from accounts.services import audit_record

    _require_scheduler(actor, schedule.clinic)
    now = now or timezone.now()
    if schedule.removed_at is not None:
        raise ValidationFailed(
            {"appointment_type": [_("This type was removed from the schedule; make a new schedule.")]}
        )
    resumed = Schedule.objects.filter(
        publish_stale_q(_publish_stale_before(now)),
        pk=schedule.pk,
        publish_state__in=[PublishState.QUEUED, PublishState.RUNNING],
    ).update(
        publish_state=PublishState.QUEUED,
        publish_token="",
        publish_task_id="",
        publish_heartbeat_at=now,
        publish_attempts=0,
        publish_actor=actor,
    )
    if not resumed:
        raise ValidationFailed({"schedule": [_("Publishing has not stalled, so there is nothing to resume.")]})
    audit_record(
        actor=actor,
        action="schedule.publish_resume",
        clinic=schedule.clinic,
        obj=schedule,
        detail=f"{schedule.publish_done}/{schedule.publish_total}",
    )
    _publish_enqueue(schedule.pk)
    schedule.refresh_from_db()


@transaction.atomic
def schedule_remove_type(*, actor: User, schedule: Schedule, now: dt.datetime | None = None) -> int | None:
    """R-PUB-2 / R-SCHED-2: the type comes off the schedule and its unbooked times go at once,
    held ones included (their holds end with them); booked slots stay, and go too if their
    booking is later cancelled (see :func:`slot_free`). Returns how many slots were removed, or
    None when the type was already off the schedule (asking again changes nothing).

    R-OPS-3: the schedule row is locked before anything is read, the same lock a publish batch
    takes before it makes its times. A batch running now therefore either committed its slots
    before this looks for them (and they are removed with the rest) or sees ``removed_at`` and
    stops: no free time of a removed type is left behind, whichever caller (page, API) asks."""
    locked = Schedule.objects.select_for_update().select_related("clinic").get(pk=schedule.pk)
    _require_scheduler(actor, locked.clinic)
    if locked.removed_at is not None:
        schedule.removed_at = locked.removed_at
        return None
    now = now or timezone.now()
    free = (
        Slot.objects.select_for_update()
        .filter(
            schedule=locked,
            appointment_type=locked.appointment_type_id,
            status__in=[SlotStatus.FREE, SlotStatus.HELD],
            start__gt=now,
        )
        .order_by("pk")
    )
    removed, _details = Slot.objects.filter(pk__in=list(free.values_list("pk", flat=True))).delete()
    locked.removed_at = schedule.removed_at = now
    locked.save(update_fields=["removed_at"])
    free_times.invalidate_on_commit([locked.clinic_id])
    bulk_refresh_later()
    return removed


# --- Single slots, type changes, blocks (R-SCHED-2, R-PUB-1, R-PUB-2) --------------------------


@transaction.atomic
def slot_add(
    *, actor: User, resource: Resource, appointment_type: AppointmentType, start: dt.datetime, end: dt.datetime
) -> Slot:
    """A single time in the calendar (R-SCHED-2). R-OPS-6: refused if it overlaps a time already
    on the resource, checked under the resource's row lock on every database."""
    _require_scheduler(actor, resource.clinic)
    errors: dict[str, list[Any]] = {}
    if appointment_type.clinic_id != resource.clinic_id:
        errors["appointment_type"] = [_("Choose an appointment type of this clinic.")]
    if end <= start:
        errors["end"] = [_("The end must be after the start.")]
    elif start <= timezone.now():
        errors["start"] = [_("A new time must be in the future.")]
    if errors:
        raise ValidationFailed(errors)
    _resource_lock(resource.pk)
    collisions = schedule_collisions(resource_id=resource.pk, times=[(start, end)]).slots
    if collisions:
        raise ValidationFailed({"start": [_overlap_message(collisions[0])]})
    try:
        with transaction.atomic():
            slot = Slot.objects.create(
                clinic_id=resource.clinic_id,
                resource=resource,
                appointment_type=appointment_type,
                start=start,
                end=end,
                is_blocked=_is_blocked(start, end, _blocked_ranges(resource.pk, start, end)),
            )
    except IntegrityError:
        # The last line on PostgreSQL (slot_resource_no_overlap), for a writer that skipped the lock.
        raise ValidationFailed({"start": [_("The resource already has a time that overlaps this one.")]}) from None
    _publish_later([slot.pk])
    return slot


def _overlap_message(slot: Slot) -> str:
    start = timezone.localtime(slot.start, LOCAL_TZ)
    end = timezone.localtime(slot.end, LOCAL_TZ)
    return _("The resource already has a time that overlaps this one: %(day)s %(start)s–%(end)s.") % {
        "day": start.strftime("%Y-%m-%d"),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
    }


@dataclass(frozen=True)
class TypeChange:
    """What a type change did: ``changed`` times got the new type, ``booked_kept`` booked times
    kept the type they were booked as."""

    changed: int
    booked_kept: int


@transaction.atomic
def slots_change_type(*, actor: User, slots: QuerySet[Slot], appointment_type: AppointmentType) -> TypeChange:
    """Give slots another type. Booked slots keep theirs (the booking is for what was booked);
    how many did is counted under the same row locks. R-PUB-1: if the web name changes, the
    times reappear through the publisher."""
    locked = slots.select_for_update()
    booked_kept = locked.filter(status=SlotStatus.BOOKED).count()
    slots = locked.exclude(status=SlotStatus.BOOKED).select_related("appointment_type")
    changed = []
    for slot in slots:
        _require_scheduler(actor, slot.clinic)
        if appointment_type.clinic_id != slot.clinic_id:
            raise ValidationFailed({"appointment_type": [_("Choose an appointment type of this clinic.")]})
        if slot.appointment_type.web_name != appointment_type.web_name:
            changed.append(slot.pk)
    ids = list(slots.values_list("pk", flat=True))
    Slot.objects.filter(pk__in=ids).update(appointment_type=appointment_type)
    free_times.invalidate_on_commit([appointment_type.clinic_id])
    _publish_later(_unpublish(Slot.objects.filter(pk__in=changed, status=SlotStatus.FREE)))
    return TypeChange(changed=len(ids), booked_kept=booked_kept)


@dataclass(frozen=True)
class BlockCreated:
    """A new block and how many booked times inside it stay booked (staff decide on those)."""

    block: Block
    booked_kept: int


@transaction.atomic
def block_create(
    *, actor: User, resource: Resource, start: dt.datetime, end: dt.datetime, reason: str = ""
) -> BlockCreated:
    """R-PUB-2: the block takes its free times off the web in this same transaction.
    Booked times inside it stay booked; staff decide whether to cancel them."""
    _require_scheduler(actor, resource.clinic)
    if end <= start:
        raise ValidationFailed({"end": [_("The end must be after the start.")]})
    block = Block.objects.create(
        clinic_id=resource.clinic_id, resource=resource, start=start, end=end, reason=reason[:200], created_by=actor
    )
    Slot.objects.filter(resource=resource, start__lt=end, end__gt=start).update(
        is_blocked=True, is_published=False, published_at=None
    )
    free_times.invalidate_on_commit([resource.clinic_id])
    bulk_refresh_later()
    booked_kept = Slot.objects.filter(resource=resource, start__lt=end, end__gt=start, status=SlotStatus.BOOKED).count()
    return BlockCreated(block=block, booked_kept=booked_kept)


@transaction.atomic
def block_delete(*, actor: User, block: Block) -> None:
    _require_scheduler(actor, block.clinic)
    covered = Slot.objects.filter(resource_id=block.resource_id, start__lt=block.end, end__gt=block.start)
    block.delete()
    other_block = Block.objects.filter(
        resource_id=OuterRef("resource_id"), start__lt=OuterRef("end"), end__gt=OuterRef("start")
    )
    ids = list(covered.exclude(Exists(other_block)).values_list("pk", flat=True))
    Slot.objects.filter(pk__in=ids).update(is_blocked=False)
    _publish_later(ids)


# --- Holds (R-BOOK-3) -------------------------------------------------------------------------


def _lock_slot_rows(slot_ids: Iterable[int]) -> None:
    """Row-lock slots in id order: every path that changes a slot and its holds or bookings
    locks the slot first, so no two of them wait on each other in a circle."""
    list(Slot.objects.select_for_update().filter(pk__in=sorted(set(slot_ids))).order_by("pk").values_list("pk"))


def hold_release(*, hold: Hold) -> bool:
    """End an active hold and free its slot. The caller runs in a transaction and has locked
    the slot (see :func:`_lock_slot_rows`); the conditional UPDATE lets only one of the worker
    and the resident release a given hold."""
    claimed = Hold.objects.filter(pk=hold.pk, state=HoldState.ACTIVE).update(state=HoldState.RELEASED)
    if not claimed:
        return False
    # Under the slot lock: free it only if it is still merely held, never if it was booked.
    if Slot.objects.filter(pk=hold.slot_id, status=SlotStatus.HELD).exists():
        slot_free(slot_id=hold.slot_id)
    hold.state = HoldState.RELEASED
    return True


@transaction.atomic
def hold_create(*, resident: User, slot_id: int, rebook_of: Any = None, now: dt.datetime | None = None) -> Hold:
    """Set a time aside for the resident for TIDBOK_HOLD_MINUTES (R-BOOK-3). The slot leaves
    the web at once. A resident holds one time at a time: a new hold releases the old one."""
    from accounts.services import resident_lock

    now = now or timezone.now()
    resident_lock(resident=resident)
    own_holds = list(Hold.objects.filter(resident=resident, state=HoldState.ACTIVE))
    _lock_slot_rows([slot_id, *(h.slot_id for h in own_holds)])
    slot = Slot.objects.select_related("clinic__region", "appointment_type").filter(pk=slot_id).first()
    if slot is None:
        # Removed since the page was shown (R-PUB-2): to the resident, simply no longer there.
        raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED)
    if rebook_of is not None:
        from bookings.selectors import booking_for_resident, rebook_check

        booking_for_resident(resident=resident, booking_id=rebook_of.pk, now=now)  # R-BOOK-5, R-REL-2
        rebook_check(booking=rebook_of, resident=resident, new_slot=slot, now=now)
    else:
        slot_check_offered(slot=slot, resident=resident, now=now)
    # The checks above passed, so any active hold left on this slot is the resident's own or
    # one that has run out without the worker having swept it yet: both give way.
    for old in [*own_holds, *Hold.objects.filter(slot=slot, state=HoldState.ACTIVE).exclude(resident=resident)]:
        hold_release(hold=old)
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.HELD, is_published=False, published_at=None)
    free_times.invalidate_on_commit([slot.clinic_id])
    return Hold.objects.create(
        slot=slot,
        resident=resident,
        rebook_of=rebook_of,
        expires_at=now + dt.timedelta(minutes=settings.TIDBOK_HOLD_MINUTES),
    )


@transaction.atomic
def hold_cancel(*, resident: User, hold: Hold) -> None:
    if hold.resident_id != resident.pk:
        raise BookingError(ErrorCode.NOT_FOUND)
    _lock_slot_rows([hold.slot_id])
    hold_release(hold=hold)


def holds_release_expired(*, now: dt.datetime | None = None) -> int:
    """The worker's sweep (R-BOOK-3): each expired hold is released in its own transaction."""
    now = now or timezone.now()
    released = 0
    for hold in Hold.objects.filter(state=HoldState.ACTIVE, expires_at__lte=now).order_by("expires_at")[:1000]:
        try:
            with transaction.atomic():
                _lock_slot_rows([hold.slot_id])
                released += hold_release(hold=hold)
        except OperationalError:
            # A lock timeout or deadlock victim: the next sweep picks this hold up again.
            logger.warning("could not release hold %s this round", hold.pk, exc_info=True)
    return released
