"""The waitlist in headless Chromium (R-WAIT-1, R-WAIT-2, R-WAIT-3), in Swedish and English: a resident
joins from the booking flow, sees the entry, answers an offer by its link; a local admin chooses
waitlist-first for a type; a scheduler sets a priority. Every page and state is axe-clean and
photographed at 360 and 1280 px."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent, Role
from bookings.models import Booking, BookingStatus, OfferState, WaitlistEntry, WaitlistOffer
from bookings.services import waitlist_offer_freed_slots
from clinics.models import FreedTimes

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    WaitlistEntryFactory,
    staff,
    tomorrow_at,
)
from .conftest import check_page, dev_login, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def solna(db):
    return ClinicFactory(name="Vårdcentralen Solna", street_address="Solnavägen 3", postal_code="171 64", town="Solna")


@pytest.fixture
def doctor_type(solna):
    return AppointmentTypeFactory(
        clinic=solna,
        internal_name="Läkarbesök 20 min",
        web_name="Läkarbesök",
        freed_times=FreedTimes.WAITLIST,
        waitlist_for_residents=True,
    )


@pytest.fixture
def doctor(solna):
    return ResourceFactory(clinic=solna, name="Distriktsläkare")


@pytest.fixture
def anna(db):
    return ResidentFactory(first_name="Anna", last_name="Andersson")


def offered_to(resident, doctor_type, doctor) -> WaitlistOffer:
    """A freed time offered to ``resident``, who waits for the type."""
    if not WaitlistEntry.objects.filter(resident=resident).exists():
        WaitlistEntryFactory(clinic=doctor_type.clinic, appointment_type=doctor_type, resident=resident)
    slot = SlotFactory(appointment_type=doctor_type, resource=doctor, start=tomorrow_at(14, days=3), is_published=False)
    assert waitlist_offer_freed_slots(slot_ids=[slot.pk]) == 1
    return WaitlistOffer.objects.get(slot=slot)


def test_r_wait_1_r_wait_3_a_resident_joins_from_the_booking_flow_and_books_the_offered_time(
    page: Page, solna, doctor_type, doctor, anna
):
    SlotFactory(appointment_type=doctor_type, resource=doctor, start=tomorrow_at(9, days=20))
    dev_login(page, anna.personnummer)
    page.goto(f"/mottagning/{solna.pk}/boka/")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("link", name="Läkarbesök").click()
    expect(page.get_by_role("heading", name="Ingen tid passar?")).to_be_visible()
    check_page(page, "waitlist-1-calendar-link")

    page.get_by_role("link", name="Ställ dig i kö").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ställ dig i kö")
    check_page(page, "waitlist-2-join")
    day = timezone.localdate() + dt.timedelta(days=5)
    page.get_by_label("Tidigaste datum").fill(day.isoformat())
    page.get_by_label("Senaste datum").fill((day - dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Ställ dig i kö").click()
    expect(page.locator("#error-summary")).to_contain_text("Det senaste datumet måste vara samma dag")
    assert page.title().startswith("Fel:")
    check_page(page, "waitlist-3-join-error")

    page.get_by_label("Senaste datum").fill((day + dt.timedelta(days=30)).isoformat())
    page.get_by_label("onsdag").check()
    page.get_by_label("Eftermiddag (från 12)").check()
    page.get_by_role("button", name="Ställ dig i kö").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mina köer")
    expect(page.get_by_text("Du står i kö för Läkarbesök på Vårdcentralen Solna.")).to_be_visible()
    check_page(page, "waitlist-4-mine")

    entry = WaitlistEntry.objects.get(resident=anna)
    WaitlistEntry.objects.filter(pk=entry.pk).update(earliest_date=None, latest_date=None, weekdays=[], part_of_day="")
    offer = offered_to(anna, doctor_type, doctor)
    page.goto("/mina-koplatser/")
    expect(page.get_by_role("heading", name="Tider som erbjuds dig")).to_be_visible()
    check_page(page, "waitlist-5-mine-with-offer")
    page.goto(f"/erbjudande/{offer.token}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("En tid som erbjuds dig")
    check_page(page, "waitlist-6-offer")

    page.get_by_role("button", name="Boka tiden").click()
    expect(page.get_by_text("Tiden är bokad.")).to_be_visible()
    assert Booking.objects.get(slot=offer.slot, status=BookingStatus.ACTIVE).resident == anna
    check_page(page, "waitlist-7-booked")


def test_r_wait_1_r_wait_3_in_english_a_resident_joins_says_no_to_an_offer_and_leaves(
    page: Page, solna, doctor_type, doctor, anna
):
    dev_login(page, anna.personnummer)
    page.get_by_role("button", name="English").click()
    page.goto(f"/mottagning/{solna.pk}/boka/{doctor_type.pk}/ko/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Join the waitlist")
    assert page.locator("html").get_attribute("lang") == "en"
    check_page(page, "waitlist-english-join")
    page.get_by_label("Morning (before 12)").check()
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My waitlists")

    WaitlistEntry.objects.filter(resident=anna).update(part_of_day="")
    offer = offered_to(anna, doctor_type, doctor)
    page.goto(f"/erbjudande/{offer.token}/")
    expect(page.get_by_role("button", name="Book the time")).to_be_visible()
    check_page(page, "waitlist-english-offer")
    page.get_by_role("button", name="No thanks").click()
    expect(page.get_by_text("You said no to the time. You are still on the waitlist.")).to_be_visible()
    assert WaitlistOffer.objects.get(pk=offer.pk).state == OfferState.DECLINED
    check_page(page, "waitlist-english-mine")

    page.get_by_role("button", name="Leave the waitlist").click()
    expect(page.get_by_text("You are not on any waitlist.")).to_be_visible()
    page.goto(f"/erbjudande/{offer.token}/")
    expect(page.get_by_text("This offer is no longer open.")).to_be_visible()
    check_page(page, "waitlist-english-offer-closed")


@pytest.mark.parametrize("language", ["sv", "en"])
def test_r_wait_2_r_wait_3_staff_choose_waitlist_first_and_set_a_priority(page: Page, solna, doctor_type, language):
    doctor_type.freed_times = FreedTimes.PUBLISH
    doctor_type.save()
    admin = staff(Role.LOCAL_ADMIN, solna)
    scheduler = staff(Role.SCHEDULER, solna)
    for user in (admin, scheduler):
        make_staff_login_ready(user)
    WaitlistEntryFactory(clinic=solna, appointment_type=doctor_type, note="Ring före 10")
    late = WaitlistEntryFactory(
        clinic=solna, appointment_type=doctor_type, by_resident=True, weekdays=[3], part_of_day="afternoon"
    )
    english = language == "en"

    staff_login(page, admin, next_url=f"/personal/{solna.pk}/tidstyper/")
    if english:
        page.get_by_role("button", name="English").click()
    page.goto(f"/personal/{solna.pk}/tidstyper/{doctor_type.pk}/vantelista/")
    check_page(page, f"waitlist-staff-type-{language}")
    page.get_by_label(
        "How long an offer is kept (minutes)" if english else "Hur länge ett erbjudande gäller (minuter)"
    ).fill("0")
    page.get_by_label("Offer to the waitlist first" if english else "Erbjud väntelistan först").check()
    page.get_by_role("button", name="Save" if english else "Spara").click()
    expect(page.locator("#error-summary")).to_be_visible()
    check_page(page, f"waitlist-staff-type-error-{language}")
    page.get_by_label(
        "How long an offer is kept (minutes)" if english else "Hur länge ett erbjudande gäller (minuter)"
    ).fill("20")
    page.get_by_role("button", name="Save" if english else "Spara").click()
    expect(
        page.get_by_text("Offered to the waitlist first" if english else "Erbjuds väntelistan först")
    ).to_be_visible()
    doctor_type.refresh_from_db()
    assert (doctor_type.freed_times, doctor_type.offer_minutes) == (FreedTimes.WAITLIST, 20)

    page.context.clear_cookies()
    staff_login(page, scheduler, next_url=f"/personal/{solna.pk}/vantelista/")
    if english:
        page.get_by_role("button", name="English").click()
    page.goto(f"/personal/{solna.pk}/vantelista/")
    check_page(page, f"waitlist-staff-list-{language}")
    page.locator(f"#priority-{late.pk}").fill("2")
    page.locator(f"form:has(#priority-{late.pk}) button").click()
    expect(page.get_by_text("The priority is saved." if english else "Prioriteten är sparad.")).to_be_visible()
    first_row = page.locator("table.data-table tbody tr").first
    expect(first_row.locator(f"#priority-{late.pk}")).to_have_value("2")
    check_page(page, f"waitlist-staff-list-priority-{language}")
    assert AuditEvent.objects.filter(action="waitlist.priority", actor=scheduler).count() == 1
