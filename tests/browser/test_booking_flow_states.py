"""The book, rebook and cancel flows in headless Chromium (issue 15): back after booking, a hold
running out on the page, an overlap refusal letting the time go, the GOV.UK error summary taking
the focus, back links and "Steg N av M", the late-rebooking warning, the visit's end time, and one
keyboard-only run that books, rebooks and cancels. axe 0 on every state; screenshots at 360 and
1280 px in test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from bookings.models import Booking, BookingStatus
from bookings.services import booking_create
from clinics.models import CaseKind, CaseType
from schedules.models import Hold, HoldState

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    tomorrow_at,
)
from .conftest import check_page, dev_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def solna(db):
    return ClinicFactory(name="Vårdcentralen Solna", street_address="Solnavägen 3", postal_code="171 64", town="Solna")


@pytest.fixture
def visit_type(solna):
    return AppointmentTypeFactory(clinic=solna, internal_name="Uppföljning 30 min", web_name="Besök hos sjuksköterska")


@pytest.fixture
def nurse(solna):
    return ResourceFactory(clinic=solna, name="Distriktssköterska")


@pytest.fixture
def times(visit_type, nurse):
    return [
        SlotFactory(
            appointment_type=visit_type,
            resource=nurse,
            start=tomorrow_at(hour, minute, days=2),
            end=tomorrow_at(hour, minute + 30, days=2),
        )
        for hour, minute in ((9, 0), (10, 0), (11, 0))
    ]


@pytest.fixture
def anna(db):
    return ResidentFactory(first_name="Anna", last_name="Andersson")


def hhmm(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%H.%M")


def to_confirm(page: Page, clinic, slot) -> None:
    """From the clinic's conditions to the confirm page of ``slot``, by clicking."""
    page.goto(f"/mottagning/{clinic.pk}/boka/")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("link", name="Besök hos sjuksköterska").click()
    day = timezone.localtime(slot.start).day
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()
    page.get_by_role("button", name=hhmm(slot.start)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bekräfta din bokning")


def test_back_after_booking_says_already_booked_with_a_link(page: Page, solna, times, anna):
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/")
    to_confirm(page, solna, times[0])
    page.get_by_role("button", name="Boka tiden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är bokad")

    page.go_back()

    expect(page.get_by_role("heading", level=1)).to_have_text("Du har redan bokat den här tiden")
    expect(page.get_by_text("inte längre reserverad")).to_have_count(0)
    check_page(page, "flow-back-after-booking")
    page.get_by_role("link", name="Visa den bokade tiden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bokad tid")
    assert Booking.objects.filter(resident=anna).count() == 1


def test_hold_running_out_on_the_page_disables_the_button_and_says_so(page: Page, solna, times, anna):
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/")
    to_confirm(page, solna, times[0])
    expect(page.locator("#countdown")).to_contain_text("reserverad för dig till")
    expect(page.get_by_text(f"{hhmm(times[0].start)}–{hhmm(times[0].end)}")).to_be_visible()  # the end time
    check_page(page, "flow-confirm")
    Hold.objects.filter(resident=anna).update(expires_at=timezone.now() + dt.timedelta(seconds=2))
    page.reload()

    expect(page.locator("#countdown")).to_contain_text("Tiden är inte längre reserverad för dig", timeout=6000)
    expect(page.locator("#countdown")).not_to_contain_text("reserverad för dig till")
    expect(page.get_by_role("button", name="Boka tiden")).to_be_disabled()
    check_page(page, "flow-confirm-expired")

    # Without the script the server says the same: reloading goes back to the days, saying why.
    # (The script counts whole seconds and may reach zero a moment before the server's clock.)
    Hold.objects.filter(resident=anna).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    page.reload()
    expect(page.locator(".messages")).to_contain_text("Tiden är inte längre reserverad för dig")
    check_page(page, "flow-hold-expired-days")
    assert not Booking.objects.filter(resident=anna).exists()
    assert Hold.objects.get(resident=anna).state == HoldState.RELEASED


def test_overlap_refusal_lets_the_time_go_at_once(page: Page, solna, times, anna):
    other = ResourceFactory(clinic=solna, name="Läkare Lund")
    overlapping = SlotFactory(
        appointment_type=AppointmentTypeFactory(clinic=solna, web_name="Provtagning"),
        resource=other,
        start=times[0].start + dt.timedelta(minutes=10),
        end=times[0].start + dt.timedelta(minutes=40),
    )
    booking_create(resident=anna, slot_id=times[0].pk)
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/")
    page.goto(f"/mottagning/{solna.pk}/boka/")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("link", name="Provtagning").click()
    day = timezone.localtime(overlapping.start).day
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()
    page.get_by_role("button", name=hhmm(overlapping.start)).click()
    page.get_by_role("button", name="Boka tiden").click()

    expect(page.locator(".messages")).to_contain_text("krockar med den här")
    check_page(page, "flow-overlap-refused")
    assert Hold.objects.get(slot=overlapping).state == HoldState.RELEASED
    # Offered again at once, to her as to anyone.
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()
    expect(page.get_by_role("button", name=hhmm(overlapping.start))).to_be_visible()


def test_errors_get_a_summary_that_takes_the_focus(page: Page, solna, times, anna):
    solna.patient_comment_on_web = True
    solna.save()
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/boka/")
    page.set_viewport_size({"width": 360, "height": 740})
    page.get_by_role("button", name="Fortsätt").click()

    expect(page).to_have_title("Fel: Villkor – Vårdcentralen Solna – Tidbok")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(page.locator("#accept_error")).to_be_visible()
    check_page(page, "flow-conditions-error")
    summary.get_by_role("link").click()
    expect(page.locator("#accept")).to_be_focused()

    page.locator("#accept").check()
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("link", name="Besök hos sjuksköterska").click()
    day = timezone.localtime(times[0].start).day
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()
    page.get_by_role("button", name=hhmm(times[0].start)).click()
    page.get_by_label("Telefonnummer").fill("abc")
    page.get_by_role("button", name="Boka tiden").click()

    expect(page).to_have_title("Fel: Bekräfta din bokning – Tidbok")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary a")).to_have_count(2)
    expect(page.locator("#phone_error")).to_be_visible()
    check_page(page, "flow-confirm-error")
    page.locator("#error-summary a[href='#reason']").click()
    expect(page.locator("#reason")).to_be_focused()
    assert not Booking.objects.filter(resident=anna).exists()


def test_back_links_and_steps_through_the_booking(page: Page, solna, times, anna):
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/")
    to_confirm(page, solna, times[1])
    expect(page.locator(".steps")).to_have_text("Steg 5 av 5")

    # Back from the confirmation lets the time go: it is on the day's list again.
    page.get_by_role("button", name="Tillbaka").click()
    expect(page.locator(".steps")).to_have_text("Steg 4 av 5")
    expect(page.get_by_role("button", name=hhmm(times[1].start))).to_be_visible()
    expect(page.get_by_role("button", name=hhmm(times[1].start))).to_contain_text(f"–{hhmm(times[1].end)}")
    check_page(page, "flow-times-after-back")
    assert Hold.objects.get(resident=anna).state == HoldState.RELEASED
    for step in (3, 2, 1):
        page.get_by_role("link", name="Tillbaka").click()
        expect(page.locator(".steps")).to_have_text(f"Steg {step} av 5")
    page.get_by_role("link", name="Tillbaka").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vårdcentralen Solna")


def test_late_rebooking_warns_on_the_confirm_page(page: Page, solna, visit_type, nurse, anna):
    soon = SlotFactory(appointment_type=visit_type, resource=nurse, start=timezone.now() + dt.timedelta(hours=5))
    later = SlotFactory(appointment_type=visit_type, resource=nurse, start=tomorrow_at(10, 0, days=3))
    booking = booking_create(resident=anna, slot_id=soon.pk)
    dev_login(page, anna.personnummer, next_url=f"/mina-tider/{booking.pk}/omboka/")
    expect(page.locator(".steps")).to_have_text("Steg 1 av 4")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    day = timezone.localtime(later.start).day
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()
    expect(page.locator(".steps")).to_have_text("Steg 3 av 4")
    page.get_by_role("button", name=hhmm(later.start)).click()

    expect(page.locator(".steps")).to_have_text("Steg 4 av 4")
    expect(page.get_by_role("alert")).to_contain_text("mindre än 24 timmar")
    check_page(page, "flow-rebook-confirm-late")
    page.get_by_role("button", name="Omboka").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är ombokad")


def test_rebook_without_other_times_says_call_the_clinic(page: Page, solna, times, anna):
    booking = booking_create(resident=anna, slot_id=times[0].pk)
    for slot in times[1:]:
        booking_create(resident=ResidentFactory(), slot_id=slot.pk)
    CaseType.objects.filter(clinic=solna, kind=CaseKind.MANAGE).update(conditions_text="• Omboka i god tid")
    dev_login(page, anna.personnummer, next_url=f"/mina-tider/{booking.pk}/omboka/")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_text("Just nu finns det inga andra lediga tider")).to_be_visible()
    check_page(page, "flow-rebook-days-empty")


