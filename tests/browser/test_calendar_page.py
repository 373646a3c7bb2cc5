"""The Kalender page in headless Chromium (R-NOTE-5): make the private calendar address, see it
once, fetch the feed it names, make a new one and turn it off; in Swedish and in English, with
axe-core on every state and screenshots at 360 and 1280 px."""

from __future__ import annotations

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from bookings.models import CalendarFeed
from bookings.services import booking_create

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
def anna_booked(db):
    clinic = ClinicFactory(
        name="Vårdcentralen Solna", street_address="Solnavägen 3", postal_code="171 64", town="Solna"
    )
    visit = AppointmentTypeFactory(
        clinic=clinic, internal_name="Uppföljning 30 min", web_name="Besök hos sjuksköterska"
    )
    slot = SlotFactory(appointment_type=visit, resource=ResourceFactory(clinic=clinic), start=tomorrow_at(9, days=2))
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    return anna, booking_create(resident=anna, slot_id=slot.pk)


def _feed_events(page: Page) -> list:
    address = page.locator("#calendar-address").input_value()
    assert address.startswith("webcal://")
    answer = page.request.get("http://" + address.removeprefix("webcal://"))
    assert answer.status == 200 and answer.headers["cache-control"] == "no-store"
    return list(Calendar.from_ical(answer.body()).walk("VEVENT"))


def test_resident_makes_sees_once_remakes_and_turns_off_the_calendar_address(page: Page, anna_booked):
    anna, booking = anna_booked
    dev_login(page, anna.personnummer)
    page.get_by_role("link", name="Dina bokade tider i din kalender").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dina bokade tider i din kalender")
    check_page(page, "calendar-1-none")

    page.get_by_role("button", name="Skapa en kalenderadress").click()
    expect(page.get_by_role("heading", name="Din kalenderadress")).to_be_visible()
    check_page(page, "calendar-2-address-shown-once")
    [event] = _feed_events(page)
    assert str(event["UID"]) == booking.calendar_uid and "Besök hos sjuksköterska" in str(event["SUMMARY"])
    first = page.locator("#calendar-address").input_value()

    page.goto("/kalender/")
    assert "webcal://" not in page.content()
    check_page(page, "calendar-3-made")

    page.get_by_role("button", name="Skapa en ny adress").click()
    assert page.locator("#calendar-address").input_value() != first
    assert page.request.get("http://" + first.removeprefix("webcal://")).status == 404

    page.goto("/kalender/")
    page.get_by_role("button", name="Stäng av kalenderadressen").click()
    expect(page.get_by_text("Din kalenderadress är avstängd.")).to_be_visible()
    check_page(page, "calendar-4-turned-off")
    assert not CalendarFeed.objects.exists()


def test_the_calendar_page_in_english_with_the_keyboard(page: Page, anna_booked):
    anna, _booking = anna_booked
    dev_login(page, anna.personnummer)
    page.get_by_role("button", name="English").click()
    page.goto("/kalender/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your booked times in your calendar")
    assert page.locator("html").get_attribute("lang") == "en"
    check_page(page, "calendar-english-none")

    page.get_by_role("button", name="Make a calendar address").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your calendar address")).to_be_visible()
    page.get_by_label("Or copy the address and add it as a subscribed calendar").focus()
    assert len(_feed_events(page)) == 1
    check_page(page, "calendar-english-address")
