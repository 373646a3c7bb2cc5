"""R-BOOK-3: a selected time is held for the resident for 5 minutes; an expired hold is
released (and republished) by a worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.services import booking_create
from core.errors import BookingError, ErrorCode
from schedules import tasks
from schedules.models import Hold, HoldState, Slot, SlotStatus
from schedules.selectors import offered_slots
from schedules.services import hold_cancel, hold_create, hold_release, holds_release_expired

from ..factories import SlotFactory, reloaded, tomorrow_at

HOLD = dt.timedelta(minutes=settings.TIDBOK_HOLD_MINUTES)


def offered_ids(*, clinic, appointment_type, resident, now=None) -> set[int]:
    return set(
        offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident, now=now).values_list(
            "pk", flat=True
        )
    )


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def second_slot(appointment_type, resource):
    return SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(13))


def test_hold_lasts_five_minutes():
    assert settings.TIDBOK_HOLD_MINUTES == 5


def test_hold_create_sets_the_slot_held_and_takes_it_off_the_web(
    clinic, appointment_type, slot, resident, other_resident, now
):
    assert slot.pk in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)

    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)

    slot.refresh_from_db()
    assert hold.state == HoldState.ACTIVE
    assert hold.resident_id == resident.pk
    assert hold.expires_at == now + HOLD
    assert slot.status == SlotStatus.HELD
    assert slot.is_published is False
    assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)
    assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident)


def test_another_resident_cannot_hold_or_book_an_actively_held_time(slot, resident, other_resident, now):
    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)
    last_moment = hold.expires_at - dt.timedelta(seconds=1)

    with pytest.raises(BookingError) as held_again:
        hold_create(resident=other_resident, slot_id=slot.pk, now=last_moment)
    with pytest.raises(BookingError) as booked:
        booking_create(resident=other_resident, slot_id=slot.pk, now=last_moment)

    assert held_again.value.code == ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED
    assert booked.value.code == ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED
    hold.refresh_from_db()
    slot.refresh_from_db()
    assert hold.state == HoldState.ACTIVE
    assert slot.status == SlotStatus.HELD
    assert Hold.objects.filter(slot=slot).count() == 1
    assert not Booking.objects.exists()


def test_holder_books_the_held_time_with_the_hold(slot, resident, now):
    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)

    booking = booking_create(resident=resident, slot_id=slot.pk, hold=hold, now=now + dt.timedelta(minutes=2))

    hold.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert booking.slot_id == slot.pk
    assert hold.state == HoldState.CONVERTED
    assert slot.status == SlotStatus.BOOKED


def test_a_converted_hold_is_not_released_by_the_sweeper(slot, resident, now, django_capture_on_commit_callbacks):
    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)
    booking_create(resident=resident, slot_id=slot.pk, hold=hold, now=now)

    with django_capture_on_commit_callbacks(execute=True):
        released = holds_release_expired(now=now + 2 * HOLD)

    assert released == 0
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED
    assert slot.is_published is False


def test_hold_of_another_resident_cannot_be_used_to_book(slot, resident, other_resident, now):
    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)

    with pytest.raises(BookingError) as excinfo:
        booking_create(resident=other_resident, slot_id=slot.pk, hold=hold, now=now)

    assert excinfo.value.code == ErrorCode.HOLD_EXPIRED
    assert not Booking.objects.exists()


def test_new_hold_releases_the_residents_previous_hold(
    clinic, appointment_type, slot, second_slot, resident, other_resident, now, django_capture_on_commit_callbacks
):
    first = hold_create(resident=resident, slot_id=slot.pk, now=now)

    with django_capture_on_commit_callbacks(execute=True):
        second = hold_create(resident=resident, slot_id=second_slot.pk, now=now + dt.timedelta(minutes=1))
        # The old time is free again but reappears only through the publisher.
        assert slot.pk not in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)

    first.refresh_from_db()
    slot.refresh_from_db()
    second_slot.refresh_from_db()
    assert first.state == HoldState.RELEASED
    assert second.state == HoldState.ACTIVE
    assert list(Hold.objects.filter(resident=resident, state=HoldState.ACTIVE)) == [second]
    assert slot.status == SlotStatus.FREE
    assert second_slot.status == SlotStatus.HELD
    offered = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)
    assert slot.pk in offered
    assert second_slot.pk not in offered


def test_holder_cancelling_the_hold_frees_the_time(slot, resident, other_resident, now):
    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)

    with pytest.raises(BookingError) as not_theirs:
        hold_cancel(resident=other_resident, hold=hold)
    hold_cancel(resident=resident, hold=hold)

    assert not_theirs.value.code == ErrorCode.NOT_FOUND
    hold.refresh_from_db()
    slot.refresh_from_db()
    assert hold.state == HoldState.RELEASED
    assert slot.status == SlotStatus.FREE


def test_holds_release_expired_releases_only_expired_holds_and_republishes_their_slots(
    clinic, appointment_type, slot, second_slot, resident, other_resident, now, django_capture_on_commit_callbacks
):
    expiring = hold_create(resident=resident, slot_id=slot.pk, now=now)
    fresh = hold_create(resident=other_resident, slot_id=second_slot.pk, now=now + dt.timedelta(minutes=3))
    sweep_at = expiring.expires_at
    assert fresh.expires_at > sweep_at

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        released = holds_release_expired(now=sweep_at)
        slot.refresh_from_db()
        assert slot.status == SlotStatus.FREE
        assert slot.is_published is False

    assert released == 1
    assert callbacks
    expiring.refresh_from_db()
    fresh.refresh_from_db()
    slot = reloaded(slot)
    second_slot.refresh_from_db()
    assert expiring.state == HoldState.RELEASED
    assert fresh.state == HoldState.ACTIVE
    assert slot.is_published is True
    assert second_slot.status == SlotStatus.HELD
    assert second_slot.is_published is False
    offered = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)
    assert slot.pk in offered
    assert second_slot.pk not in offered


def test_holds_release_expired_leaves_a_hold_that_has_not_yet_expired(slot, resident, now):
    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)

    released = holds_release_expired(now=hold.expires_at - dt.timedelta(seconds=1))

    assert released == 0
    hold.refresh_from_db()
    assert hold.state == HoldState.ACTIVE


def test_release_task_uses_the_clock_and_releases_expired_holds(
    time_machine, clinic, appointment_type, resource, resident, other_resident, django_capture_on_commit_callbacks
):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10))
    hold = hold_create(resident=resident, slot_id=slot.pk)

    time_machine.move_to(start + HOLD - dt.timedelta(seconds=1), tick=False)
    assert tasks.holds_release_expired.delay().get() == 0
    time_machine.move_to(start + HOLD + dt.timedelta(seconds=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.holds_release_expired.delay().get() == 1

    hold.refresh_from_db()
    assert hold.state == HoldState.RELEASED
    assert slot.pk in offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident)


def test_releasing_twice_releases_once(slot, resident, now, django_capture_on_commit_callbacks):
    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)
    later = hold.expires_at + dt.timedelta(seconds=1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = holds_release_expired(now=later)
        second = holds_release_expired(now=later)

    assert (first, second) == (1, 0)
    assert len(callbacks) == 1  # one publish, not two
    hold.refresh_from_db()
    assert hold.state == HoldState.RELEASED


def test_a_stale_second_release_does_not_free_a_time_someone_else_now_holds(
    slot, resident, other_resident, now, django_capture_on_commit_callbacks
):
    hold = hold_create(resident=resident, slot_id=slot.pk, now=now)
    stale_copy = Hold.objects.get(pk=hold.pk)
    later = hold.expires_at + dt.timedelta(seconds=1)
    # The worker releases the expired hold and the time is republished …
    with django_capture_on_commit_callbacks(execute=True):
        assert holds_release_expired(now=later) == 1
    # … another resident holds it …
    new_hold = hold_create(resident=other_resident, slot_id=slot.pk, now=later)

    # … and a retried release of the old hold arrives late.
    assert hold_release(hold=stale_copy) is False

    slot.refresh_from_db()
    new_hold.refresh_from_db()
    assert slot.status == SlotStatus.HELD
    assert new_hold.state == HoldState.ACTIVE


def test_expired_unswept_hold_of_someone_else_gives_way_to_a_booking(
    slot, resident, other_resident, now, django_capture_on_commit_callbacks
):
    stale = hold_create(resident=other_resident, slot_id=slot.pk, now=now)
    after_expiry = stale.expires_at + dt.timedelta(seconds=1)
    assert Hold.objects.get(pk=stale.pk).state == HoldState.ACTIVE  # not swept

    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(resident=resident, slot_id=slot.pk, now=after_expiry)

    stale.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert booking.resident_id == resident.pk
    assert stale.state == HoldState.RELEASED
    assert slot.status == SlotStatus.BOOKED
    assert slot.is_published is False
    # The late sweep finds nothing to release and does not free the booked time.
    assert holds_release_expired(now=after_expiry) == 0
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED


def test_expired_unswept_hold_of_someone_else_gives_way_to_a_new_hold(slot, resident, other_resident, now):
    stale = hold_create(resident=other_resident, slot_id=slot.pk, now=now)
    after_expiry = stale.expires_at + dt.timedelta(seconds=1)

    hold = hold_create(resident=resident, slot_id=slot.pk, now=after_expiry)

    stale.refresh_from_db()
    slot.refresh_from_db()
    assert stale.state == HoldState.RELEASED
    assert hold.state == HoldState.ACTIVE
    assert slot.status == SlotStatus.HELD
    assert Hold.objects.filter(slot=slot, state=HoldState.ACTIVE).get() == hold


def test_holder_whose_expired_hold_was_taken_over_gets_hold_expired(slot, resident, other_resident, now):
    stale = hold_create(resident=other_resident, slot_id=slot.pk, now=now)
    after_expiry = stale.expires_at + dt.timedelta(seconds=1)
    booking_create(resident=resident, slot_id=slot.pk, now=after_expiry)

    with pytest.raises(BookingError) as excinfo:
        booking_create(resident=other_resident, slot_id=slot.pk, hold=stale, now=after_expiry)

    assert excinfo.value.code == ErrorCode.HOLD_EXPIRED
    assert Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).get().resident_id == resident.pk
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.BOOKED
