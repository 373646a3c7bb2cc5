"""Freed times offered to the waitlist first (R-WAIT-1, R-WAIT-2, R-WAIT-3): who is offered, what
everyone else sees meanwhile, and what happens when the offer is answered or runs out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bookings.models import (
    Booking,
    BookingStatus,
    InboxMessage,
    LogStatus,
    OfferState,
    PartOfDay,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
    WebBookingLogEntry,
)
from bookings.services import (
    booking_cancel,
    booking_create,
    booking_create_for_resident,
    waitlist_book,
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
    waitlist_offers_expire,
)
from clinics.models import AppointmentType, FreedTimes
from core.errors import BookingError, ErrorCode, ValidationFailed
from fhir.selectors import public_slots
from notifications.models import NotificationEvent
from notifications.render import render
from schedules.models import Slot, SlotStatus
from schedules.selectors import offered_slots
from schedules.services import slots_publish

from ..factories import ResidentFactory, SlotFactory, WaitlistEntryFactory, tomorrow_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def waitlist_type(appointment_type: AppointmentType) -> AppointmentType:
    appointment_type.freed_times = FreedTimes.WAITLIST
    appointment_type.waitlist_for_residents = True
    appointment_type.save()
    return appointment_type


def _waiting(appointment_type: AppointmentType, **fields) -> WaitlistEntry:
    return WaitlistEntryFactory(clinic=appointment_type.clinic, appointment_type=appointment_type, **fields)


def _free_by_cancelling(slot: Slot, django_capture_on_commit_callbacks) -> None:
    """Someone books the time and cancels it; the publisher runs after the commit (R-PUB-1)."""
    booker = ResidentFactory()
    booking = booking_create(resident=booker, slot_id=slot.pk)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=booker, booking_id=booking.pk)


def _offer(slot: Slot) -> WaitlistOffer:
    return WaitlistOffer.objects.select_related("entry").get(slot=slot, state=OfferState.ACTIVE)


def test_r_wait_2_a_type_that_publishes_to_everyone_publishes_a_freed_time_at_once(
    appointment_type, slot, django_capture_on_commit_callbacks
):
    _waiting(appointment_type)

    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    slot.refresh_from_db()
    assert slot.status == SlotStatus.FREE and slot.is_published
    assert not WaitlistOffer.objects.exists()


def test_r_wait_2_r_wait_3_a_cancelled_time_is_offered_to_the_first_in_line_and_hidden_from_everyone_else(
    waitlist_type, slot, other_resident, django_capture_on_commit_callbacks
):
    first = _waiting(waitlist_type)
    _waiting(waitlist_type)

    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    offer = _offer(slot)
    assert offer.entry == first
    slot.refresh_from_db()
    assert slot.status == SlotStatus.OFFERED and not slot.is_published
    # Nobody else sees or books it: the portal, the API (same selector) and the FHIR feed.
    assert slot not in offered_slots(clinic=slot.clinic, appointment_type=waitlist_type, resident=other_resident)
    assert not public_slots().filter(pk=slot.pk).exists()
    with pytest.raises(BookingError) as refused:
        booking_create(resident=other_resident, slot_id=slot.pk)
    assert refused.value.code == ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED
    # Held for the type's offer period, by the server's clock.
    held = offer.expires_at - offer.created_at
    assert held == dt.timedelta(minutes=15)


def test_r_wait_3_the_offer_is_sent_by_the_residents_channels_with_a_link_that_names_no_personnummer(
    waitlist_type, slot, django_capture_on_commit_callbacks
):
    entry = _waiting(waitlist_type)

    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    offer = _offer(slot)
    assert InboxMessage.objects.filter(resident=entry.resident).count() == 1
    event = NotificationEvent.objects.get(kind="waitlist_offer")
    assert event.resident_id == entry.resident_id
    rendered = render(event, language="sv")
    assert rendered.link.endswith(f"/erbjudande/{offer.token}/")
    personnummer = entry.resident.personnummer
    assert personnummer is not None
    for text in (rendered.sms, rendered.link, rendered.text):
        assert personnummer not in text and personnummer[2:] not in text
    assert "kl. 08.00" in rendered.sms and rendered.link in rendered.sms


def test_r_wait_3_a_priority_set_by_staff_goes_before_first_come(
    waitlist_type, slot, django_capture_on_commit_callbacks
):
    _waiting(waitlist_type)
    urgent = _waiting(waitlist_type, priority=2)

    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    assert _offer(slot).entry == urgent


def test_r_wait_1_only_an_entry_whose_wishes_fit_the_time_is_offered_it(
    waitlist_type, slot, django_capture_on_commit_callbacks
):
    day = timezone.localtime(slot.start).date()
    _waiting(waitlist_type, part_of_day=PartOfDay.AFTERNOON)  # the time is at 08:00
    _waiting(waitlist_type, weekdays=[(day.isoweekday() % 7) + 1])
    _waiting(waitlist_type, earliest_date=day + dt.timedelta(days=1))
    fits = _waiting(
        waitlist_type, part_of_day=PartOfDay.MORNING, weekdays=[day.isoweekday()], earliest_date=day, latest_date=day
    )

    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    assert _offer(slot).entry == fits


def test_r_wait_3_accepting_books_the_time_once_and_logs_it(waitlist_type, slot, django_capture_on_commit_callbacks):
    entry = _waiting(waitlist_type)
    _free_by_cancelling(slot, django_capture_on_commit_callbacks)
    offer = _offer(slot)

    booking = waitlist_offer_accept(resident=entry.resident, token=offer.token)

    assert booking.resident == entry.resident and booking.waitlist_entry == entry
    offer.refresh_from_db()
    entry.refresh_from_db()
    slot.refresh_from_db()
    assert offer.state == OfferState.ACCEPTED and offer.booking == booking
    assert entry.status == WaitlistStatus.BOOKED
    assert slot.status == SlotStatus.BOOKED
    assert WebBookingLogEntry.objects.filter(booking=booking, status=LogStatus.BOOKED).count() == 1
    with pytest.raises(BookingError):
        waitlist_offer_accept(resident=entry.resident, token=offer.token)


def test_r_wait_3_an_offer_is_answered_only_by_the_resident_it_was_made_to(
    waitlist_type, slot, other_resident, django_capture_on_commit_callbacks
):
    _waiting(waitlist_type)
    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    with pytest.raises(BookingError) as refused:
        waitlist_offer_accept(resident=other_resident, token=_offer(slot).token)

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert not Booking.objects.filter(status=BookingStatus.ACTIVE).exists()


def test_r_wait_3_a_declined_offer_goes_to_the_next_and_with_nobody_left_the_time_is_published(
    waitlist_type, slot, django_capture_on_commit_callbacks
):
    first, second = _waiting(waitlist_type), _waiting(waitlist_type)
    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    waitlist_offer_decline(resident=first.resident, token=_offer(slot).token)
    assert _offer(slot).entry == second
    with django_capture_on_commit_callbacks(execute=True):
        waitlist_offer_decline(resident=second.resident, token=_offer(slot).token)

    slot.refresh_from_db()
    assert slot.status == SlotStatus.FREE and slot.is_published  # R-PUB-1: to everyone
    first.refresh_from_db()
    assert first.status == WaitlistStatus.WAITING  # they said no to one time, not to the waitlist


def test_r_wait_3_the_sweep_expires_an_offer_by_the_server_clock_and_passes_the_time_on(
    waitlist_type, slot, django_capture_on_commit_callbacks
):
    first, second = _waiting(waitlist_type), _waiting(waitlist_type)
    _free_by_cancelling(slot, django_capture_on_commit_callbacks)
    offer = _offer(slot)

    assert waitlist_offers_expire(now=offer.expires_at - dt.timedelta(seconds=1)) == 0
    assert waitlist_offers_expire(now=offer.expires_at) == 1

    offer.refresh_from_db()
    assert offer.state == OfferState.EXPIRED
    assert _offer(slot).entry == second
    # R-WAIT-4: a confirmation after the offer ran out books nothing.
    with pytest.raises(BookingError) as refused:
        waitlist_offer_accept(resident=first.resident, token=offer.token)
    assert refused.value.code == ErrorCode.HOLD_EXPIRED


def test_r_wait_4_a_confirmation_after_expiry_is_refused_before_the_sweep_has_run(
    waitlist_type, slot, django_capture_on_commit_callbacks
):
    entry = _waiting(waitlist_type)
    _free_by_cancelling(slot, django_capture_on_commit_callbacks)
    offer = _offer(slot)

    with pytest.raises(BookingError) as refused:
        waitlist_offer_accept(resident=entry.resident, token=offer.token, now=offer.expires_at)

    assert refused.value.code == ErrorCode.HOLD_EXPIRED
    assert not Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).exists()


def test_r_wait_3_staff_cannot_book_a_time_while_it_is_offered(
    waitlist_type, slot, scheduler, other_resident, django_capture_on_commit_callbacks
):
    _waiting(waitlist_type)
    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    with pytest.raises(BookingError) as refused:
        booking_create_for_resident(actor=scheduler, resident=other_resident, slot_id=slot.pk)

    assert refused.value.code == ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED


def test_r_wait_2_a_new_slot_is_offered_to_the_waitlist_before_the_web(waitlist_type, resource):
    entry = _waiting(waitlist_type)
    new = SlotFactory(appointment_type=waitlist_type, resource=resource, is_published=False)

    assert slots_publish(slot_ids=[new.pk]) == 0

    assert _offer(new).entry == entry


def test_r_wait_1_a_resident_joins_sees_and_leaves_and_an_open_offer_goes_on(
    waitlist_type, slot, resident, django_capture_on_commit_callbacks
):
    day = timezone.localdate()
    entry = waitlist_join(
        resident=resident,
        appointment_type=waitlist_type,
        earliest_date=day,
        latest_date=day + dt.timedelta(days=30),
        weekdays=[1, 2, 3, 4, 5, 6, 7],
        part_of_day=PartOfDay.MORNING,
    )
    assert entry.by_resident and entry.status == WaitlistStatus.WAITING
    # Joining again changes the wishes and keeps the place in the queue.
    again = waitlist_join(resident=resident, appointment_type=waitlist_type)
    assert again.pk == entry.pk and again.weekdays == []
    other = _waiting(waitlist_type)
    _free_by_cancelling(slot, django_capture_on_commit_callbacks)
    assert _offer(slot).entry == entry

    waitlist_leave(resident=resident, entry_id=entry.pk)

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REMOVED
    assert _offer(slot).entry == other


def test_r_wait_1_only_types_the_clinic_opened_to_residents_can_be_joined(appointment_type, resident):
    with pytest.raises(BookingError) as refused:
        waitlist_join(resident=resident, appointment_type=appointment_type)

    assert refused.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert not WaitlistEntry.objects.exists()


def test_r_wait_1_dates_out_of_order_are_refused_beside_the_field(waitlist_type, resident):
    day = timezone.localdate() + dt.timedelta(days=5)
    with pytest.raises(ValidationFailed) as refused:
        waitlist_join(
            resident=resident, appointment_type=waitlist_type, earliest_date=day, latest_date=day - dt.timedelta(1)
        )

    assert set(refused.value.field_errors) == {"latest_date"}
    assert not WaitlistEntry.objects.exists()


def test_r_wait_3_a_staff_entry_of_the_type_is_offered_too(waitlist_type, slot, django_capture_on_commit_callbacks):
    staff_entry = _waiting(waitlist_type, note="Ring före 10")

    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    assert _offer(slot).entry == staff_entry
    assert not staff_entry.by_resident


def test_r_wait_3_a_resident_busy_at_that_time_is_passed_over(waitlist_type, slot, django_capture_on_commit_callbacks):
    busy = _waiting(waitlist_type)
    free = _waiting(waitlist_type)
    booking_create(resident=busy.resident, slot_id=SlotFactory(appointment_type=waitlist_type, start=slot.start).pk)

    _free_by_cancelling(slot, django_capture_on_commit_callbacks)

    assert _offer(slot).entry == free


def test_r_wait_3_a_time_booked_from_an_offer_and_cancelled_is_not_offered_to_the_same_resident_again(
    waitlist_type, slot, django_capture_on_commit_callbacks
):
    entry = _waiting(waitlist_type)
    _free_by_cancelling(slot, django_capture_on_commit_callbacks)
    booking = waitlist_offer_accept(resident=entry.resident, token=_offer(slot).token)

    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=entry.resident, booking_id=booking.pk)

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING  # R-BOOK-6: back on the waitlist
    slot.refresh_from_db()
    assert slot.status == SlotStatus.FREE and slot.is_published
    assert tomorrow_at(8) <= slot.start


def test_r_wait_3_an_entry_booked_by_the_clinic_passes_its_running_offer_on(
    waitlist_type, slot, resource, scheduler, django_capture_on_commit_callbacks
):
    booked, next_in_line = _waiting(waitlist_type), _waiting(waitlist_type)
    _free_by_cancelling(slot, django_capture_on_commit_callbacks)
    assert _offer(slot).entry == booked
    other_time = SlotFactory(
        appointment_type=waitlist_type, resource=resource, start=slot.start + dt.timedelta(hours=3)
    )

    waitlist_book(actor=scheduler, entry_id=booked.pk, slot_id=other_time.pk)

    assert WaitlistOffer.objects.get(entry=booked).state == OfferState.WITHDRAWN
    assert _offer(slot).entry == next_in_line


def test_r_wait_3_a_time_inside_the_types_minimum_notice_is_not_offered_and_cannot_be_confirmed(
    waitlist_type, resource, django_capture_on_commit_callbacks
):
    """R-POL-1 holds for offers too: a time too soon to book on the web is published, not offered."""
    entry = _waiting(waitlist_type)
    soon = SlotFactory(appointment_type=waitlist_type, resource=resource, start=timezone.now() + dt.timedelta(hours=3))
    later = SlotFactory(appointment_type=waitlist_type, resource=resource, start=soon.start + dt.timedelta(days=2))
    booker = ResidentFactory()
    bookings = [booking_create(resident=booker, slot_id=slot.pk) for slot in (soon, later)]
    waitlist_type.booking_notice_hours = 4
    waitlist_type.save()
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=booker, booking_id=bookings[0].pk)
    assert not WaitlistOffer.objects.filter(slot=soon).exists()
    soon.refresh_from_db()
    assert soon.status == SlotStatus.FREE
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=booker, booking_id=bookings[1].pk)
    offer = _offer(later)

    # The clinic lengthens the notice while the offer runs: the offer cannot book past it either.
    waitlist_type.booking_notice_hours = 24 * 7
    waitlist_type.save()
    with pytest.raises(BookingError) as refused:
        waitlist_offer_accept(resident=entry.resident, token=offer.token)

    assert refused.value.code == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
