"""Single-threaded booking rules: R-BOOK-1…9, R-TYPE-2, R-TYPE-4, R-TYPE-6, R-TYPE-7."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ContactDetails, Role
from bookings.models import (
    Booking,
    BookingBasis,
    BookingStatus,
    Channel,
    InboxMessage,
    LogStatus,
    MessageKind,
    WaitlistStatus,
    WebBookingLogEntry,
)
from bookings.selectors import booking_for_resident, bookings_for_resident, inbox_for_resident, rebook_candidates
from bookings.services import (
    booking_cancel,
    booking_create,
    booking_create_by_proxy,
    booking_create_for_resident,
    booking_rebook,
    waitlist_add,
    waitlist_book,
)
from clinics.models import CaseKind, CaseType, ClinicRelation, RelationSource
from clinics.services import relation_add, relation_remove
from core.errors import BookingError, DomainError, ErrorCode, PermissionDeniedError, ValidationFailed
from notifications.models import NotificationEvent
from schedules.models import Slot, SlotStatus

from ..factories import (
    AppointmentTypeFactory,
    BookingBasisFactory,
    RegionFactory,
    ResourceFactory,
    SlotFactory,
    reloaded,
    staff,
    tomorrow_at,
)

PROXY_UNIT = "1177 Vårdguiden på telefon"


def make_slot(appointment_type, resource, start: dt.datetime, minutes: int = 20) -> Slot:
    return SlotFactory(
        appointment_type=appointment_type, resource=resource, start=start, end=start + dt.timedelta(minutes=minutes)
    )


def set_manage_active(clinic, active: bool) -> None:
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.MANAGE).update(is_active=active)


def state(booking: Booking) -> tuple:
    booking.refresh_from_db()
    return booking.status, booking.slot_id, booking.ended_at


@pytest.fixture
def start():
    """A start three days ahead, so that "now" can move a day or two either way and stay in the future."""
    return tomorrow_at(10, days=3)


@pytest.fixture
def web_slot(appointment_type, resource, start):
    return make_slot(appointment_type, resource, start)


@pytest.fixture
def hidden_type(clinic):
    return AppointmentTypeFactory(
        clinic=clinic,
        internal_name="Provtagning intern",
        web_name="",
        hidden_for_patient=True,
        bookable_on_web=False,
        cancellable_on_web=False,
        reschedulable_on_web=False,
    )


@pytest.fixture
def proxy_type(clinic):
    return AppointmentTypeFactory(
        clinic=clinic, internal_name="Ombud Sjuksköterskebesök", web_name="Sjuksköterskebesök"
    )


@pytest.fixture
def proxy_booker(clinic):
    return staff(Role.PROXY_BOOKER, clinic, unit_name=PROXY_UNIT)


# --- R-BOOK-1 ---------------------------------------------------------------------------------


def test_second_booking_of_a_slot_is_refused_as_already_reserved(resident, other_resident, web_slot, start):
    first = booking_create(resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2))

    with pytest.raises(BookingError) as exc:
        booking_create(resident=other_resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2))

    assert exc.value.code == ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED
    assert list(Booking.objects.filter(slot=web_slot, status=BookingStatus.ACTIVE)) == [first]
    assert not WebBookingLogEntry.objects.filter(resident=other_resident).exists()


def test_database_constraint_refuses_second_booking_even_if_slot_looks_free(resident, other_resident, web_slot, start):
    """The last line of defence: code that forgot the slot state still meets the constraint."""
    now = start - dt.timedelta(days=2)
    booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    Slot.objects.filter(pk=web_slot.pk).update(status=SlotStatus.FREE, is_published=True)

    with pytest.raises(BookingError) as exc:
        booking_create(resident=other_resident, slot_id=web_slot.pk, now=now)

    assert exc.value.code == ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED
    assert Booking.objects.filter(slot=web_slot).count() == 1
    assert not WebBookingLogEntry.objects.filter(resident=other_resident).exists()
    assert not ClinicRelation.objects.filter(resident=other_resident).exists()


def test_inserting_second_active_booking_row_violates_one_active_per_slot(resident, other_resident, web_slot, start):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2))

    with pytest.raises(IntegrityError, match="booking_one_active_per_slot"), transaction.atomic():
        Booking.objects.create(
            slot=web_slot,
            resident=other_resident,
            clinic=booking.clinic,
            appointment_type=booking.appointment_type,
            resource=booking.resource,
            start=booking.start,
            end=booking.end,
            channel=Channel.STAFF,
        )


def test_cancelled_booking_does_not_block_a_new_active_row_on_the_slot(
    resident, other_resident, web_slot, start, django_capture_on_commit_callbacks
):
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=resident, booking_id=booking.pk, now=now)

    again = booking_create(resident=other_resident, slot_id=web_slot.pk, now=now)

    assert again.status == BookingStatus.ACTIVE
    assert Booking.objects.filter(slot=web_slot, status=BookingStatus.ACTIVE).get() == again


# --- R-BOOK-2 ---------------------------------------------------------------------------------


def test_overlapping_booking_for_same_resident_is_refused(resident, appointment_type, resource, clinic, start):
    other_resource = ResourceFactory(clinic=clinic, name="Läkare Lisa Lund")
    first_slot = make_slot(appointment_type, resource, start)
    overlapping = make_slot(appointment_type, other_resource, start + dt.timedelta(minutes=10))
    now = start - dt.timedelta(days=2)
    booking_create(resident=resident, slot_id=first_slot.pk, now=now)

    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=overlapping.pk, now=now)

    assert exc.value.code == ErrorCode.USER_IS_ALREADY_OCCUPIED
    overlapping.refresh_from_db()
    assert overlapping.status == SlotStatus.FREE
    assert Booking.objects.filter(resident=resident).count() == 1


def test_back_to_back_bookings_for_same_resident_are_allowed(resident, appointment_type, resource, start):
    first_slot = make_slot(appointment_type, resource, start)
    next_slot = make_slot(appointment_type, resource, start + dt.timedelta(minutes=20))
    now = start - dt.timedelta(days=2)

    booking_create(resident=resident, slot_id=first_slot.pk, now=now)
    booking_create(resident=resident, slot_id=next_slot.pk, now=now)

    assert Booking.objects.filter(resident=resident, status=BookingStatus.ACTIVE).count() == 2


def test_staff_booking_overlapping_residents_booking_is_refused(
    resident, scheduler, appointment_type, resource, clinic, start
):
    other_resource = ResourceFactory(clinic=clinic, name="Läkare Lisa Lund")
    first_slot = make_slot(appointment_type, resource, start)
    overlapping = make_slot(appointment_type, other_resource, start + dt.timedelta(minutes=5))
    now = start - dt.timedelta(days=2)
    booking_create(resident=resident, slot_id=first_slot.pk, now=now)

    with pytest.raises(BookingError) as exc:
        booking_create_for_resident(actor=scheduler, resident=resident, slot_id=overlapping.pk, now=now)

    assert exc.value.code == ErrorCode.USER_IS_ALREADY_OCCUPIED
    assert not InboxMessage.objects.filter(resident=resident).exists()


def test_inserting_overlapping_active_rows_violates_exclusion_constraint(
    resident, appointment_type, resource, clinic, start
):
    other_resource = ResourceFactory(clinic=clinic, name="Läkare Lisa Lund")
    first_slot = make_slot(appointment_type, resource, start)
    overlapping = make_slot(appointment_type, other_resource, start + dt.timedelta(minutes=10))
    booking_create(resident=resident, slot_id=first_slot.pk, now=start - dt.timedelta(days=2))

    with pytest.raises(IntegrityError, match="booking_resident_no_overlap"), transaction.atomic():
        Booking.objects.create(
            slot=overlapping,
            resident=resident,
            clinic=clinic,
            appointment_type=appointment_type,
            resource=other_resource,
            start=overlapping.start,
            end=overlapping.end,
            channel=Channel.STAFF,
        )


# --- R-BOOK-4 ---------------------------------------------------------------------------------


def test_web_booking_is_shown_to_staff_as_webbtidbok(resident, web_slot, start):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2))

    assert booking.channel == Channel.WEB
    assert booking.created_by == resident
    assert booking.changed_by_display == "Webbtidbok"


def test_staff_booking_is_shown_with_staff_name_and_id(resident, scheduler, web_slot, start):
    booking = booking_create_for_resident(
        actor=scheduler, resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2)
    )

    assert booking.channel == Channel.STAFF
    assert booking.created_by == scheduler
    assert scheduler.get_full_name() in booking.changed_by_display
    assert str(scheduler.pk) in booking.changed_by_display
    assert "Webbtidbok" not in booking.changed_by_display


def test_proxy_booking_is_shown_with_proxy_booker_and_unit(resident, proxy_booker, proxy_type, resource, start):
    slot = make_slot(proxy_type, resource, start)

    booking = booking_create_by_proxy(
        actor=proxy_booker, resident=resident, slot_id=slot.pk, now=start - dt.timedelta(days=2)
    )

    assert booking.channel == Channel.PROXY
    assert booking.proxy_unit == PROXY_UNIT
    assert PROXY_UNIT in booking.changed_by_display
    assert proxy_booker.get_full_name() in booking.changed_by_display


# --- R-BOOK-5 ---------------------------------------------------------------------------------


def test_booking_is_visible_until_exactly_two_hours_after_start(resident, web_slot, start):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2))
    two_hours_after = start + dt.timedelta(hours=2)

    assert list(bookings_for_resident(resident=resident, now=start + dt.timedelta(minutes=30))) == [booking]
    assert list(bookings_for_resident(resident=resident, now=two_hours_after - dt.timedelta(seconds=1))) == [booking]
    assert booking_for_resident(resident=resident, booking_id=booking.pk, now=two_hours_after - dt.timedelta(seconds=1))
    assert list(bookings_for_resident(resident=resident, now=two_hours_after)) == []
    assert list(bookings_for_resident(resident=resident, now=two_hours_after + dt.timedelta(seconds=1))) == []
    with pytest.raises(BookingError) as exc:
        booking_for_resident(resident=resident, booking_id=booking.pk, now=two_hours_after + dt.timedelta(seconds=1))
    assert exc.value.code == ErrorCode.NOT_FOUND


def test_booking_needs_an_active_clinic_relation_to_be_visible(resident, clinic, web_slot, start):
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    assert list(bookings_for_resident(resident=resident, now=now)) == [booking]

    relation_remove(resident=resident, clinic=clinic)
    assert list(bookings_for_resident(resident=resident, now=now)) == []

    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)
    assert list(bookings_for_resident(resident=resident, now=now)) == [booking]


def test_staff_booking_needs_manage_case_type_to_be_visible(resident, scheduler, clinic, web_slot, start):
    now = start - dt.timedelta(days=2)
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=web_slot.pk, now=now)
    assert list(bookings_for_resident(resident=resident, now=now)) == [booking]

    set_manage_active(clinic, False)

    assert list(bookings_for_resident(resident=resident, now=now)) == []
    with pytest.raises(BookingError) as exc:
        booking_for_resident(resident=resident, booking_id=booking.pk, now=now)
    assert exc.value.code == ErrorCode.NOT_FOUND


def test_own_web_booking_is_visible_without_manage_case_type(resident, clinic, web_slot, start):
    now = start - dt.timedelta(days=2)
    set_manage_active(clinic, False)

    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)

    assert list(bookings_for_resident(resident=resident, now=now)) == [booking]


def test_hidden_type_booking_is_never_visible_to_resident(resident, scheduler, clinic, hidden_type, resource, start):
    now = start - dt.timedelta(days=2)
    slot = make_slot(hidden_type, resource, start)
    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)

    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk, now=now)

    assert booking.status == BookingStatus.ACTIVE
    assert list(bookings_for_resident(resident=resident, now=now)) == []
    with pytest.raises(BookingError) as exc:
        booking_for_resident(resident=resident, booking_id=booking.pk, now=now)
    assert exc.value.code == ErrorCode.NOT_FOUND


def test_booking_for_resident_gives_not_found_for_another_residents_booking(resident, other_resident, web_slot, start):
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)

    with pytest.raises(BookingError) as exc:
        booking_for_resident(resident=other_resident, booking_id=booking.pk, now=now)

    assert exc.value.code == ErrorCode.NOT_FOUND
    assert list(bookings_for_resident(resident=other_resident, now=now)) == []


# --- R-BOOK-6 ---------------------------------------------------------------------------------


def test_resident_cancels_and_freed_slot_is_republished_after_commit(
    resident, web_slot, start, django_capture_on_commit_callbacks
):
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        cancelled = booking_cancel(actor=resident, booking_id=booking.pk, now=now)
    web_slot.refresh_from_db()
    assert cancelled.status == BookingStatus.CANCELLED
    assert web_slot.status == SlotStatus.FREE
    assert web_slot.is_published is False  # appearing is the publisher's job, after commit (R-PUB-3)
    assert callbacks

    for callback in callbacks:
        callback()
    web_slot = reloaded(web_slot)
    assert web_slot.is_published is True
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.ended_at == now
    assert booking.ended_by == resident


def test_cancel_is_refused_when_manage_case_type_is_inactive(resident, clinic, web_slot, start):
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    set_manage_active(clinic, False)

    with pytest.raises(BookingError) as exc:
        booking_cancel(actor=resident, booking_id=booking.pk, now=now)

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert state(booking)[0] == BookingStatus.ACTIVE
    web_slot.refresh_from_db()
    assert web_slot.status == SlotStatus.BOOKED


def test_cancel_is_refused_for_type_not_cancellable_on_web(resident, clinic, resource, start):
    no_cancel = AppointmentTypeFactory(clinic=clinic, internal_name="Hälsokontroll", cancellable_on_web=False)
    slot = make_slot(no_cancel, resource, start)
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=slot.pk, now=now)

    with pytest.raises(BookingError) as exc:
        booking_cancel(actor=resident, booking_id=booking.pk, now=now)

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert state(booking)[0] == BookingStatus.ACTIVE


def test_cancel_is_refused_once_the_time_has_started(resident, web_slot, start):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2))

    for now in (start, start + dt.timedelta(minutes=1)):
        with pytest.raises(BookingError) as exc:
            booking_cancel(actor=resident, booking_id=booking.pk, now=now)
        assert exc.value.code == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    assert state(booking)[0] == BookingStatus.ACTIVE
    assert not WebBookingLogEntry.objects.filter(status=LogStatus.CANCELLED).exists()


def test_web_cancel_of_waitlist_booking_puts_resident_back_on_waitlist(
    resident, scheduler, clinic, appointment_type, web_slot, start
):
    now = start - dt.timedelta(days=2)
    entry = waitlist_add(actor=scheduler, clinic=clinic, resident=resident, appointment_type=appointment_type)
    booking = waitlist_book(actor=scheduler, entry_id=entry.pk, slot_id=web_slot.pk, now=now)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED

    booking_cancel(actor=resident, booking_id=booking.pk, now=now)

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING


# --- R-BOOK-7 ---------------------------------------------------------------------------------


def test_rebook_candidates_are_only_free_slots_on_same_resource_and_type(
    resident, other_resident, clinic, appointment_type, resource, start
):
    other_type = AppointmentTypeFactory(clinic=clinic, internal_name="Vaccination")
    other_resource = ResourceFactory(clinic=clinic, name="Läkare Lisa Lund")
    booked = make_slot(appointment_type, resource, start)
    same = make_slot(appointment_type, resource, start + dt.timedelta(hours=1))
    same_later = make_slot(appointment_type, resource, start + dt.timedelta(hours=2))
    taken = make_slot(appointment_type, resource, start + dt.timedelta(hours=3))
    make_slot(other_type, resource, start + dt.timedelta(hours=4))
    make_slot(appointment_type, other_resource, start + dt.timedelta(hours=1))
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=booked.pk, now=now)
    booking_create(resident=other_resident, slot_id=taken.pk, now=now)

    candidates = list(rebook_candidates(booking=booking, resident=resident, now=now))

    assert candidates == [same, same_later]


def test_rebook_to_slot_of_other_type_or_resource_is_refused(resident, clinic, appointment_type, resource, start):
    other_type = AppointmentTypeFactory(clinic=clinic, internal_name="Vaccination")
    other_resource = ResourceFactory(clinic=clinic, name="Läkare Lisa Lund")
    booked = make_slot(appointment_type, resource, start)
    wrong_type = make_slot(other_type, resource, start + dt.timedelta(hours=1))
    wrong_resource = make_slot(appointment_type, other_resource, start + dt.timedelta(hours=1))
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=booked.pk, now=now)

    for target in (wrong_type, wrong_resource):
        with pytest.raises(BookingError) as exc:
            booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=target.pk, now=now)
        assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
        target.refresh_from_db()
        assert target.status == SlotStatus.FREE
    assert state(booking) == (BookingStatus.ACTIVE, booked.pk, None)


def test_rebook_moves_booking_atomically_and_republishes_old_slot(
    resident, appointment_type, resource, start, django_capture_on_commit_callbacks
):
    old_slot = make_slot(appointment_type, resource, start)
    new_slot = make_slot(appointment_type, resource, start + dt.timedelta(days=1))
    now = start - dt.timedelta(days=2)
    old = booking_create(resident=resident, slot_id=old_slot.pk, now=now)

    with django_capture_on_commit_callbacks(execute=True):
        new = booking_rebook(resident=resident, booking_id=old.pk, new_slot_id=new_slot.pk, now=now)

    old.refresh_from_db()
    old_slot.refresh_from_db()
    new_slot.refresh_from_db()
    assert old.status == BookingStatus.REBOOKED
    assert old.ended_at == now
    assert new.status == BookingStatus.ACTIVE
    assert new.slot_id == new_slot.pk
    assert new.rebooked_from_id == old.pk
    assert new_slot.status == SlotStatus.BOOKED and new_slot.is_published is False
    assert old_slot.status == SlotStatus.FREE and old_slot.is_published is True
    assert list(bookings_for_resident(resident=resident, now=now)) == [new]


def test_failed_rebook_leaves_everything_unchanged(resident, other_resident, appointment_type, resource, start):
    """The new slot looks free but already has an active booking: the insert fails after the old
    booking was ended, and the whole rebooking must roll back."""
    old_slot = make_slot(appointment_type, resource, start)
    new_slot = make_slot(appointment_type, resource, start + dt.timedelta(days=1))
    now = start - dt.timedelta(days=2)
    old = booking_create(resident=resident, slot_id=old_slot.pk, now=now)
    intruder = booking_create(resident=other_resident, slot_id=new_slot.pk, now=now)
    Slot.objects.filter(pk=new_slot.pk).update(status=SlotStatus.FREE, is_published=True)
    logs_before = WebBookingLogEntry.objects.count()

    with pytest.raises(BookingError) as exc:
        booking_rebook(resident=resident, booking_id=old.pk, new_slot_id=new_slot.pk, now=now)

    assert exc.value.code == ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED
    assert state(old) == (BookingStatus.ACTIVE, old_slot.pk, None)
    old_slot.refresh_from_db()
    assert old_slot.status == SlotStatus.BOOKED
    assert state(intruder) == (BookingStatus.ACTIVE, new_slot.pk, None)
    assert Booking.objects.filter(resident=resident).count() == 1
    assert WebBookingLogEntry.objects.count() == logs_before


@pytest.mark.parametrize("flag", ["reschedulable_on_web", "manage_case_type"])
def test_rebook_needs_manage_active_and_reschedulable_type(resident, clinic, resource, start, flag):
    appointment_type = AppointmentTypeFactory(
        clinic=clinic, internal_name="Kontroll", reschedulable_on_web=flag != "reschedulable_on_web"
    )
    old_slot = make_slot(appointment_type, resource, start)
    new_slot = make_slot(appointment_type, resource, start + dt.timedelta(days=1))
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=old_slot.pk, now=now)
    if flag == "manage_case_type":
        set_manage_active(clinic, False)

    with pytest.raises(BookingError) as exc:
        booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=new_slot.pk, now=now)

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert list(rebook_candidates(booking=booking, resident=resident, now=now)) == []
    assert state(booking) == (BookingStatus.ACTIVE, old_slot.pk, None)


def test_rebook_is_refused_once_the_time_has_started(resident, appointment_type, resource, start):
    old_slot = make_slot(appointment_type, resource, start)
    new_slot = make_slot(appointment_type, resource, start + dt.timedelta(days=1))
    booking = booking_create(resident=resident, slot_id=old_slot.pk, now=start - dt.timedelta(days=2))

    with pytest.raises(BookingError) as exc:
        booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=new_slot.pk, now=start)

    assert exc.value.code == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    assert state(booking) == (BookingStatus.ACTIVE, old_slot.pk, None)


# --- R-BOOK-8 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before_start", "late"),
    [
        (dt.timedelta(hours=24), False),
        (dt.timedelta(hours=24) - dt.timedelta(seconds=1), True),
        (dt.timedelta(hours=25), False),
        (dt.timedelta(hours=1), True),
    ],
)
def test_cancellation_less_than_24_hours_before_start_is_late(resident, web_slot, start, before_start, late):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2))

    booking_cancel(actor=resident, booking_id=booking.pk, now=start - before_start)

    row = WebBookingLogEntry.objects.get(status=LogStatus.CANCELLED)
    assert row.is_late is late
    assert row.changed_at == start - before_start


@pytest.mark.parametrize(
    ("before_start", "late"),
    [
        (dt.timedelta(hours=24), False),
        (dt.timedelta(hours=24) - dt.timedelta(seconds=1), True),
    ],
)
def test_rebooking_less_than_24_hours_before_previous_start_is_late(
    resident, appointment_type, resource, start, before_start, late
):
    old_slot = make_slot(appointment_type, resource, start)
    # The new time is far away: lateness is measured against the *previous* start only.
    new_slot = make_slot(appointment_type, resource, start + dt.timedelta(days=5))
    booking = booking_create(resident=resident, slot_id=old_slot.pk, now=start - dt.timedelta(days=2))

    booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=new_slot.pk, now=start - before_start)

    row = WebBookingLogEntry.objects.get(status=LogStatus.REBOOKED)
    assert row.is_late is late


def test_new_booking_is_never_late(resident, web_slot, start):
    booking_create(resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(hours=1))

    assert WebBookingLogEntry.objects.get(status=LogStatus.BOOKED).is_late is False


# --- R-BOOK-9 ---------------------------------------------------------------------------------


def test_staff_booking_creates_relation_summons_and_shows_under_booked_times(
    resident, scheduler, clinic, web_slot, start, django_capture_on_commit_callbacks
):
    now = start - dt.timedelta(days=2)
    assert not ClinicRelation.objects.filter(resident=resident, clinic=clinic).exists()

    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=web_slot.pk, now=now)

    relation = ClinicRelation.objects.get(resident=resident, clinic=clinic)
    assert relation.on_start_page is True
    message = InboxMessage.objects.get(resident=resident)
    assert message.kind == MessageKind.SUMMONS
    assert message.booking == booking
    assert message.clinic == clinic
    assert "Besök" in message.body and "Uppföljning" not in message.body  # web name, never internal (R-TYPE-1)
    assert list(inbox_for_resident(resident=resident)) == [message]
    assert list(bookings_for_resident(resident=resident, now=now)) == [booking]
    assert not WebBookingLogEntry.objects.exists()  # staff changes are not in the web log
    assert NotificationEvent.objects.get(booking=booking).kind == "summons"  # R-NOTE-2


def test_the_summons_and_its_e_mail_are_in_swedish(
    resident, scheduler, web_slot, start, django_capture_on_commit_callbacks
):
    """The messages a resident gets from the clinic speak the product's language (R-BOOK-9)."""
    ContactDetails.objects.create(user=resident, email="anna@exempel.se", email_verified_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        booking_create_for_resident(
            actor=scheduler, resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2)
        )

    message = InboxMessage.objects.get(resident=resident)
    assert message.subject.startswith("Bokad tid: Besök")
    assert "har bokat en tid åt dig" in message.body
    assert mail.outbox[0].subject.startswith("Bokad tid ")


