"""Deadlines and fee text on the resident's pages (R-POL-1, R-POL-2), reception's attendance marks in the
timebook's day view (R-ATT-1) and the no-show figures with their chart (R-ATT-2), in headless Chromium,
in Swedish and in English. Every page and state is checked with axe-core and photographed at 360 and
1280 px. Elements are found by id, name or address, so the tests read the same in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from bookings.models import Attendance, AttendanceState, Booking, BookingStatus, Channel
from bookings.services import booking_create
from clinics.models import DeadlineUnit
from core.localtime import LOCAL_TZ

from ..factories import AppointmentTypeFactory, ClinicFactory, ResidentFactory, ResourceFactory, SlotFactory, staff
from .conftest import check_page, dev_login, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FEE = "Avbokning senare än 24 timmar före besöket debiteras med 200 kr."
LANGUAGES = ["sv", "en"]


def choose_language(page: Page, language: str) -> None:
    if language == "en":
        page.locator("button[name=language][value=en]").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")


def hour_from_now(hours: int) -> dt.datetime:
    return (timezone.now() + dt.timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def solna(db):
    return ClinicFactory(name="Vårdcentralen Solna", phone="08-123 456 00")


@pytest.fixture
def nurse(solna):
    return ResourceFactory(clinic=solna, name="Distriktssköterska")


@pytest.fixture
def doctor_type(solna):
    return AppointmentTypeFactory(
        clinic=solna,
        internal_name="Läkarbesök 20 min",
        web_name="Läkarbesök",
        change_deadline=3,
        change_deadline_unit=DeadlineUnit.HOURS,
        late_fee_text=FEE,
    )


@pytest.fixture
def anna(db):
    return ResidentFactory(first_name="Anna", last_name="Andersson")


# --- R-POL-1, R-POL-2 on the resident's pages ----------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_late_cancel_shows_the_fee_and_past_the_deadline_the_clinic_phone(
    page: Page, solna, nurse, doctor_type, anna, language
):
    late = booking_create(
        resident=anna, slot_id=SlotFactory(appointment_type=doctor_type, resource=nurse, start=hour_from_now(6)).pk
    )
    too_late = booking_create(
        resident=anna, slot_id=SlotFactory(appointment_type=doctor_type, resource=nurse, start=hour_from_now(2)).pk
    )
    dev_login(page, anna.personnummer, next_url=f"/mina-tider/{late.pk}/")
    choose_language(page, language)
    expect(page.locator("#changes-until")).to_be_visible()
    check_page(page, f"policy-detail-in-time-{language}")

    page.goto(f"/mina-tider/{late.pk}/avboka/villkor/")
    page.locator("main form input[type=checkbox]").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/mina-tider/{late.pk}/avboka/")
    expect(page.locator("#late-fee-text")).to_contain_text(FEE)
    check_page(page, f"policy-cancel-with-fee-{language}")

    page.goto(f"/mina-tider/{too_late.pk}/")
    expect(page.locator("#too-late")).to_contain_text("08-123 456 00")
    expect(page.locator(f"a[href='/mina-tider/{too_late.pk}/avboka/']")).to_have_count(0)
    check_page(page, f"policy-detail-too-late-{language}")


# --- R-ATT-1: the day view --------------------------------------------------------------------------


@pytest.fixture
def sara(solna):
    user = staff(Role.SCHEDULER, solna)
    make_staff_login_ready(user)
    return user


def past_visit(resident, appointment_type, resource, start: dt.datetime, **fields) -> Booking:
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=start, status="booked")
    values = {"channel": Channel.WEB, "created_by": resident, **fields}
    return Booking.objects.create(
        slot=slot,
        resident=resident,
        clinic=slot.clinic,
        appointment_type=appointment_type,
        resource=resource,
        start=start,
        end=start + dt.timedelta(minutes=20),
        **values,
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_reception_marks_and_undoes_in_the_day_view(page: Page, solna, nurse, doctor_type, anna, sara, language):
    # An hour ago, on its own day (a visit just after midnight would be yesterday's: the view shows that day).
    start = (timezone.now() - dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    booking = past_visit(anna, doctor_type, nurse, start)
    day = timezone.localtime(start, LOCAL_TZ).date()
    url = f"/personal/{solna.pk}/tidbok/?visa=dag&datum={day:%Y-%m-%d}"
    staff_login(page, sara, next_url=f"/personal/{solna.pk}/tidbok/")
    choose_language(page, language)
    page.goto(url)
    check_page(page, f"attendance-day-view-{language}")

    page.locator(f"#attendance-{booking.pk} button[value=no_show]").click()
    page.wait_for_url("**visa=dag**")
    expect(page.locator(f"#attendance-{booking.pk} .attendance__mark")).to_be_visible()
    assert Attendance.objects.get(booking=booking).state == AttendanceState.NO_SHOW
    check_page(page, f"attendance-day-view-marked-{language}")

    page.locator(f"#attendance-{booking.pk} button:not([value])").click()
    expect(page.locator(f"#attendance-{booking.pk} .attendance__mark")).to_have_count(0)
    assert not Attendance.objects.filter(booking=booking).exists()


# --- R-ATT-2: the figures and the resident page -----------------------------------------------------


@pytest.fixture
def lisa(solna):
    user = staff(Role.LOCAL_ADMIN, solna)
    make_staff_login_ready(user)
    return user


@pytest.fixture
def history(solna, nurse, doctor_type, sara, anna):
    """Visits in each of the last three months; some marked as no-shows, one cancelled late."""
    this_month = timezone.localdate().replace(day=1)
    for back in (1, 2, 3):
        month = this_month
        for _step in range(back):
            month = (month - dt.timedelta(days=1)).replace(day=1)
        day = month + dt.timedelta(days=9)
        for n in range(4):
            start = dt.datetime.combine(day, dt.time(8 + n), tzinfo=LOCAL_TZ)
            if n == 3 and back == 2:
                past_visit(
                    ResidentFactory(),
                    doctor_type,
                    nurse,
                    start,
                    status=BookingStatus.CANCELLED,
                    ended_at=start - dt.timedelta(hours=2),
                    ended_by=None,
                )
                continue
            resident = anna if n == 0 else ResidentFactory()
            booking = past_visit(resident, doctor_type, nurse, start)
            state = AttendanceState.NO_SHOW if n < back else AttendanceState.ARRIVED
            Attendance.objects.create(booking=booking, state=state, marked_at=start, marked_by=sara)


@pytest.mark.parametrize("language", LANGUAGES)
def test_figures_page_with_chart_and_its_error_state(page: Page, solna, lisa, history, language):
    staff_login(page, lisa, next_url=f"/personal/{solna.pk}/narvaro/")
    choose_language(page, language)
    expect(page.locator("svg.chart rect.bar")).to_have_count(12)
    expect(page.locator("a[href*='narvaro.csv']")).to_be_visible()
    check_page(page, f"attendance-figures-{language}")

    page.locator("#id_fran").fill("2020-01")
    page.locator("main form[role=search] button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()
    # The form came filled with the period shown, so the error is beside the last month: 2020 is too long ago.
    expect(page.locator("#id_till")).to_have_attribute("aria-invalid", "true")
    check_page(page, f"attendance-figures-error-{language}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_resident_page_lists_the_no_shows(page: Page, solna, sara, anna, history, language):
    staff_login(page, sara, next_url=f"/personal/{solna.pk}/invanare/")
    choose_language(page, language)
    page.locator("#id_personnummer").fill(anna.personnummer)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#no-shows li")).to_have_count(3)
    check_page(page, f"resident-page-no-shows-{language}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_sets_a_working_day_deadline(page: Page, solna, lisa, doctor_type, language):
    staff_login(page, lisa, next_url=f"/personal/{solna.pk}/tidstyper/{doctor_type.pk}/")
    choose_language(page, language)
    page.locator("#change_deadline").fill("1")
    page.locator("#change_deadline_unit").select_option("working_days")
    page.locator("#booking_notice_hours").fill("tva")
    page.locator("#type-form button[type=submit]").click()
    expect(page.locator("#booking_notice_hours")).to_have_attribute("aria-invalid", "true")
    check_page(page, f"admin-type-policy-error-{language}")
    page.locator("#booking_notice_hours").fill("2")
    page.locator("#type-form button[type=submit]").click()
    page.wait_for_url(f"**/personal/{solna.pk}/tidstyper/")
    doctor_type.refresh_from_db()
    assert (doctor_type.change_deadline_unit, doctor_type.booking_notice_hours) == (DeadlineUnit.WORKING_DAYS, 2)
