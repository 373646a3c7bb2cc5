"""Proxy bookers and the notice and deadline rules (R-POL-1, R-POL-2, R-TYPE-6).

Guide 002 ("Ombudsbokning"): the web flags of a type govern booking and cancelling in 1177 *and*
for proxy bookers — they book into the clinic's web timebook on the resident's behalf. So the
type's minimum notice binds them as it binds a resident, past the deadline for changes they are
refused with the clinic's phone number, and before a late cancellation they are shown the clinic's
fee text. The clinic's own staff are bound by neither."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from accounts.models import Role
from bookings.models import BookingStatus, LogStatus, WebBookingLogEntry
from bookings.proxy_selectors import proxy_cancel_read
from bookings.services import booking_cancel, booking_create_by_proxy
from clinics.models import DeadlineUnit
from core.errors import BookingError, ErrorCode
from core.localtime import LOCAL_TZ
from schedules.selectors import proxy_free_slots

from ..factories import AppointmentTypeFactory, login_with_second_factor, staff
from ..pages import make_slot, text
from .test_proxy_pages import HOME, UNIT, find

pytestmark = pytest.mark.django_db

FEE = "Avbokning senare än 24 timmar före besöket debiteras med 200 kr."
API_FREE = "/api/v1/proxy/free-times/"
API_SEARCH = "/api/v1/proxy/residents/search/"
CANCEL_BUTTON = '<button type="submit" class="danger">'


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


def api_cancel_url(booking_id: int) -> str:
    return f"/api/v1/proxy/bookings/{booking_id}/cancel/"


@pytest.fixture
def booker(clinic):
    return staff(Role.PROXY_BOOKER, clinic, unit_name=UNIT)


def signed_in(client: Client, user) -> Client:
    # After moving the clock a staff session has run out: sign in anew.
    return login_with_second_factor(client, user)


# --- Minimum notice for booking (R-POL-1) -------------------------------------------------------


@pytest.fixture
def notice_type(clinic):
    return AppointmentTypeFactory(
        clinic=clinic, internal_name="Ombud 1177 akut", web_name="Akut tid", booking_notice_hours=2
    )


@pytest.fixture
def notice_slots(time_machine, notice_type, resource):
    """At 08:00: a time at 10:00 (inside the two hours' notice) and one at 10:20 (after it)."""
    time_machine.move_to(local(2027, 2, 3, 8, 0), tick=False)
    return make_slot(notice_type, resource, local(2027, 2, 3, 10, 0)), make_slot(
        notice_type, resource, local(2027, 2, 3, 10, 20)
    )


def test_r_pol_1_a_proxy_booker_cannot_book_inside_the_notice_and_is_told_whom_to_call(
    booker, resident, clinic, notice_slots
):
    too_soon, in_time = notice_slots

    with pytest.raises(BookingError) as refused:
        booking_create_by_proxy(actor=booker, resident=resident, slot_id=too_soon.pk)

    assert refused.value.code == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    assert clinic.phone in str(refused.value.message) and "2" in str(refused.value.message)
    assert not too_soon.bookings.exists()
    booking = booking_create_by_proxy(actor=booker, resident=resident, slot_id=in_time.pk)
    assert booking.status == BookingStatus.ACTIVE


def test_r_pol_1_proxy_free_times_leave_out_times_inside_the_notice(client, booker, resident, clinic, notice_slots):
    _too_soon, in_time = notice_slots

    assert list(proxy_free_slots(region_ids=[clinic.region_id])) == [in_time]
    signed_in(client, booker)
    api = client.get(API_FREE, {"date": "2027-02-03"})
    assert [row["id"] for row in api.json()] == [in_time.pk]
    token = find(client, resident.personnummer)
    page = client.get(f"{HOME}tider/", {"sok": token, "datum": "2027-02-03"})
    assert [slot.pk for slot, _url in page.context["free"]] == [in_time.pk]


def test_r_pol_1_the_proxy_page_and_api_refuse_a_time_inside_the_notice(client, booker, resident, clinic, notice_slots):
    too_soon, _in_time = notice_slots
    signed_in(client, booker)
    token = find(client, resident.personnummer)

    shown = client.get(f"{HOME}tider/{too_soon.pk}/boka/", {"sok": token}, follow=True)
    posted = client.post(f"{HOME}tider/{too_soon.pk}/boka/", {"sok": token}, follow=True)
    api = client.post(
        "/api/v1/proxy/bookings/",
        {"personnummer": resident.personnummer, "slot": too_soon.pk},
        content_type="application/json",
    )

    assert clinic.phone in text(shown) and clinic.phone in text(posted)
    assert api.status_code == 403 and api.json()["code"] == "TOO_LATE_TO_MAKE_APPOINTMENT"
    assert clinic.phone in api.json()["detail"]
    assert not too_soon.bookings.exists()


def test_r_pol_1_the_clinics_own_staff_book_inside_the_notice_for_a_proxy_type(scheduler, resident, notice_slots):
    from bookings.services import booking_create_for_resident

    too_soon, _in_time = notice_slots

    assert booking_create_for_resident(actor=scheduler, resident=resident, slot_id=too_soon.pk).pk


# --- The deadline for cancelling (R-POL-1) ------------------------------------------------------


@pytest.fixture
def easter_proxy_booking(time_machine, booker, resident, clinic, resource):
    """A proxy booking on the Tuesday after Easter 2027, made a week before, of a type the web
    takes changes to until the end of the working day before (Maundy Thursday)."""
    proxy_type = AppointmentTypeFactory(
        clinic=clinic,
        internal_name="Ombud 1177 provtagning",
        web_name="Provtagning",
        change_deadline=1,
        change_deadline_unit=DeadlineUnit.WORKING_DAYS,
    )
    time_machine.move_to(local(2027, 3, 22, 12), tick=False)
    slot = make_slot(proxy_type, resource, local(2027, 3, 30, 10))
    return booking_create_by_proxy(actor=booker, resident=resident, slot_id=slot.pk)


def test_r_pol_1_a_proxy_booker_cancels_until_the_deadline(time_machine, booker, easter_proxy_booking):
    time_machine.move_to(local(2027, 3, 25, 23, 59), tick=False)

    booking_cancel(actor=booker, booking_id=easter_proxy_booking.pk)

    easter_proxy_booking.refresh_from_db()
    assert easter_proxy_booking.status == BookingStatus.CANCELLED


def test_r_pol_1_a_proxy_booker_past_the_deadline_is_refused_with_the_clinic_phone(
    time_machine, booker, clinic, easter_proxy_booking
):
    time_machine.move_to(local(2027, 3, 26, 9), tick=False)

    with pytest.raises(BookingError) as refused:
        booking_cancel(actor=booker, booking_id=easter_proxy_booking.pk)

    assert refused.value.code == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    assert clinic.phone in str(refused.value.message) and clinic.name in str(refused.value.message)
    easter_proxy_booking.refresh_from_db()
    assert easter_proxy_booking.status == BookingStatus.ACTIVE
    assert not WebBookingLogEntry.objects.filter(status=LogStatus.CANCELLED).exists()


def test_r_pol_1_the_clinics_own_staff_cancel_a_proxy_booking_past_the_deadline(
    time_machine, scheduler, easter_proxy_booking
):
    time_machine.move_to(local(2027, 3, 29, 9), tick=False)

    booking_cancel(actor=scheduler, booking_id=easter_proxy_booking.pk)

    easter_proxy_booking.refresh_from_db()
    assert easter_proxy_booking.status == BookingStatus.CANCELLED


def test_r_pol_1_proxy_pages_past_the_deadline_say_whom_to_call_and_offer_no_cancel(
    time_machine, client, booker, resident, clinic, easter_proxy_booking
):
    time_machine.move_to(local(2027, 3, 26, 9), tick=False)
    signed_in(client, booker)
    token = find(client, resident.personnummer)
    cancel_url = f"{HOME}bokning/{easter_proxy_booking.pk}/avboka/"

    listed = text(client.get(f"{HOME}invanare/", {"sok": token}))
    page = client.get(cancel_url, {"sok": token})
    posted = client.post(f"{cancel_url}?sok={token}", {"sok": token}, follow=True)

    assert clinic.phone in listed and cancel_url not in listed
    assert clinic.phone in text(page) and CANCEL_BUTTON not in text(page)
    assert clinic.phone in text(posted)
    easter_proxy_booking.refresh_from_db()
    assert easter_proxy_booking.status == BookingStatus.ACTIVE


def test_r_pol_1_proxy_api_past_the_deadline_is_403_too_late_with_the_clinic_phone(
    time_machine, client, booker, resident, clinic, easter_proxy_booking
):
    time_machine.move_to(local(2027, 3, 24, 9), tick=False)
    signed_in(client, booker)
    before = client.post(API_SEARCH, {"personnummer": resident.personnummer}, content_type="application/json")
    (row,) = before.json()["bookings"]
    assert row["can_cancel"] is True and row["too_late_message"] == ""
    assert dt.datetime.fromisoformat(row["change_deadline"]) == local(2027, 3, 26, 0, 0)

    time_machine.move_to(local(2027, 3, 26, 9), tick=False)
    signed_in(client, booker)
    after = client.post(API_SEARCH, {"personnummer": resident.personnummer}, content_type="application/json")
    response = client.post(api_cancel_url(easter_proxy_booking.pk), content_type="application/json")

    (row,) = after.json()["bookings"]
    assert row["can_cancel"] is False and clinic.phone in row["too_late_message"]
    assert response.status_code == 403 and response.json()["code"] == "TOO_LATE_TO_MAKE_APPOINTMENT"
    assert clinic.phone in response.json()["detail"]
    easter_proxy_booking.refresh_from_db()
    assert easter_proxy_booking.status == BookingStatus.ACTIVE


# --- The fee text of a late cancellation (R-POL-2) ----------------------------------------------


@pytest.fixture
def fee_proxy_booking(time_machine, booker, resident, clinic, resource):
    """A proxy booking at 10:00 in three days, of a type the web takes changes to until two hours
    before, with a fee text for a change later than 24 hours before (R-BOOK-8)."""
    proxy_type = AppointmentTypeFactory(
        clinic=clinic,
        internal_name="Ombud 1177 läkare",
        web_name="Läkarbesök",
        change_deadline=2,
        change_deadline_unit=DeadlineUnit.HOURS,
        late_fee_text=FEE,
    )
    time_machine.move_to(local(2027, 2, 1, 9), tick=False)
    slot = make_slot(proxy_type, resource, local(2027, 2, 4, 10))
    return booking_create_by_proxy(actor=booker, resident=resident, slot_id=slot.pk)


def test_r_pol_2_the_proxy_booker_sees_the_fee_text_only_before_a_late_cancellation(
    time_machine, client, booker, resident, fee_proxy_booking
):
    cancel_url = f"{HOME}bokning/{fee_proxy_booking.pk}/avboka/"
    time_machine.move_to(local(2027, 2, 3, 9), tick=False)  # 25 hours before: not late
    signed_in(client, booker)
    early = text(client.get(cancel_url, {"sok": find(client, resident.personnummer)}))
    assert FEE not in early and CANCEL_BUTTON in early

    time_machine.move_to(local(2027, 2, 4, 7), tick=False)  # 3 hours before: late, before the deadline
    signed_in(client, booker)
    token = find(client, resident.personnummer)
    late = text(client.get(cancel_url, {"sok": token}))
    search = client.post(API_SEARCH, {"personnummer": resident.personnummer}, content_type="application/json")

    assert FEE in late and CANCEL_BUTTON in late
    (row,) = search.json()["bookings"]
    assert row["can_cancel"] is True and row["late_fee_text"] == FEE
    # Shown, not yet done: nothing changed until the booker confirms.
    fee_proxy_booking.refresh_from_db()
    assert fee_proxy_booking.status == BookingStatus.ACTIVE


@pytest.mark.parametrize(("hours_before", "fee"), [(3, FEE), (25, "")])
def test_r_pol_2_a_late_proxy_cancellation_keeps_the_fee_text_on_its_log_row(
    time_machine, booker, fee_proxy_booking, hours_before, fee
):
    time_machine.move_to(local(2027, 2, 4, 10) - dt.timedelta(hours=hours_before), tick=False)

    booking_cancel(actor=booker, booking_id=fee_proxy_booking.pk)

    row = WebBookingLogEntry.objects.get(status=LogStatus.CANCELLED)
    assert row.late_fee_text == fee and row.is_late is (hours_before < 24)


def test_r_pol_2_no_fee_text_where_the_proxy_booker_may_not_cancel(time_machine, fee_proxy_booking):
    """Past the deadline the message says whom to call; the fee text is for a change still allowed."""
    fee_proxy_booking.refresh_from_db()
    read = proxy_cancel_read(booking=fee_proxy_booking, now=local(2027, 2, 4, 9))

    assert not read.allowed and read.late_fee_text == "" and read.too_late_message