def test_staff_cancellation_sends_cancellation_message(resident, scheduler, web_slot, start):
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)

    booking_cancel(actor=scheduler, booking_id=booking.pk, now=now)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    message = InboxMessage.objects.get(resident=resident)
    assert message.kind == MessageKind.CANCELLATION
    assert message.booking == booking
    assert list(inbox_for_resident(resident=resident)) == [message]


def test_staff_booking_and_cancellation_of_hidden_type_send_no_message(
    resident, scheduler, clinic, hidden_type, resource, start, django_capture_on_commit_callbacks
):
    now = start - dt.timedelta(days=2)
    slot = make_slot(hidden_type, resource, start)

    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk, now=now)
    assert not InboxMessage.objects.filter(resident=resident).exists()

    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=scheduler, booking_id=booking.pk, now=now)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert list(inbox_for_resident(resident=resident)) == []
    assert mail.outbox == []
    assert not NotificationEvent.objects.exists()  # R-TYPE-2: not even recorded


def test_a_booking_for_a_resident_is_on_the_audit_log_in_its_own_transaction(
    resident, scheduler, clinic, web_slot, start, monkeypatch
):
    """R-LOG-4: the service records who booked for whom, whichever page or API calls it, and a
    booking whose record cannot be written is not made either."""
    from accounts.models import AuditEvent
    from bookings.services import staff as services

    earlier = start - dt.timedelta(days=2)
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=web_slot.pk, now=earlier)

    event = AuditEvent.objects.get(action="booking.create_for_resident")
    assert (event.actor, event.resident, event.clinic) == (scheduler, resident, clinic)
    assert (event.object_type, event.object_id) == ("bookings.Booking", str(booking.pk))

    def audit_fails(**kwargs):
        raise IntegrityError("the audit log could not be written")

    monkeypatch.setattr(services, "audit_record", audit_fails)
    other = make_slot(web_slot.appointment_type, web_slot.resource, start + dt.timedelta(hours=2))
    with pytest.raises(IntegrityError):
        booking_create_for_resident(actor=scheduler, resident=resident, slot_id=other.pk, now=earlier)
    assert list(Booking.objects.all()) == [booking]
    assert Slot.objects.get(pk=other.pk).status == SlotStatus.FREE


