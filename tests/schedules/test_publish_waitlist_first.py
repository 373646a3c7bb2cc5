"""R-WAIT-2 in a background publish (R-OPS-3): the new times of a type that offers freed times to
its waitlist first are offered there before the web, as the publisher offers a small schedule's;
any other type's times go in already published, in the batch's INSERT."""

from __future__ import annotations

import datetime as dt

import pytest

from bookings.models import OfferState, WaitlistOffer
from clinics.models import FreedTimes
from schedules.models import PublishState, Schedule, Slot, SlotStatus
from schedules.services import schedule_create, schedule_publish_run, schedule_publish_start, schedule_publishing

from ..factories import WaitlistEntryFactory, schedule_pattern

pytestmark = pytest.mark.django_db

TIMES = 14 * 48  # 14 days of 08:00–16:00 in 10-minute times: more than a publish at once makes


def _queued(scheduler, resource, appointment_type, django_capture_on_commit_callbacks) -> Schedule:
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type, days=14, day_end=dt.time(16), slot_minutes=10),
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert schedule_publish_start(actor=scheduler, schedule=schedule) is None  # left to a worker
    return schedule


def test_r_wait_2_a_background_publish_offers_a_waitlist_first_types_new_times_to_the_waitlist_first(
    scheduler, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    appointment_type.freed_times = FreedTimes.WAITLIST
    appointment_type.save(update_fields=["freed_times"])
    entry = WaitlistEntryFactory(clinic=appointment_type.clinic, appointment_type=appointment_type, resident=resident)
    queued = _queued(scheduler, resource, appointment_type, django_capture_on_commit_callbacks)

    assert schedule_publish_run(schedule_id=queued.pk, batch_size=100) == TIMES

    offer = WaitlistOffer.objects.select_related("slot").get(state=OfferState.ACTIVE)
    assert offer.entry == entry
    assert offer.slot.schedule_id == queued.pk
    assert offer.slot.status == SlotStatus.OFFERED and not offer.slot.is_published
    # What the waitlist did not take reaches the web in the same run.
    slots = Slot.objects.filter(schedule=queued)
    assert slots.filter(status=SlotStatus.FREE, is_published=True).count() == TIMES - 1
    assert Schedule.objects.get(pk=queued.pk).publish_state == PublishState.DONE


def test_r_wait_2_a_background_publish_of_a_type_for_everyone_publishes_its_times_in_the_insert(
    scheduler, resource, appointment_type, resident, monkeypatch, django_capture_on_commit_callbacks
):
    assert appointment_type.freed_times != FreedTimes.WAITLIST
    WaitlistEntryFactory(clinic=appointment_type.clinic, appointment_type=appointment_type, resident=resident)
    queued = _queued(scheduler, resource, appointment_type, django_capture_on_commit_callbacks)

    def no_publisher(**kwargs):
        raise AssertionError("a type for everyone has its times published by the insert")

    monkeypatch.setattr(schedule_publishing, "slots_publish", no_publisher)

    assert schedule_publish_run(schedule_id=queued.pk, batch_size=100) == TIMES

    assert Slot.objects.filter(schedule=queued, status=SlotStatus.FREE, is_published=True).count() == TIMES
    assert not WaitlistOffer.objects.exists()