def test_keyboard_only_book_rebook_and_cancel(page: Page, solna, times, anna):
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/")
    page.wait_for_url(f"**/mottagning/{solna.pk}/")

    def tab_until(test: str, what: str) -> None:
        for _ in range(120):
            page.keyboard.press("Tab")
            if page.evaluate(test):
                return
        raise AssertionError(f"could not reach {what} with the Tab key")

    def tab_to(text: str) -> None:
        tab_until(
            f"(document.activeElement && (document.activeElement.innerText || '').trim().startsWith({text!r}))", text
        )

    def enter() -> None:
        with page.expect_navigation():
            page.keyboard.press("Enter")

    def accept() -> None:
        tab_until("document.activeElement.id === 'accept'", "the checkbox")
        page.keyboard.press("Space")
        tab_to("Fortsätt")
        enter()

    def choose_day(slot) -> None:
        day = str(timezone.localtime(slot.start).day)
        tab_until(
            "document.activeElement.closest('td.has-times') !== null && "
            f"document.activeElement.querySelector('.day-number').innerText === {day!r}",
            "the day",
        )
        enter()

    # Book.
    tab_to("Boka tid direkt")
    enter()
    accept()
    tab_to("Besök hos sjuksköterska")
    enter()
    choose_day(times[0])
    tab_to(hhmm(times[0].start))
    enter()
    tab_to("Boka tiden")
    enter()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är bokad")

    # Rebook.
    tab_to("Omboka")
    enter()
    accept()
    choose_day(times[2])
    tab_to(hhmm(times[2].start))
    enter()
    tab_to("Omboka")
    enter()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är ombokad")

    # Cancel.
    tab_to("Avboka")
    enter()
    expect(page.locator(".steps")).to_have_text("Steg 2 av 2")
    tab_to("Ja, avboka tiden")
    enter()
    expect(page.locator(".messages")).to_contain_text("Din tid är avbokad")

    assert [b.status for b in Booking.objects.filter(resident=anna).order_by("pk")] == [
        BookingStatus.REBOOKED,
        BookingStatus.CANCELLED,
    ]