def test_staff_of_another_clinic_cannot_book_for_resident(resident, other_scheduler, web_slot, start):
    with pytest.raises(PermissionDeniedError):
        booking_create_for_resident(
            actor=other_scheduler, resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2)
        )

    web_slot.refresh_from_db()
    assert web_slot.status == SlotStatus.FREE
    assert not Booking.objects.exists()


# --- R-TYPE-4 ---------------------------------------------------------------------------------


@pytest.fixture
def basis_type(clinic):
    return AppointmentTypeFactory(clinic=clinic, internal_name="Remissbesök", requires_booking_basis=True)


def test_type_requiring_basis_is_refused_without_one(resident, other_resident, basis_type, resource, start):
    slot = make_slot(basis_type, resource, start)
    BookingBasisFactory(appointment_type=basis_type, resident=other_resident)  # someone else's does not count

    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=slot.pk, now=start - dt.timedelta(days=2))

    assert exc.value.code == ErrorCode.BOOKING_BASIS_REQUIRED
    slot.refresh_from_db()
    assert slot.status == SlotStatus.FREE
    assert not Booking.objects.exists()


def test_booking_consumes_basis_and_cancelling_gives_it_back(resident, basis_type, resource, start):
    slot = make_slot(basis_type, resource, start)
    second_slot = make_slot(basis_type, resource, start + dt.timedelta(days=1))
    basis = BookingBasisFactory(appointment_type=basis_type, resident=resident)
    now = start - dt.timedelta(days=2)

    booking = booking_create(resident=resident, slot_id=slot.pk, now=now)

    basis.refresh_from_db()
    assert booking.booking_basis == basis
    assert basis.consumed_at == now
    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=second_slot.pk, now=now)
    assert exc.value.code == ErrorCode.BOOKING_BASIS_REQUIRED

    booking_cancel(actor=resident, booking_id=booking.pk, now=now)

    basis = reloaded(basis)
    assert basis.consumed_at is None
    again = booking_create(resident=resident, slot_id=second_slot.pk, now=now)
    assert again.booking_basis == basis


