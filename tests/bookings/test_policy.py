"""Notice for booking and deadlines for changes on the web (R-POL-1), the fee text of a late change
(R-POL-2). Working days skip weekends and Swedish holidays; all in Europe/Stockholm local time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from bookings.models import BookingStatus, LogStatus, WebBookingLogEntry
from bookings.selectors import booking_actions, rebook_candidates
from bookings.services import (
    booking_cancel,
    booking_create,
    booking_create_for_resident,
    booking_rebook,
    hold_create_for_rebook,
)
from clinics.models import AppointmentType, CaseKind, DeadlineUnit
from clinics.policy import change_deadline, is_working_day
from core.errors import BookingError, ErrorCode
from core.localtime import LOCAL_TZ
from fhir.selectors import public_slots
from schedules.selectors import offered_slots

from ..factories import AppointmentTypeFactory, tomorrow_at
from ..pages import accept_conditions, hold_via_client, make_slot, text
from ..workspace import login as workspace_login

FEE = "Avbokning senare än 24 timmar före besöket debiteras med 200 kr."


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=LOCAL_TZ)


def working_days_type(n: int) -> AppointmentType:
    return AppointmentType(change_deadline=n, change_deadline_unit=DeadlineUnit.WORKING_DAYS)


def hours_type(n: int) -> AppointmentType:
    return AppointmentType(change_deadline=n, change_deadline_unit=DeadlineUnit.HOURS)


# --- The deadline itself (R-POL-1) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("visit", "n", "deadline"),
    [
        # An ordinary week: one working day before a Tuesday visit is the end of Monday.
        (local(2027, 3, 9, 10), 1, local(2027, 3, 9)),
        # A Monday visit: the end of Friday, the weekend does not count.
        (local(2027, 3, 8, 10), 1, local(2027, 3, 6)),
        # Easter 2027: Good Friday 26 March and Easter Monday 29 March are holidays, so one working day
        # before Tuesday 30 March is Maundy Thursday, and two are Wednesday 24 March.
        (local(2027, 3, 30, 10), 1, local(2027, 3, 26)),
        (local(2027, 3, 30, 10), 2, local(2027, 3, 25)),
        # Midsummer 2027: Midsummer Eve (Friday 25 June) counts as a holiday, so for Monday 28 June the
        # last working day is Thursday 24 June.
        (local(2027, 6, 28, 9), 1, local(2027, 6, 25)),
        # Christmas 2026: Christmas Eve to Boxing Day off; before Monday 28 December the last working day is
        # Wednesday 23 December.
        (local(2026, 12, 28, 9), 1, local(2026, 12, 24)),
    ],
)
def test_r_pol_1_working_day_deadline_skips_weekends_and_swedish_holidays(visit, n, deadline):
    assert change_deadline(appointment_type=working_days_type(n), start=visit) == deadline


def test_r_pol_1_holidays_come_from_the_maintained_calendar():
    assert not is_working_day(dt.date(2027, 3, 26))  # Långfredagen
    assert not is_working_day(dt.date(2027, 6, 25))  # Midsommarafton
    assert not is_working_day(dt.date(2027, 6, 6))  # Nationaldagen (a Sunday in 2027)
    assert not is_working_day(dt.date(2027, 5, 6))  # Kristi himmelsfärdsdag
    assert is_working_day(dt.date(2027, 3, 25))  # Skärtorsdagen is a working day
    assert is_working_day(dt.date(2027, 5, 7))  # the "klämdag" after Ascension Day is not a holiday


def test_r_pol_1_working_day_deadline_is_local_midnight_across_the_autumn_dst_change():
    """Monday 26 October 2026 is in winter time (UTC+1), the deadline Saturday 00:00 in summer time
    (UTC+2): the deadline is local midnight, 22:00 UTC, not 23:00."""
    deadline = change_deadline(appointment_type=working_days_type(1), start=local(2026, 10, 26, 9))
    assert deadline == local(2026, 10, 24)
    assert deadline.astimezone(dt.UTC) == dt.datetime(2026, 10, 23, 22, 0, tzinfo=dt.UTC)


def test_r_pol_1_hours_deadline_counts_real_hours_across_the_dst_change():
    """48 hours before Monday 09:00 winter time is Saturday 10:00 summer time: the night of the change has
    25 hours on the wall clock."""
    deadline = change_deadline(appointment_type=hours_type(48), start=local(2026, 10, 26, 9))
    assert deadline.astimezone(LOCAL_TZ).replace(tzinfo=None) == dt.datetime(2026, 10, 24, 10, 0)
    # Spring 2027: the night to Sunday 28 March has 23 hours; 36 hours before Monday 09:00 is Saturday 20:00.
    spring = change_deadline(appointment_type=hours_type(36), start=local(2027, 3, 29, 9))
    assert spring.astimezone(LOCAL_TZ).replace(tzinfo=None) == dt.datetime(2027, 3, 27, 20, 0)


def test_r_pol_1_no_deadline_means_until_the_start():
    visit = local(2027, 3, 9, 10)
    assert change_deadline(appointment_type=hours_type(0), start=visit) == visit


# --- The web refuses past the deadline; staff are not bound (R-POL-1) ---------------------------


@pytest.fixture
def easter_type(clinic):
    return AppointmentTypeFactory(
        clinic=clinic,
        internal_name="Provtagning",
        web_name="Provtagning",
        change_deadline=1,
        change_deadline_unit=DeadlineUnit.WORKING_DAYS,
        late_fee_text=FEE,
    )


@pytest.fixture
def easter_booking(time_machine, resident, easter_type, resource):
    """A web booking on Tuesday after Easter 2027, made a week before."""
    time_machine.move_to(local(2027, 3, 22, 12), tick=False)
    slot = make_slot(easter_type, resource, local(2027, 3, 30, 10))
    return booking_create(resident=resident, slot_id=slot.pk)


def test_r_pol_1_cancel_on_the_web_until_maundy_thursday_evening(time_machine, resident, easter_booking):
    time_machine.move_to(local(2027, 3, 25, 23, 59), tick=False)

    booking_cancel(actor=resident, booking_id=easter_booking.pk)

    easter_booking.refresh_from_db()
    assert easter_booking.status == BookingStatus.CANCELLED


def test_r_pol_1_cancel_on_good_friday_is_refused_with_the_clinic_phone(time_machine, resident, clinic, easter_booking):
    time_machine.move_to(local(2027, 3, 26, 0, 0, 1), tick=False)

    with pytest.raises(BookingError) as refused:
        booking_cancel(actor=resident, booking_id=easter_booking.pk)

    assert refused.value.code == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    assert clinic.phone in str(refused.value.message) and clinic.name in str(refused.value.message)
    easter_booking.refresh_from_db()
    assert easter_booking.status == BookingStatus.ACTIVE
    assert not WebBookingLogEntry.objects.filter(status=LogStatus.CANCELLED).exists()


def test_r_pol_1_rebooking_past_the_deadline_is_refused_and_offers_nothing(
    time_machine, resident, easter_type, resource, easter_booking
):
    other = make_slot(easter_type, resource, local(2027, 3, 31, 10))
    time_machine.move_to(local(2027, 3, 26, 9), tick=False)

    assert not rebook_candidates(booking=easter_booking, resident=resident).exists()
    for attempt in (
        lambda: hold_create_for_rebook(resident=resident, slot_id=other.pk, booking=easter_booking),
        lambda: booking_rebook(resident=resident, booking_id=easter_booking.pk, new_slot_id=other.pk),
    ):
        with pytest.raises(BookingError) as refused:
            attempt()
        assert refused.value.code == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    actions = booking_actions(booking=easter_booking, resident=resident)
    assert not actions.can_cancel and not actions.can_rebook
    assert "08-123 456 00" in actions.too_late_message and not actions.must_call_to_cancel


def test_r_pol_1_staff_cancel_past_the_deadline(time_machine, scheduler, easter_booking):
    time_machine.move_to(local(2027, 3, 29, 9), tick=False)

    booking_cancel(actor=scheduler, booking_id=easter_booking.pk)

    easter_booking.refresh_from_db()
    assert easter_booking.status == BookingStatus.CANCELLED


def test_r_pol_1_api_cancel_past_the_deadline_is_403_too_late(time_machine, client, resident, clinic, easter_booking):
    time_machine.move_to(local(2027, 3, 26, 9), tick=False)
    client.force_login(resident)

    response = client.post(f"/api/v1/bookings/{easter_booking.pk}/cancel/")

    body = response.json()
    assert response.status_code == 403 and body["code"] == "TOO_LATE_TO_MAKE_APPOINTMENT"
    assert clinic.phone in body["detail"]
    listed = client.get(f"/api/v1/bookings/{easter_booking.pk}/").json()["actions"]
    assert listed["can_cancel"] is False and clinic.phone in listed["too_late_message"]


def test_r_pol_1_detail_page_says_until_when_and_then_whom_to_call(
    time_machine, client, resident, clinic, easter_booking
):
    client.force_login(resident)
    time_machine.move_to(local(2027, 3, 24, 9), tick=False)
    before = text(client.get(reverse("bookings:detail", args=[easter_booking.pk])))
    assert "torsdag 25 mars 2027" in before and "Avboka" in before

    time_machine.move_to(local(2027, 3, 26, 9), tick=False)
    client.force_login(resident)  # a resident's session does not last two days
    after = text(client.get(reverse("bookings:detail", args=[easter_booking.pk])))
    assert clinic.phone in after and "torsdag 25 mars 2027" in after
    assert reverse("bookings:cancel", args=[easter_booking.pk]) not in after


# --- Minimum notice for booking (R-POL-1) -------------------------------------------------------


@pytest.fixture
def notice_type(clinic):
    return AppointmentTypeFactory(clinic=clinic, internal_name="Akut", web_name="Akut tid", booking_notice_hours=2)


def test_r_pol_1_times_inside_the_notice_are_not_offered(time_machine, client, resident, clinic, notice_type, resource):
    time_machine.move_to(local(2027, 2, 3, 8, 0), tick=False)
    too_soon = make_slot(notice_type, resource, local(2027, 2, 3, 10, 0))
    in_time = make_slot(notice_type, resource, local(2027, 2, 3, 10, 20))

    offered = offered_slots(clinic=clinic, appointment_type=notice_type, resident=resident)
    assert list(offered) == [in_time]
    client.force_login(resident)
    api = client.get(f"/api/v1/clinics/{clinic.pk}/free-times/", {"type": notice_type.pk, "date_from": "2027-02-03"})
    assert [row["id"] for row in api.json()] == [in_time.pk]

    with pytest.raises(BookingError) as refused:
        booking_create(resident=resident, slot_id=too_soon.pk)
    assert refused.value.code == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    assert "2" in str(refused.value.message) and clinic.phone in str(refused.value.message)


def test_r_pol_1_staff_book_inside_the_notice(time_machine, scheduler, resident, notice_type, resource):
    time_machine.move_to(local(2027, 2, 3, 8, 0), tick=False)
    too_soon = make_slot(notice_type, resource, local(2027, 2, 3, 9, 0))

    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=too_soon.pk)

    assert booking.status == BookingStatus.ACTIVE


# --- The fee text of a late change (R-POL-2) ----------------------------------------------------


@pytest.fixture
def fee_type(clinic):
    return AppointmentTypeFactory(clinic=clinic, internal_name="Läkarbesök", web_name="Läkarbesök", late_fee_text=FEE)


@pytest.mark.parametrize(("hours_before", "fee"), [(23, FEE), (25, "")])
def test_r_pol_2_a_late_cancellation_keeps_the_fee_text_on_its_log_row(resident, fee_type, resource, hours_before, fee):
    start = tomorrow_at(10, days=3)
    booking = booking_create(
        resident=resident, slot_id=make_slot(fee_type, resource, start).pk, now=start - dt.timedelta(days=2)
    )

    booking_cancel(actor=resident, booking_id=booking.pk, now=start - dt.timedelta(hours=hours_before))

    row = WebBookingLogEntry.objects.get(status=LogStatus.CANCELLED)
    assert row.late_fee_text == fee
    # R-BOOK-8's own flag is unchanged: late is under 24 hours, whatever the fee text.
    assert row.is_late is (hours_before < 24)


def test_r_pol_2_a_late_rebooking_keeps_the_fee_text(resident, fee_type, resource):
    start = tomorrow_at(10, days=3)
    booking = booking_create(
        resident=resident, slot_id=make_slot(fee_type, resource, start).pk, now=start - dt.timedelta(days=2)
    )
    later = make_slot(fee_type, resource, start + dt.timedelta(hours=1))

    booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=later.pk, now=start - dt.timedelta(hours=3))

    assert WebBookingLogEntry.objects.get(status=LogStatus.REBOOKED).late_fee_text == FEE


def test_r_pol_2_fee_text_is_shown_before_a_late_cancel_and_rebook_is_confirmed(
    time_machine, client, resident, clinic, fee_type, resource
):
    start = tomorrow_at(10, days=3)
    booking = booking_create(resident=resident, slot_id=make_slot(fee_type, resource, start).pk)
    later = make_slot(fee_type, resource, start + dt.timedelta(hours=1))
    client.force_login(resident)
    accept_conditions(client, clinic, kind=CaseKind.MANAGE)

    early = text(client.get(reverse("bookings:cancel", args=[booking.pk])))
    assert FEE not in early

    time_machine.move_to(start - dt.timedelta(hours=5), tick=False)
    client.force_login(resident)  # a resident's session does not last days
    accept_conditions(client, clinic, kind=CaseKind.MANAGE)
    assert FEE in text(client.get(reverse("bookings:cancel", args=[booking.pk])))
    hold = hold_via_client(client, later, rebook=booking.pk)
    assert FEE in text(client.get(reverse("bookings:confirm", args=[hold.pk])))
    # Shown, not yet done: nothing changed until the resident confirms.
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


# --- Local admins set the rules (R-POL-1, R-POL-2) ----------------------------------------------


@pytest.fixture
def admin_client_ws(client, local_admin):
    return workspace_login(client, local_admin)


def test_r_pol_1_local_admin_sets_a_working_day_deadline_and_fee_text(admin_client_ws, clinic, fee_type):
    url = reverse("workspace:appointment_type_edit", args=[clinic.pk, fee_type.pk])
    form = {
        "internal_name": fee_type.internal_name,
        "web_name": fee_type.web_name,
        "bookable_on_web": "on",
        "cancellable_on_web": "on",
        "reschedulable_on_web": "on",
        "duration_minutes": "20",
        "booking_notice_hours": "2",
        "change_deadline": "1",
        "change_deadline_unit": "working_days",
        "late_fee_text": "Sen avbokning kostar 200 kr.",
    }

    assert admin_client_ws.post(url, form).status_code == 302

    fee_type.refresh_from_db()
    assert (fee_type.booking_notice_hours, fee_type.change_deadline, fee_type.change_deadline_unit) == (
        2,
        1,
        DeadlineUnit.WORKING_DAYS,
    )
    assert fee_type.late_fee_text == "Sen avbokning kostar 200 kr."


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("change_deadline", "31"),
        ("change_deadline", "tre"),
        ("booking_notice_hours", "-1"),
        ("late_fee_text", "x" * 201),
    ],
)
def test_r_pol_1_bad_deadline_is_refused_beside_the_field(admin_client_ws, clinic, fee_type, field, value):
    url = reverse("workspace:appointment_type_edit", args=[clinic.pk, fee_type.pk])
    form = {
        "internal_name": fee_type.internal_name,
        "web_name": fee_type.web_name,
        "bookable_on_web": "on",
        "duration_minutes": "20",
        "change_deadline_unit": "working_days",
        field: value,
    }

    response = admin_client_ws.post(url, form)

    assert response.status_code == 400
    assert f'id="{field}_error"' in response.content.decode()
    fee_type.refresh_from_db()
    assert (fee_type.change_deadline, fee_type.booking_notice_hours, fee_type.late_fee_text) == (0, 0, FEE)


def test_r_pol_1_staff_api_sets_the_deadline_and_refuses_one_out_of_range(admin_client_ws, clinic, fee_type):
    url = f"/api/v1/staff/clinics/{clinic.pk}/appointment-types/{fee_type.pk}/"

    refused = admin_client_ws.patch(
        url, {"change_deadline": 31, "change_deadline_unit": "working_days"}, content_type="application/json"
    )
    saved = admin_client_ws.patch(
        url, {"change_deadline": 2, "change_deadline_unit": "working_days"}, content_type="application/json"
    )

    assert refused.status_code == 400 and "change_deadline" in refused.json()["errors"]
    assert saved.status_code == 200 and saved.json()["change_deadline_unit"] == "working_days"
    fee_type.refresh_from_db()
    assert (fee_type.change_deadline, fee_type.change_deadline_unit) == (2, DeadlineUnit.WORKING_DAYS)


def test_r_pol_1_the_fhir_feed_leaves_out_times_inside_the_notice(time_machine, client, notice_type, resource):
    time_machine.move_to(local(2027, 2, 3, 8, 0), tick=False)
    too_soon = make_slot(notice_type, resource, local(2027, 2, 3, 9, 50))
    in_time = make_slot(notice_type, resource, local(2027, 2, 3, 10, 20))
    other = make_slot(AppointmentTypeFactory(clinic=notice_type.clinic), resource, local(2027, 2, 3, 8, 30))

    assert set(public_slots()) == {in_time, other}
    assert client.get(f"/fhir/r4/Slot/{too_soon.pk}").status_code == 404
    assert client.get(f"/fhir/r4/Slot/{in_time.pk}").status_code == 200


def test_r_pol_1_the_booking_calendar_says_how_late_a_time_can_be_booked(client, resident, clinic, notice_type):
    client.force_login(resident)
    accept_conditions(client, clinic)

    page = text(client.get(reverse("bookings:book_days", args=[clinic.pk, notice_type.pk])))

    assert "Tider kan bokas på webben senast 2 timmar innan de börjar." in page
