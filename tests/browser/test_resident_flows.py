"""The resident portal in headless Chromium: book, view, rebook, cancel, the "just taken" race,
what must never show, direct links, keyboard-only booking and the language switch. Every page
visited is checked with axe-core (WCAG 2.1 A/AA) and photographed at 360 and 1280 px."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from bookings.models import Booking, BookingStatus, LogStatus, WebBookingLogEntry
from bookings.services import booking_create, booking_create_for_resident
from clinics.models import Audience, CaseKind, CaseType, ClinicRelation, DirectLink, RelationSource
from schedules.models import Slot

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    staff,
    tomorrow_at,
)
from .conftest import assert_accessible, check_page, dev_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def solna(db):
    clinic = ClinicFactory(
        name="Vårdcentralen Solna", street_address="Solnavägen 3", postal_code="171 64", town="Solna"
    )
    clinic.opening_hours = "Måndag–fredag 08.00–17.00"
    clinic.save()
    return clinic


@pytest.fixture
def visit_type(solna):
    return AppointmentTypeFactory(
        clinic=solna, internal_name="Uppföljning 30 min", web_name="Besök hos sjuksköterska", web_info="Kom i tid."
    )


@pytest.fixture
def nurse(solna):
    return ResourceFactory(clinic=solna, name="Distriktssköterska")


@pytest.fixture
def times(visit_type, nurse):
    return [
        SlotFactory(appointment_type=visit_type, resource=nurse, start=tomorrow_at(hour, minute, days=2))
        for hour, minute in ((9, 0), (9, 30), (10, 0))
    ]


@pytest.fixture
def anna(db):
    return ResidentFactory(first_name="Anna", last_name="Andersson")


def book_through_pages(page: Page, clinic, slot, *, check: bool = False) -> None:
    page.goto(f"/mottagning/{clinic.pk}/")
    if check:
        check_page(page, "clinic-card")
    page.get_by_role("link", name="Boka tid direkt", exact=True).click()
    if check:
        check_page(page, "book-1-conditions")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    if check:
        check_page(page, "book-2-types")
    page.get_by_role("link", name="Besök hos sjuksköterska").click()
    if check:
        check_page(page, "book-3-calendar")
    day = timezone.localtime(slot.start).day
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()
    if check:
        check_page(page, "book-4-times")
    page.get_by_role("button", name=timezone.localtime(slot.start).strftime("%H.%M")).click()
    if check:
        check_page(page, "book-5-confirm")


def test_resident_finds_a_clinic_logs_in_and_books_a_time(page: Page, solna, times, anna):
    page.goto("/")
    check_page(page, "search")
    page.get_by_label("Mottagningens namn eller ort").fill("Solna")
    page.get_by_role("button", name="Sök").click()
    page.get_by_role("link", name="Vårdcentralen Solna").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vårdcentralen Solna")
    page.get_by_role("link", name="Boka tid direkt", exact=True).click()
    # Not logged in: the resident is asked to log in first, and comes back to the flow.
    page.wait_for_url("**/logga-in/**")
    check_page(page, "login")
    page.get_by_role("link", name="Testinloggning (endast utveckling)").click()
    check_page(page, "dev-login")
    page.locator("#personnummer").fill(anna.personnummer)
    page.locator("form:has(#personnummer) button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Boka tid direkt")

    book_through_pages(page, solna, times[1], check=True)
    expect(page.locator("#countdown")).to_contain_text("reserverad för dig")
    page.get_by_role("button", name="Boka tiden").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är bokad")
    check_page(page, "book-6-receipt")
    booking = Booking.objects.get(resident=anna, status=BookingStatus.ACTIVE)
    assert booking.slot_id == times[1].pk
    assert WebBookingLogEntry.objects.filter(booking=booking, status=LogStatus.BOOKED).exists()
    assert "Uppföljning 30 min" not in page.content()  # residents never see the internal name


def test_the_phone_and_reason_a_clinic_asks_for_are_fields_with_their_errors(page: Page, solna, times, anna):
    """R-TYPE-7 on the confirm page: labelled fields with hints, each error beside its field."""
    solna.patient_comment_on_web = True
    solna.save()
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/")
    book_through_pages(page, solna, times[0])
    page.get_by_label("Anledning till besöket").fill("Ont i halsen")
    page.get_by_role("button", name="Boka tiden").click()

    expect(page.locator("#phone_error")).to_be_visible()
    expect(page.get_by_label("Anledning till besöket")).to_have_value("Ont i halsen")
    check_page(page, "book-5-confirm-comment-error")
    assert not Booking.objects.filter(resident=anna).exists()
    page.get_by_label("Telefonnummer").fill("070-123 45 67")
    page.get_by_role("button", name="Boka tiden").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är bokad")
    assert Booking.objects.get(resident=anna).patient_phone == "070-123 45 67"


def test_resident_views_rebooks_and_cancels(page: Page, solna, times, anna):
    booking = booking_create(resident=anna, slot_id=times[0].pk)
    dev_login(page, anna.personnummer, next_url="/start/")
    check_page(page, "start")
    page.get_by_role("link", name="Mina bokade tider").first.click()
    check_page(page, "my-bookings")
    page.get_by_role("link", name=timezone.localtime(times[0].start).strftime("%H.%M"), exact=False).first.click()
    check_page(page, "booking-detail")
    expect(page.get_by_role("link", name="Lägg till i min kalender (.ics)")).to_be_visible()

    page.get_by_role("link", name="Omboka").click()
    check_page(page, "rebook-conditions")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    # A day first, as when booking, then that day's times.
    check_page(page, "rebook-days")
    expect(page.locator(".steps")).to_have_text("Steg 2 av 4")
    day = timezone.localtime(times[2].start).day
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()
    check_page(page, "rebook-times")
    page.get_by_role("button", name=timezone.localtime(times[2].start).strftime("%H.%M")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bekräfta den nya tiden")
    page.get_by_role("button", name="Omboka").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är ombokad")
    check_page(page, "rebook-receipt")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REBOOKED
    new_booking = Booking.objects.get(resident=anna, status=BookingStatus.ACTIVE)
    assert new_booking.slot_id == times[2].pk

    page.get_by_role("link", name="Avboka").click()
    check_page(page, "cancel")
    page.get_by_role("button", name="Ja, avboka tiden").click()
    expect(page.locator(".messages")).to_contain_text("Din tid är avbokad")
    check_page(page, "my-bookings-after-cancel")
    new_booking.refresh_from_db()
    assert new_booking.status == BookingStatus.CANCELLED


def test_cancelling_inside_24_hours_warns_that_the_visit_may_be_charged(page: Page, solna, visit_type, nurse, anna):
    soon = SlotFactory(
        appointment_type=visit_type, resource=nurse, start=timezone.now() + dt.timedelta(hours=5, minutes=3)
    )
    booking = booking_create(resident=anna, slot_id=soon.pk)
    CaseType.objects.filter(clinic=solna, kind=CaseKind.MANAGE).update(conditions_text="• Avboka i god tid")
    dev_login(page, anna.personnummer, next_url=f"/mina-tider/{booking.pk}/avboka/")
    # R-CASE-1: the MANAGE conditions text comes first, as when rebooking.
    expect(page.locator("ul.conditions")).to_contain_text("Avboka i god tid")
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.locator("#accept_error")).to_be_visible()
    check_page(page, "cancel-conditions-error")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_role("alert")).to_contain_text("debitera")
    assert_accessible(page)


def test_one_booking_at_a_time_refuses_a_second_time_and_names_the_first(page: Page, solna, times, anna):
    CaseType.objects.filter(clinic=solna, kind=CaseKind.BOOK).update(one_booking_at_a_time=True)
    booking_create(resident=anna, slot_id=times[0].pk)
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/boka/")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("link", name="Besök hos sjuksköterska").click()
    day = timezone.localtime(times[1].start).day
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()

    page.get_by_role("button", name=timezone.localtime(times[1].start).strftime("%H.%M")).click()

    first_time = timezone.localtime(times[0].start).strftime("%H.%M")
    expect(page.locator(".messages")).to_contain_text("Du har redan en bokad tid på Vårdcentralen Solna")
    expect(page.locator(".messages")).to_contain_text(first_time)
    check_page(page, "one-booking-at-a-time-refused")
    assert Booking.objects.filter(resident=anna).count() == 1


def test_a_time_taken_meanwhile_gives_a_friendly_message_and_the_free_times_again(page: Page, solna, times, anna):
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/boka/")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("link", name="Besök hos sjuksköterska").click()
    day = timezone.localtime(times[0].start).day
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()
    taken = times[0]
    # Someone else books the time while Anna looks at the list.
    booking_create(resident=ResidentFactory(), slot_id=taken.pk)

    page.get_by_role("button", name=timezone.localtime(taken.start).strftime("%H.%M")).click()

    expect(page.locator(".messages")).to_contain_text("någon annan", ignore_case=True)
    check_page(page, "just-taken")
    assert not Booking.objects.filter(resident=anna).exists()
    expect(page.get_by_role("button", name=timezone.localtime(times[1].start).strftime("%H.%M"))).to_be_visible()


def test_keyboard_only_booking(page: Page, solna, times, anna):
    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/")
    page.wait_for_url(f"**/mottagning/{solna.pk}/")

    def tab_to(text: str) -> None:
        for _ in range(80):
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement ? document.activeElement.innerText || '' : ''")
            if focused.strip() == text or focused.startswith(text):
                return
        raise AssertionError(f"could not reach “{text}” with the Tab key")

    def enter_and_wait() -> None:
        with page.expect_navigation():
            page.keyboard.press("Enter")

    tab_to("Boka tid direkt")
    enter_and_wait()
    # Tab to the checkbox, tick it with Space, then submit.
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "accept":
            break
    page.keyboard.press("Space")
    assert page.locator("#accept").is_checked()
    tab_to("Fortsätt")
    enter_and_wait()
    tab_to("Besök hos sjuksköterska")
    enter_and_wait()
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('td.has-times') !== null"):
            break
    enter_and_wait()
    tab_to(timezone.localtime(times[0].start).strftime("%H.%M"))
    enter_and_wait()
    tab_to("Boka tiden")
    enter_and_wait()

    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är bokad")
    assert Booking.objects.filter(resident=anna, status=BookingStatus.ACTIVE).count() == 1


def test_hidden_type_never_shows_to_the_resident(page: Page, solna, nurse, anna, times):
    hidden = AppointmentTypeFactory(
        clinic=solna,
        internal_name="Mottagningsbesök intern",
        web_name="Internt besök",
        bookable_on_web=False,
        cancellable_on_web=False,
        reschedulable_on_web=False,
        hidden_for_patient=True,
    )
    from accounts.models import Role

    scheduler = staff(Role.SCHEDULER, solna)
    secret_slot = SlotFactory(appointment_type=hidden, resource=nurse, start=tomorrow_at(14, days=3))
    booking_create_for_resident(actor=scheduler, resident=anna, slot_id=secret_slot.pk)

    dev_login(page, anna.personnummer, next_url="/mina-tider/")
    assert "Internt besök" not in page.content() and "Mottagningsbesök intern" not in page.content()
    page.goto("/inkorg/")
    check_page(page, "inbox")
    assert "Internt besök" not in page.content()
    page.goto(f"/mottagning/{solna.pk}/boka/tidstyp/")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_role("link", name="Besök hos sjuksköterska")).to_be_visible()
    assert "Internt besök" not in page.content()


def test_case_type_that_does_not_admit_the_resident_never_shows(page: Page, solna, times, anna):
    CaseType.objects.filter(clinic=solna, kind=CaseKind.BOOK).update(audience=Audience.RELATED)

    dev_login(page, anna.personnummer, next_url=f"/mottagning/{solna.pk}/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Vårdcentralen Solna")
    expect(page.get_by_role("link", name="Boka tid direkt", exact=True)).to_have_count(0)
    response = page.goto(f"/mottagning/{solna.pk}/boka/")
    assert response is not None and response.status == 404


def test_login_through_a_direct_link_creates_the_relation(page: Page, solna, times, anna):
    link = DirectLink.objects.create(clinic=solna, kind=CaseKind.BOOK, label="Boka på vår webbplats")

    page.goto(f"/l/{link.token}/")
    page.get_by_role("link", name="Testinloggning (endast utveckling)").click()
    page.locator("#personnummer").fill(anna.personnummer)
    page.locator("form:has(#personnummer) button[type=submit]").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Boka tid direkt")
    relation = ClinicRelation.objects.get(resident=anna, clinic=solna)
    assert relation.on_start_page and relation.source == RelationSource.DIRECT_LINK
    page.goto("/start/")
    expect(page.get_by_role("link", name="Vårdcentralen Solna", exact=True)).to_be_visible()


def test_login_through_the_contact_cards_book_link_creates_the_relation(page: Page, solna, times, anna):
    page.goto(f"/mottagning/{solna.pk}/")
    page.get_by_role("link", name="Boka tid direkt", exact=True).click()
    page.get_by_role("link", name="Testinloggning (endast utveckling)").click()
    page.locator("#personnummer").fill(anna.personnummer)
    page.locator("form:has(#personnummer) button[type=submit]").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Boka tid direkt")
    relation = ClinicRelation.objects.get(resident=anna, clinic=solna)
    assert relation.on_start_page and relation.source == RelationSource.CONTACT_CARD
    page.goto("/start/")
    expect(page.get_by_role("link", name="Vårdcentralen Solna", exact=True)).to_be_visible()
    check_page(page, "start-after-contact-card-login")


def test_language_switch_between_swedish_and_english(page: Page, solna):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "sv"
    expect(page.get_by_role("heading", level=1)).to_have_text("Boka, omboka eller avboka en tid på din mottagning")

    page.get_by_role("button", name="English").click()

    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", level=1)).to_have_text("Book, rebook or cancel a time at your clinic")
    check_page(page, "search-english")
    page.get_by_role("button", name="Svenska").click()
    assert page.locator("html").get_attribute("lang") == "sv"


def test_inbox_message_is_marked_read_and_links_to_the_booking(page: Page, solna, times, anna):
    from accounts.models import Role

    scheduler = staff(Role.SCHEDULER, solna)
    booking_create_for_resident(actor=scheduler, resident=anna, slot_id=times[0].pk)
    dev_login(page, anna.personnummer, next_url="/inkorg/")
    expect(page.locator(".card.unread")).to_have_count(1)
    page.locator(".card.unread a").click()
    check_page(page, "message")
    page.get_by_role("link", name="Se den bokade tiden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bokad tid")
    assert Slot.objects.get(pk=times[0].pk).status == "booked"