def test_rebooking_keeps_the_basis(resident, basis_type, resource, start):
    old_slot = make_slot(basis_type, resource, start)
    new_slot = make_slot(basis_type, resource, start + dt.timedelta(days=1))
    basis = BookingBasisFactory(appointment_type=basis_type, resident=resident)
    now = start - dt.timedelta(days=2)
    old = booking_create(resident=resident, slot_id=old_slot.pk, now=now)

    new = booking_rebook(resident=resident, booking_id=old.pk, new_slot_id=new_slot.pk, now=now)

    basis.refresh_from_db()
    assert new.booking_basis_id == basis.pk
    assert basis.consumed_at == now
    assert BookingBasis.objects.filter(resident=resident, consumed_at__isnull=True).count() == 0


# --- R-TYPE-7 ---------------------------------------------------------------------------------


@pytest.fixture
def comment_clinic(clinic):
    clinic.patient_comment_on_web = True
    clinic.save(update_fields=["patient_comment_on_web"])
    return clinic


@pytest.mark.parametrize(
    ("phone", "reason", "bad_fields"),
    [
        ("", "Ont i halsen", {"phone"}),
        ("ring mig", "Ont i halsen", {"phone"}),
        ("070-123 45 67", "", {"reason"}),
        ("070-123 45 67", "   ", {"reason"}),
        ("070-123 45 67", "x" * 201, {"reason"}),
        ("", "", {"phone", "reason"}),
    ],
)
def test_patient_comment_requires_valid_phone_and_reason_and_writes_nothing_on_bad_input(
    resident, comment_clinic, web_slot, start, phone, reason, bad_fields
):
    with pytest.raises(ValidationFailed) as exc:
        booking_create(
            resident=resident, slot_id=web_slot.pk, phone=phone, reason=reason, now=start - dt.timedelta(days=2)
        )

    assert exc.value.code == ErrorCode.INVALID_INPUT
    assert set(exc.value.field_errors) == bad_fields
    web_slot.refresh_from_db()
    assert web_slot.status == SlotStatus.FREE
    assert not Booking.objects.exists()
    assert not WebBookingLogEntry.objects.exists()
    assert not ClinicRelation.objects.filter(resident=resident).exists()


