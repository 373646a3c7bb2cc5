"""Publishing a schedule's slots, at once or batch by batch in a worker, and taking a type off
a schedule (R-SCHED-1, R-SCHED-2, R-OPS-3, R-OPS-6)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import audit_record
from clinics.models import FreedTimes
from core.errors import DomainError, PermissionDeniedError, ValidationFailed
from core.queue import enqueue_on_commit

from ..models import PublishState, Schedule, Slot, SlotStatus, publish_stale_q
from .common import _require_scheduler, times_changed_later
from .overlap import Times
from .patterns import SchedulePattern, _future_times, schedule_create
from .slot_insert import _schedule_insert_slots
from .web_publishing import slots_publish

logger = logging.getLogger(__name__)

# --- Publishing a schedule (R-SCHED-1, R-OPS-3, R-OPS-6) -----------------------------------------


def _published_times_changed(clinic_id: int) -> None:
    """New times are on the web: once per publish run, not per batch or slot, the clinic's cached
    free times and the FHIR bulk files follow after the commit (through the outbox)."""
    times_changed_later([clinic_id])


@transaction.atomic
def schedule_publish(*, actor: User, schedule: Schedule, now: dt.datetime | None = None) -> int:
    """Generate the schedule's slots and hand them to the publisher (R-SCHED-1, R-PUB-1).
    Safe to repeat: existing slots are left alone; times overlapping another slot on the
    resource are skipped and counted in ``publish_skipped`` (R-OPS-6). Returns how many slots
    were created."""
    _require_scheduler(actor, schedule.clinic)
    now = now or timezone.now()
    return _publish_at_once(schedule, _future_times(schedule, now), now)


def _publish_at_once(schedule: Schedule, times: Times, now: dt.datetime) -> int:
    """:func:`schedule_publish` of ``times``, the scheduler already checked, in the caller's
    transaction."""
    # Locked as schedule_remove_type locks it: a removal waits for these times and takes them
    # with it, or has already happened and is seen here (R-OPS-3).
    removed_at = Schedule.objects.select_for_update().filter(pk=schedule.pk).values_list("removed_at", flat=True)
    if schedule.removed_at is not None or removed_at.first() is not None:
        raise ValidationFailed(
            {"appointment_type": [_("This type was removed from the schedule; make a new schedule.")]}
        )
    if not times:
        schedule.published_at = schedule.published_at or now
        schedule.save(update_fields=["published_at"])
        return 0
    created, skipped = _schedule_insert_slots(schedule, times)
    schedule.published_at = now
    schedule.publish_skipped = skipped
    schedule.save(update_fields=["published_at", "publish_skipped"])
    from ..tasks import schedule_slots_publish  # the tasks module imports these services

    enqueue_on_commit(schedule_slots_publish, schedule.pk)
    return created


# Publishes of more slots than this run in a worker, batch by batch, with progress shown.
PUBLISH_IN_BACKGROUND_OVER = 500


def _publish_stale_before(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=settings.TIDBOK_PUBLISH_STALE_SECONDS)


def _publish_enqueue(schedule_id: int) -> None:
    from ..tasks import schedule_publish_background  # the tasks module imports these services

    enqueue_on_commit(schedule_publish_background, schedule_id)


@transaction.atomic
def schedule_publish_start(*, actor: User, schedule: Schedule, now: dt.datetime | None = None) -> int | None:
    """Publish a schedule: at once when it is small, returning how many slots were created;
    in a worker when it makes more than PUBLISH_IN_BACKGROUND_OVER slots, returning None (the
    schedule's ``publish_*`` fields then show the progress, R-OPS-3)."""
    _require_scheduler(actor, schedule.clinic)
    return _publish_start(actor=actor, schedule=schedule, now=now or timezone.now())


def _publish_start(*, actor: User, schedule: Schedule, now: dt.datetime) -> int | None:
    """:func:`schedule_publish_start`, the scheduler already checked, in the caller's transaction."""
    times = _future_times(schedule, now)
    total = len(times)
    if total <= PUBLISH_IN_BACKGROUND_OVER:
        created = _publish_at_once(schedule, times, now)
        done = {
            "publish_state": PublishState.DONE,
            "publish_total": total,
            "publish_done": total,
            "publish_cursor": None,
        }
        Schedule.objects.filter(pk=schedule.pk).update(**done)
        _set(schedule, done)
        return created
    if schedule.removed_at is not None:
        raise ValidationFailed(
            {"appointment_type": [_("This type was removed from the schedule; make a new schedule.")]}
        )
    queued = {
        "publish_state": PublishState.QUEUED,
        "publish_total": total,
        "publish_done": 0,
        "publish_skipped": 0,
        "publish_cursor": None,
        "publish_heartbeat_at": now,
        "publish_actor": actor,
        "publish_token": "",
        "publish_task_id": "",
        "publish_attempts": 0,
    }
    # A conditional UPDATE: one publish run per schedule at a time, however often it is asked for.
    if (
        not Schedule.objects.filter(pk=schedule.pk)
        .exclude(publish_state__in=[PublishState.QUEUED, PublishState.RUNNING])
        .update(**queued)
    ):
        raise ValidationFailed({"schedule": [_("This schedule is already being published.")]})
    _set(schedule, queued)
    _publish_enqueue(schedule.pk)
    return None


def _set(schedule: Schedule, fields: dict[str, Any]) -> None:
    """What an UPDATE just wrote, onto the caller's instance (no second read of the row)."""
    for name, value in fields.items():
        setattr(schedule, name, value)


@transaction.atomic
def schedule_create_and_publish(
    *, actor: User, pattern: SchedulePattern, now: dt.datetime | None = None
) -> tuple[Schedule, int | None]:
    """Create a schedule and publish it (R-SCHED-1), or nothing at all if either step says no."""
    schedule = schedule_create(actor=actor, pattern=pattern)  # checks the scheduler
    return schedule, _publish_start(actor=actor, schedule=schedule, now=now or timezone.now())


def _publish_claim(*, schedule_id: int, task_id: str, now: dt.datetime) -> Schedule | None:
    """Claim the schedule's publish run for this execution; returns the schedule with its new
    ``publish_token``, or None if the run is not this execution's to do. Claimable: a queued
    run; a running one whose heartbeat is stale (its worker is gone); and a running one claimed
    by this same task id, i.e. this very message redelivered because the worker running it died
    (acks_late + reject_on_worker_lost).
    Any execution that loses its token to a new claim stops at its next batch."""
    claimable = Q(publish_state=PublishState.QUEUED) | Q(
        publish_stale_q(_publish_stale_before(now)), publish_state=PublishState.RUNNING
    )
    if task_id:
        claimable |= Q(publish_state=PublishState.RUNNING, publish_task_id=task_id)
    token = uuid.uuid4().hex
    with transaction.atomic():
        row = (
            Schedule.objects.select_for_update(of=("self",))
            .select_related("clinic", "appointment_type", "publish_actor", "created_by")
            .filter(claimable, pk=schedule_id)
            .first()
        )
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
    row.publish_token = token
    return row


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
    records the cursor (the last start handled), the progress and the heartbeat (a type that
    offers freed times to its waitlist first has them offered there before the web, R-WAIT-2,
    see :func:`_publish_batch`). A run killed at any point has therefore either made and
    published a batch completely or not at all, and a resumed run starts after the cursor: every
    slot is made once and published once. Times that overlap slots already on the resource are
    skipped and counted (R-OPS-6).
    Returns how many slots this execution created."""
    batch_size = batch_size or settings.TIDBOK_PUBLISH_BATCH_SIZE
    schedule = _publish_claim(schedule_id=schedule_id, task_id=task_id, now=timezone.now())
    if schedule is None:
        return 0
    mine = Schedule.objects.filter(pk=schedule_id, publish_token=schedule.publish_token)
    created = 0
    try:
        named = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
        actor = schedule.publish_actor or named or schedule.created_by
        if actor is None:
            raise PermissionDeniedError()
        _require_scheduler(actor, schedule.clinic)
        now = now or timezone.now()
        times = _future_times(schedule, now)
        if schedule.publish_cursor is not None:
            times = [(start, end) for start, end in times if start > schedule.publish_cursor]
        # At least one batch, even an empty one: its transaction is the one that ends the run.
        batches = [times[offset : offset + batch_size] for offset in range(0, len(times), batch_size)] or [[]]
        for number, batch in enumerate(batches, start=1):
            with transaction.atomic():
                current = mine.select_for_update().first()
                if current is None:
                    logger.info("publishing schedule %s was taken over; this execution stops", schedule_id)
                    return created
                if current.removed_at is not None:
                    raise ValidationFailed({"appointment_type": [_("This type was removed from the schedule.")]})
                made, skipped = _publish_batch(schedule, batch) if batch else (0, 0)
                created += made
                progress = {
                    "publish_skipped": F("publish_skipped") + skipped,
                    "publish_heartbeat_at": timezone.now(),
                    **({"publish_cursor": batch[-1][0]} if batch else {}),
                }
                if number < len(batches):
                    mine.update(publish_done=F("publish_done") + len(batch), **progress)
                    continue
                # The last batch ends the run in its own transaction, the claim still held: the
                # run is done exactly when its last times are made, and the caches are asked to
                # follow once for every batch of the run, this execution's and any before a crash.
                mine.update(
                    publish_state=PublishState.DONE,
                    published_at=now,
                    publish_done=F("publish_total"),
                    publish_token="",
                    **progress,
                )
                _published_times_changed(schedule.clinic_id)
    except DomainError:
        logger.warning("publishing schedule %s was refused", schedule_id, exc_info=True)
        with transaction.atomic():
            mine.update(publish_state=PublishState.FAILED, publish_token="")
            if created:
                _published_times_changed(schedule.clinic_id)
    # Anything else (the database went away, a bug) leaves the run as it is: its heartbeat goes
    # stale and the sweep resumes it from the cursor, up to TIDBOK_PUBLISH_MAX_ATTEMPTS times.
    return created


def _publish_batch(schedule: Schedule, batch: Times) -> tuple[int, int]:
    """Make and publish one batch of a background run in the caller's transaction; returns
    (how many are new, how many were skipped)."""
    if schedule.appointment_type.freed_times != FreedTimes.WAITLIST:
        return _schedule_insert_slots(schedule, batch, publish_at=timezone.now())
    # R-WAIT-2: the type offers freed times to its waitlist first, so the batch's times go in
    # unpublished and through the publisher, which offers them to the waitlist before the web
    # does; in this transaction, so a killed run has offered and published all of a batch or none.
    made, skipped = _schedule_insert_slots(schedule, batch)
    in_batch = Slot.objects.filter(schedule=schedule, start__gte=batch[0][0], start__lte=batch[-1][0])
    slots_publish(slot_ids=in_batch.values_list("pk", flat=True), now=timezone.now())
    return made, skipped


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
            status__in=[SlotStatus.FREE, SlotStatus.HELD, SlotStatus.OFFERED],
            start__gt=now,
        )
        .order_by("pk")
    )
    removed, _details = Slot.objects.filter(pk__in=list(free.values_list("pk", flat=True))).delete()
    locked.removed_at = schedule.removed_at = now
    locked.save(update_fields=["removed_at"])
    times_changed_later([locked.clinic_id])
    return removed
