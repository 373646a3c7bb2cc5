"""A background publish (R-SCHED-1, R-PUB-1, R-OPS-3) makes each batch's slots as one set and tells
the caches once per publish, not per batch or slot: one bump of the clinic's free-times version
and one ask for the FHIR bulk files, after the run's last commit."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection

from core.outbox.models import OutboxMessage
from schedules import free_times
from schedules.models import Block, PublishState, Schedule, Slot
from schedules.services import (
    BULK_REFRESH_ASK,
    schedule_create,
    schedule_publish,
    schedule_publish_run,
    schedule_publish_start,
    schedule_publishing,
    schedule_slot_times,
    slot_insert,
)
from schedules.services.overlap import Collisions, schedule_collisions

from ..factories import SlotFactory, schedule_pattern, tomorrow_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(scheduler, resource, appointment_type, django_capture_on_commit_callbacks) -> Schedule:
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type, days=14, day_end=dt.time(16), slot_minutes=10),
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert schedule_publish_start(actor=scheduler, schedule=schedule) is None
    return schedule


def test_r_pub_1_a_publish_of_many_batches_tells_the_caches_once(queued):
    OutboxMessage.objects.all().delete()

    made = schedule_publish_run(schedule_id=queued.pk, batch_size=100)

    assert made == 14 * 48 and Slot.objects.filter(schedule=queued, is_published=True).count() == made
    names = list(OutboxMessage.objects.values_list("name", flat=True))
    assert names.count(free_times.INVALIDATE) == 1
    assert names.count(BULK_REFRESH_ASK) == 1
    assert Schedule.objects.get(pk=queued.pk).publish_state == PublishState.DONE


def test_r_sched_2_times_under_a_block_are_made_blocked_and_stay_off_the_web(queued, resource):
    first = min(start for start, _end in schedule_slot_times(queued))
    Block.objects.create(clinic=resource.clinic, resource=resource, start=first, end=first + dt.timedelta(minutes=25))

    schedule_publish_run(schedule_id=queued.pk, batch_size=100)

    slots = Slot.objects.filter(schedule=queued).order_by("start")
    blocked = [s for s in slots if s.is_blocked]
    assert [s.start for s in blocked] == [first, first + dt.timedelta(minutes=10), first + dt.timedelta(minutes=20)]
    assert not any(s.is_published or s.published_at for s in blocked)
    assert all(s.is_published and s.published_at for s in slots if not s.is_blocked)


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing in the service handles it."""


def test_r_ops_3_the_run_is_done_in_the_transaction_of_its_last_batch(queued, monkeypatch):
    """Killed while making its last batch, a run has made none of that batch, is not done and has
    asked the caches for nothing; resumed, it makes the batch, is done and asks once."""
    OutboxMessage.objects.all().delete()
    real = schedule_publishing._schedule_insert_slots
    made: list[object] = []

    def insert(schedule, times, **kwargs):
        if len(made) == 6:  # 672 times in batches of 100: the seventh is the last
            real(schedule, times, **kwargs)
            raise WorkerKilled
        made.append(times)
        return real(schedule, times, **kwargs)

    monkeypatch.setattr(schedule_publishing, "_schedule_insert_slots", insert)
    with pytest.raises(WorkerKilled):
        schedule_publish_run(schedule_id=queued.pk, task_id="the-message", batch_size=100)

    run = Schedule.objects.get(pk=queued.pk)
    assert (run.publish_state, run.publish_done) == (PublishState.RUNNING, 600)
    assert Slot.objects.filter(schedule=queued).count() == 600
    assert not OutboxMessage.objects.exists()

    monkeypatch.undo()
    assert schedule_publish_run(schedule_id=queued.pk, task_id="the-message", batch_size=100) == 72
    run = Schedule.objects.get(pk=queued.pk)
    assert (run.publish_state, run.publish_done, run.publish_token) == (PublishState.DONE, 672, "")
    assert Slot.objects.filter(schedule=queued, is_published=True).count() == 672
    names = list(OutboxMessage.objects.values_list("name", flat=True))
    assert names.count(free_times.INVALIDATE) == 1 and names.count(BULK_REFRESH_ASK) == 1


def test_r_ops_3_a_run_with_nothing_left_to_make_is_done_and_asks_once(queued):
    OutboxMessage.objects.all().delete()
    later = max(end for _start, end in schedule_slot_times(queued))

    assert schedule_publish_run(schedule_id=queued.pk, now=later) == 0

    run = Schedule.objects.get(pk=queued.pk)
    assert (run.publish_state, run.published_at) == (PublishState.DONE, later)
    assert not Slot.objects.filter(schedule=queued).exists()
    names = list(OutboxMessage.objects.values_list("name", flat=True))
    assert names.count(free_times.INVALIDATE) == 1 and names.count(BULK_REFRESH_ASK) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the exclusion constraint is PostgreSQL's")
def test_r_ops_6_a_time_in_the_way_that_the_check_did_not_see_is_skipped_not_an_error(
    scheduler, resource, appointment_type, monkeypatch, django_capture_on_commit_callbacks
):
    """The insert is a plain one, the check under the resource lock having left out the times in
    the way; a slot made meanwhile by a writer that skipped the lock makes it fail, and it is
    made again skipping that time (the exclusion constraint is still the last line)."""
    schedule = schedule_create(actor=scheduler, pattern=schedule_pattern(resource, appointment_type))
    SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8, 15), end=tomorrow_at(8, 45))
    monkeypatch.setattr(
        slot_insert, "schedule_collisions", lambda *, resource_id, times, schedule: Collisions(times, 0, [])
    )

    with django_capture_on_commit_callbacks(execute=True):
        created = schedule_publish(actor=scheduler, schedule=schedule)

    starts = sorted(Slot.objects.filter(schedule=schedule).values_list("start", flat=True))
    assert (created, starts) == (2, [tomorrow_at(9), tomorrow_at(9, 30)])
    slots = list(Slot.objects.filter(resource=resource).order_by("start"))
    assert all(earlier.end <= later.start for earlier, later in itertools.pairwise(slots))


def test_r_ops_6_a_rerun_leaves_its_own_times_out_of_the_insert(
    scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    schedule = schedule_create(
        actor=scheduler, pattern=schedule_pattern(resource, appointment_type, day_end=dt.time(11))
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule_publish(actor=scheduler, schedule=schedule) == 6
        Slot.objects.filter(schedule=schedule, start=tomorrow_at(9)).delete()
        times = list(schedule_slot_times(schedule))
        collisions = schedule_collisions(resource_id=resource.pk, times=times, schedule=schedule)
        again = schedule_publish(actor=scheduler, schedule=schedule)

    assert collisions.free == [(tomorrow_at(9), tomorrow_at(9, 30))] and collisions.skipped == 0
    assert again == 1 and Slot.objects.filter(schedule=schedule).count() == 6