def test_patient_comment_is_stored_on_booking(resident, comment_clinic, web_slot, start):
    booking = booking_create(
        resident=resident,
        slot_id=web_slot.pk,
        phone=" 070-123 45 67 ",
        reason="Ont i  halsen sedan\n en vecka",
        now=start - dt.timedelta(days=2),
    )

    booking.refresh_from_db()
    assert booking.patient_phone == "070-123 45 67"
    assert booking.patient_reason == "Ont i halsen sedan en vecka"


def test_patient_comment_is_not_required_when_clinic_has_it_off(resident, clinic, web_slot, start):
    assert clinic.patient_comment_on_web is False

    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2))

    assert booking.status == BookingStatus.ACTIVE
    assert booking.patient_phone == "" and booking.patient_reason == ""


# --- R-TYPE-2 ---------------------------------------------------------------------------------


def test_resident_cannot_book_hidden_type(resident, hidden_type, resource, start):
    slot = make_slot(hidden_type, resource, start)
    Slot.objects.filter(pk=slot.pk).update(is_published=True)

    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=slot.pk, now=start - dt.timedelta(days=2))

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert not Booking.objects.exists()


def test_hidden_type_booking_cannot_be_cancelled_or_rebooked_by_resident(
    resident, scheduler, clinic, hidden_type, resource, start
):
    now = start - dt.timedelta(days=2)
    slot = make_slot(hidden_type, resource, start)
    other_slot = make_slot(hidden_type, resource, start + dt.timedelta(days=1))
    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk, now=now)

    with pytest.raises(DomainError) as cancel_exc:
        booking_cancel(actor=resident, booking_id=booking.pk, now=now)
    with pytest.raises(DomainError) as rebook_exc:
        booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=other_slot.pk, now=now)

    assert cancel_exc.value.code == ErrorCode.NOT_FOUND
    assert rebook_exc.value.code == ErrorCode.NOT_FOUND
    assert state(booking) == (BookingStatus.ACTIVE, slot.pk, None)
    assert list(rebook_candidates(booking=booking, resident=resident, now=now)) == []
    assert list(inbox_for_resident(resident=resident)) == []


