"""R-PUB-1 (times appear through the publisher), R-PUB-2 (times disappear at once),
R-PUB-3 (appearing is asynchronous and idempotent, disappearing is synchronous)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.services import booking_cancel, booking_create
from schedules.models import Hold, HoldState, Schedule, Slot, SlotStatus
from schedules.selectors import offered_slots
from schedules.services import (
    block_create,
    block_delete,
    hold_cancel,
    hold_create,
    holds_release_expired,
    schedule_create,
    schedule_publish,
    schedule_remove_type,
    slot_add,
    slots_change_type,
    slots_publish,
    slots_publish_pending,
)

from ..factories import AppointmentTypeFactory, SlotFactory, reloaded, schedule_pattern, tomorrow_at


def offered_ids(*, clinic, appointment_type, resident, now=None) -> set[int]:
    return set(
        offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident, now=now).values_list(
            "pk", flat=True
        )
    )


def make_schedule(*, scheduler, resource, appointment_type, days: int = 3) -> Schedule:
    return schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type, days=days),
    )


@pytest.fixture
def published_schedule(scheduler, resource, appointment_type, django_capture_on_commit_callbacks):
    schedule = make_schedule(scheduler=scheduler, resource=resource, appointment_type=appointment_type)
    with django_capture_on_commit_callbacks(execute=True):
        schedule_publish(actor=scheduler, schedule=schedule)
    return schedule


# --- R-PUB-1: times appear only once the publisher has run on commit ---------------------------


def test_published_schedule_times_appear_only_after_the_publish_task_runs_on_commit(
    scheduler, clinic, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    days = 3
    schedule = make_schedule(scheduler=scheduler, resource=resource, appointment_type=appointment_type, days=days)
    expected = days * (2 * 60 // 30)  # 08:00–10:00 in 30-minute slots, every day

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = schedule_publish(actor=scheduler, schedule=schedule)
        assert created == expected
        assert Slot.objects.filter(schedule=schedule).count() == expected
        assert not Slot.objects.filter(schedule=schedule, is_published=True).exists()
        assert offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident) == set()

    assert callbacks
    offered = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)
    assert offered == set(Slot.objects.filter(schedule=schedule).values_list("pk", flat=True))
    assert len(offered) == expected


def test_single_slot_added_in_the_calendar_appears_only_after_the_publisher_runs(
    scheduler, clinic, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        slot = slot_add(
            actor=scheduler,
            resource=resource,
            appointment_type=appointment_type,
            start=tomorrow_at(14),
            end=tomorrow_at(14, 30),
        )
        assert slot.is_published is False
        assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)

    # The publish task, then the refresh of the clinic's cached free times its publish asks for.
    assert len(callbacks) == 2
    slot = reloaded(slot)
    assert slot.is_published is True
    assert slot.published_at is not None
    assert slot.pk in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)


def test_type_change_to_another_web_name_republishes_through_the_publisher(
    scheduler, clinic, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    vaccination = AppointmentTypeFactory(clinic=clinic, internal_name="Vaccination 15 min", web_name="Vaccination")
    assert vaccination.web_name != appointment_type.web_name
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    assert slot.pk in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        changed = slots_change_type(
            actor=scheduler, slots=Slot.objects.filter(pk=slot.pk), appointment_type=vaccination
        ).changed
        assert changed == 1
        slot.refresh_from_db()
        assert slot.appointment_type_id == vaccination.pk
        assert slot.is_published is False
        assert slot.pk not in offered_ids(clinic=clinic, appointment_type=vaccination, resident=resident)
        assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)

    assert callbacks
    assert slot.pk in offered_ids(clinic=clinic, appointment_type=vaccination, resident=resident)
    assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)


def test_cancelled_booking_makes_the_time_bookable_again_after_the_publisher_runs(
    clinic, appointment_type, slot, resident, other_resident, django_capture_on_commit_callbacks
):
    booking = booking_create(resident=resident, slot_id=slot.pk)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking_cancel(actor=resident, booking_id=booking.pk)
        slot.refresh_from_db()
        assert slot.status == SlotStatus.FREE
        assert slot.is_published is False
        assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)

    assert callbacks
    assert slot.pk in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)
    assert booking_create(resident=other_resident, slot_id=slot.pk).status == BookingStatus.ACTIVE


def test_removing_a_block_lets_its_times_reappear_through_the_publisher(
    scheduler, clinic, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    block = block_create(actor=scheduler, resource=resource, start=slot.start, end=slot.end).block

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        block_delete(actor=scheduler, block=block)
        slot.refresh_from_db()
        assert slot.is_blocked is False
        assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)

    assert callbacks
    assert slot.pk in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)


def test_publishing_enqueues_nothing_when_the_transaction_rolls_back(
    scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    schedule = make_schedule(scheduler=scheduler, resource=resource, appointment_type=appointment_type)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        schedule_publish(actor=scheduler, schedule=schedule)
        raise RuntimeError("roll back")

    assert callbacks == []
    assert not Slot.objects.filter(schedule=schedule).exists()


# --- R-PUB-2: times disappear at once ----------------------------------------------------------


def test_block_takes_covered_free_times_off_the_web_inside_the_same_transaction(
    scheduler, clinic, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    covered = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    partly_covered = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8, 30))
    outside = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9, 30))

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        block_create(
            actor=scheduler,
            resource=resource,
            start=covered.start,
            end=partly_covered.start + dt.timedelta(minutes=5),
        )
        # Before the transaction commits, no worker has run: the times are already gone.
        seen = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)
        assert covered.pk not in seen
        assert partly_covered.pk not in seen
        assert outside.pk in seen

    seen = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)
    assert seen == {outside.pk}
    assert set(Slot.objects.filter(is_blocked=True).values_list("pk", flat=True)) == {covered.pk, partly_covered.pk}


def test_block_over_a_booked_time_keeps_the_booking(scheduler, resource, slot, resident):
    booking = booking_create(resident=resident, slot_id=slot.pk)

    block_create(actor=scheduler, resource=resource, start=slot.start, end=slot.end)

    slot.refresh_from_db()
    booking.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED
    assert slot.is_blocked is True
    assert booking.status == BookingStatus.ACTIVE


def test_booking_takes_the_time_off_the_web_immediately(
    clinic, appointment_type, slot, resident, other_resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        booking_create(resident=resident, slot_id=slot.pk)
        slot.refresh_from_db()
        assert slot.status == SlotStatus.BOOKED
        assert slot.is_published is False
        assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)

    # Nothing that runs on commit brings it back.
    assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)


def test_removing_the_type_from_a_schedule_deletes_its_free_slots_but_keeps_booked_ones(
    scheduler, clinic, appointment_type, published_schedule, resident, other_resident
):
    slots = list(Slot.objects.filter(schedule=published_schedule).order_by("start"))
    assert len(slots) > 2
    booked_slot = slots[1]
    booking = booking_create(resident=resident, slot_id=booked_slot.pk)

    removed = schedule_remove_type(actor=scheduler, schedule=published_schedule)

    assert removed == len(slots) - 1
    assert list(Slot.objects.filter(schedule=published_schedule)) == [booked_slot]
    booked_slot.refresh_from_db()
    booking.refresh_from_db()
    assert booked_slot.status == SlotStatus.BOOKED
    assert booking.status == BookingStatus.ACTIVE
    assert offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident) == set()
    published_schedule.refresh_from_db()
    assert published_schedule.removed_at is not None


def test_time_booked_when_its_type_was_removed_goes_when_the_booking_is_cancelled(
    scheduler, published_schedule, resident, django_capture_on_commit_callbacks
):
    booked_slot = Slot.objects.filter(schedule=published_schedule).earliest("start")
    booking = booking_create(resident=resident, slot_id=booked_slot.pk)
    schedule_remove_type(actor=scheduler, schedule=published_schedule)

    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=resident, booking_id=booking.pk)

    assert not Slot.objects.filter(pk=booked_slot.pk).exists()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.slot_id is None


def test_time_held_when_its_type_is_removed_from_the_schedule_does_not_come_back_when_the_hold_ends(
    scheduler,
    clinic,
    appointment_type,
    published_schedule,
    resident,
    other_resident,
    django_capture_on_commit_callbacks,
):
    held_slot = Slot.objects.filter(schedule=published_schedule).earliest("start")
    now = timezone.now()
    hold_create(resident=resident, slot_id=held_slot.pk, now=now)

    schedule_remove_type(actor=scheduler, schedule=published_schedule, now=now)

    with django_capture_on_commit_callbacks(execute=True):
        holds_release_expired(now=now + dt.timedelta(minutes=10))
    # R-PUB-2: the removed type's free times are gone; one that was only held does not reappear.
    assert offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident) == set()


# --- R-PUB-3: appearing is asynchronous, idempotent and never republishes a taken time ----------


def test_freed_hold_is_not_offered_before_the_publisher_runs(
    clinic, appointment_type, slot, resident, other_resident, django_capture_on_commit_callbacks
):
    hold = hold_create(resident=resident, slot_id=slot.pk)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        hold_cancel(resident=resident, hold=hold)
        slot.refresh_from_db()
        assert slot.status == SlotStatus.FREE
        assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)

    assert callbacks
    assert slot.pk in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)


def test_slots_publish_is_idempotent(appointment_type):
    slot = SlotFactory(appointment_type=appointment_type, is_published=False)
    first_run = timezone.now()

    assert slots_publish(slot_ids=[slot.pk], now=first_run) == 1
    assert slots_publish(slot_ids=[slot.pk], now=first_run + dt.timedelta(seconds=30)) == 0

    slot.refresh_from_db()
    assert slot.is_published is True
    assert slot.published_at == first_run


def test_late_publish_task_does_not_republish_a_time_booked_meanwhile(
    clinic, appointment_type, slot, resident, other_resident, django_capture_on_commit_callbacks
):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    # The cancellation's publish task is delayed (captured, not yet run) …
    with django_capture_on_commit_callbacks(execute=False) as delayed:
        booking_cancel(actor=resident, booking_id=booking.pk)
    assert delayed
    # … the sweeper publishes the time, and another resident books it …
    assert slots_publish_pending() == 1
    taken = booking_create(resident=other_resident, slot_id=slot.pk)

    # … then the late task runs.
    for callback in delayed:
        callback()

    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED
    assert slot.is_published is False
    assert Booking.objects.get(slot=slot, status=BookingStatus.ACTIVE) == taken
    assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)


def test_slots_publish_leaves_booked_held_blocked_and_past_slots_alone(appointment_type, resident):
    now = timezone.now()
    free = SlotFactory(appointment_type=appointment_type, is_published=False)
    booked = SlotFactory(appointment_type=appointment_type, is_published=False, status=SlotStatus.BOOKED)
    held = SlotFactory(appointment_type=appointment_type, is_published=False, status=SlotStatus.HELD)
    Hold.objects.create(slot=held, resident=resident, expires_at=now + dt.timedelta(minutes=5))
    blocked = SlotFactory(appointment_type=appointment_type, is_published=False, is_blocked=True)
    past = SlotFactory(appointment_type=appointment_type, is_published=False, start=now - dt.timedelta(hours=1))

    published = slots_publish(slot_ids=[s.pk for s in (free, booked, held, blocked, past)], now=now)

    assert published == 1
    assert set(Slot.objects.filter(is_published=True).values_list("pk", flat=True)) == {free.pk}


def test_slots_publish_pending_sweeps_up_times_whose_publish_task_was_lost(
    scheduler, clinic, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as lost:
        lost_slot = slot_add(
            actor=scheduler,
            resource=resource,
            appointment_type=appointment_type,
            start=tomorrow_at(15),
            end=tomorrow_at(15, 20),
        )
    assert lost  # a publish task was enqueued … and never runs.
    booked = SlotFactory(appointment_type=appointment_type, is_published=False, status=SlotStatus.BOOKED)
    blocked = SlotFactory(appointment_type=appointment_type, is_published=False, is_blocked=True)
    assert lost_slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)

    swept = slots_publish_pending()

    assert swept == 1
    assert lost_slot.pk in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)
    assert set(Slot.objects.filter(pk__in=[booked.pk, blocked.pk], is_published=True)) == set()
    assert slots_publish_pending() == 0


def test_slots_publish_pending_works_in_batches(appointment_type):
    slots = [SlotFactory(appointment_type=appointment_type, is_published=False) for _ in range(5)]

    swept = slots_publish_pending(batch_size=2)

    assert swept == len(slots)
    assert Slot.objects.filter(is_published=False).count() == 0


def test_expired_hold_release_republishes_through_the_publisher(
    clinic, appointment_type, slot, resident, other_resident, django_capture_on_commit_callbacks
):
    now = timezone.now()
    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert holds_release_expired(now=hold.expires_at) == 1
        assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)

    assert callbacks
    hold.refresh_from_db()
    assert hold.state == HoldState.RELEASED
    assert slot.pk in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)
