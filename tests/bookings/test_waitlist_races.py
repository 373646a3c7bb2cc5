"""R-WAIT-4 under real parallel PostgreSQL connections: two confirmations of one offer, a
confirmation after expiry racing the sweep, and an offer racing a staff booking of the same time
each end with exactly one booking. The negative control takes the locks and the constraint away
and shows the same race then books twice."""

from __future__ import annotations

import datetime as dt
import threading
from functools import partial

import pytest
from django.db import connection

from bookings.models import Booking, BookingStatus, OfferState, WaitlistOffer
from bookings.services import (
    booking_create_for_resident,
    waitlist_offer_accept,
    waitlist_offer_freed_slots,
    waitlist_offers_expire,
)
from bookings.services import staff as staff_services
from bookings.services import waitlist_offers as offer_services
from clinics.models import AppointmentType, FreedTimes
from core.errors import ErrorCode
from schedules.models import Slot, SlotStatus

from ..factories import SlotFactory, WaitlistEntryFactory
from .test_concurrency import outcome, run_in_parallel, without_unique_constraint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def offered(appointment_type: AppointmentType, resource) -> tuple[Slot, WaitlistOffer]:
    """A freed time of a waitlist-first type, offered to the first of two waiting residents."""
    appointment_type.freed_times = FreedTimes.WAITLIST
    appointment_type.save()
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, is_published=False)
    for _ in range(2):
        WaitlistEntryFactory(clinic=appointment_type.clinic, appointment_type=appointment_type)
    assert waitlist_offer_freed_slots(slot_ids=[slot.pk]) == 1
    return slot, WaitlistOffer.objects.select_related("entry__resident").get(slot=slot)


def test_r_wait_4_parallel_confirmations_of_one_offer_book_once(offered):
    slot, offer = offered
    resident = offer.entry.resident

    results = run_in_parallel([partial(waitlist_offer_accept, resident=resident, token=offer.token)] * 10)

    assert outcome(results) == {"booked": 1, ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED: 9}
    assert Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).count() == 1
    assert WaitlistOffer.objects.get(pk=offer.pk).state == OfferState.ACCEPTED


def test_r_wait_4_confirming_after_expiry_while_the_sweep_runs_leaves_the_time_to_the_next_in_line(offered):
    slot, offer = offered
    late = offer.expires_at + dt.timedelta(seconds=1)

    results = run_in_parallel(
        [
            *[partial(waitlist_offer_accept, resident=offer.entry.resident, token=offer.token, now=late)] * 5,
            partial(waitlist_offers_expire, now=late),
        ]
    )

    assert outcome(results[:5]) == {ErrorCode.HOLD_EXPIRED: 5}
    assert results[5] == 1
    following = WaitlistOffer.objects.select_related("entry__resident").get(slot=slot, state=OfferState.ACTIVE)
    assert following.entry_id != offer.entry_id
    booking = waitlist_offer_accept(resident=following.entry.resident, token=following.token)
    assert list(Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE)) == [booking]


def test_r_wait_4_an_offer_racing_a_staff_booking_of_the_same_time_ends_with_one_booking(
    offered, scheduler, other_resident
):
    slot, offer = offered
    # The scheduler saw the time free a moment ago; the offer was made meanwhile.
    results = run_in_parallel(
        [
            partial(waitlist_offer_accept, resident=offer.entry.resident, token=offer.token),
            partial(booking_create_for_resident, actor=scheduler, resident=other_resident, slot_id=slot.pk),
        ]
    )

    assert outcome(results) == {"booked": 1, ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED: 1}
    assert Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).count() == 1


def test_r_wait_4_an_offer_made_while_staff_book_the_freed_time_gives_one_booking(
    appointment_type, resource, scheduler, other_resident
):
    appointment_type.freed_times = FreedTimes.WAITLIST
    appointment_type.save()
    WaitlistEntryFactory(clinic=appointment_type.clinic, appointment_type=appointment_type)
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, is_published=False)

    results = run_in_parallel(
        [
            partial(waitlist_offer_freed_slots, slot_ids=[slot.pk]),
            partial(booking_create_for_resident, actor=scheduler, resident=other_resident, slot_id=slot.pk),
        ]
    )

    slot.refresh_from_db()
    staff_booked = isinstance(results[1], Booking)
    # Either the staff booking came first (no offer) or the offer did (the staff booking is refused).
    assert results[0] == (0 if staff_booked else 1)
    assert staff_booked or results[1] == ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED
    assert slot.status == (SlotStatus.BOOKED if staff_booked else SlotStatus.OFFERED)
    assert Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).count() == (1 if staff_booked else 0)


# --- Negative control ----------------------------------------------------------------------------


def test_control_without_locks_and_constraint_an_offer_and_a_staff_booking_both_book(
    offered, scheduler, other_resident, monkeypatch
):
    """The race above, with the slot locks and the one-booking-per-slot index taken away and both
    callers held past their checks: two bookings. So the locks and the constraint do the work."""
    slot, offer = offered
    barrier = threading.Barrier(2)

    def unlocked(slot_ids):
        return {
            s.pk: s
            for s in Slot.objects.select_related("clinic__region", "appointment_type", "resource").filter(
                pk__in=slot_ids
            )
        }

    def check_then_wait(**kwargs):
        barrier.wait(timeout=30)

    # Both paths look at the time before either writes: the window a missing lock leaves open.
    monkeypatch.setattr(offer_services, "_lock_slots", unlocked)
    monkeypatch.setattr(offer_services, "resident_lock", lambda **kwargs: None)
    monkeypatch.setattr(offer_services, "_check_no_overlap", check_then_wait)
    monkeypatch.setattr(staff_services, "_lock_slots", unlocked)
    monkeypatch.setattr(staff_services, "resident_lock", lambda **kwargs: None)
    monkeypatch.setattr(staff_services, "_check_no_overlap", check_then_wait)
    # Unlocked, the scheduler's check reads the time as it was before the offer: free.
    monkeypatch.setattr(staff_services, "slot_check_free", lambda **kwargs: None)
    with without_unique_constraint():
        run_in_parallel(
            [
                partial(waitlist_offer_accept, resident=offer.entry.resident, token=offer.token),
                partial(booking_create_for_resident, actor=scheduler, resident=other_resident, slot_id=slot.pk),
            ]
        )
        double_booked = Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).count()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM bookings_waitlistoffer")
            cursor.execute("DELETE FROM notifications_notification")
            cursor.execute("DELETE FROM notifications_notificationevent")
            cursor.execute("DELETE FROM bookings_inboxmessage")
            cursor.execute("UPDATE bookings_waitlistentry SET status = 'waiting'")

    assert double_booked == 2