# --- R-TYPE-6 ---------------------------------------------------------------------------------


def test_proxy_booker_books_proxy_type_with_summons_and_log(
    resident, proxy_booker, proxy_type, clinic, resource, start
):
    slot = make_slot(proxy_type, resource, start)
    now = start - dt.timedelta(days=2)

    booking = booking_create_by_proxy(actor=proxy_booker, resident=resident, slot_id=slot.pk, now=now)

    slot.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE and booking.resident == resident
    assert booking.created_by == proxy_booker
    assert slot.status == SlotStatus.BOOKED
    assert InboxMessage.objects.get(resident=resident).kind == MessageKind.SUMMONS
    row = WebBookingLogEntry.objects.get()
    assert (row.status, row.channel, row.clinic_id) == (LogStatus.BOOKED, Channel.PROXY, clinic.pk)
    assert list(bookings_for_resident(resident=resident, now=now)) == [booking]


def test_proxy_booker_of_another_region_is_refused(resident, proxy_type, resource, start):
    uppsala = RegionFactory(code="03", name="Region Uppsala")
    outsider = staff(Role.PROXY_BOOKER, region=uppsala, unit_name="Akuten Uppsala")
    slot = make_slot(proxy_type, resource, start)

    with pytest.raises(PermissionDeniedError):
        booking_create_by_proxy(actor=outsider, resident=resident, slot_id=slot.pk, now=start - dt.timedelta(days=2))

    assert not Booking.objects.exists()


def test_proxy_booker_cannot_book_non_proxy_type(resident, proxy_booker, web_slot, start):
    with pytest.raises(BookingError) as exc:
        booking_create_by_proxy(
            actor=proxy_booker, resident=resident, slot_id=web_slot.pk, now=start - dt.timedelta(days=2)
        )

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    web_slot.refresh_from_db()
    assert web_slot.status == SlotStatus.FREE
    assert not Booking.objects.exists()


def test_resident_cannot_book_proxy_type_on_web(resident, proxy_type, resource, start):
    slot = make_slot(proxy_type, resource, start)

    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=slot.pk, now=start - dt.timedelta(days=2))

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert not Booking.objects.exists()


def test_proxy_booker_cancels_proxy_booking_and_it_is_logged(
    resident, proxy_booker, proxy_type, resource, start, django_capture_on_commit_callbacks
):
    slot = make_slot(proxy_type, resource, start)
    now = start - dt.timedelta(days=2)
    booking = booking_create_by_proxy(actor=proxy_booker, resident=resident, slot_id=slot.pk, now=now)

    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=proxy_booker, booking_id=booking.pk, now=now)

    booking.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert slot.status == SlotStatus.FREE and slot.is_published is True
    row = WebBookingLogEntry.objects.get(status=LogStatus.CANCELLED)
    assert row.channel == Channel.PROXY


def test_proxy_booker_cannot_cancel_non_proxy_booking(resident, proxy_booker, web_slot, start):
    now = start - dt.timedelta(days=2)
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)

    with pytest.raises(BookingError) as exc:
        booking_cancel(actor=proxy_booker, booking_id=booking.pk, now=now)

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert state(booking)[0] == BookingStatus.ACTIVE
