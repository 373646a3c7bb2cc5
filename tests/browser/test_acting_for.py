"""Acting for someone else in headless Chromium, in Swedish and English, at 360 and 1280 px with axe
at 0: a guardian whose custody the demo register gives at login books for her child (R-GUARD-1…4);
a resident gives a power of attorney, the other accepts it and acts for them, and a form opened
before the power ended is refused (R-POA-1)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import PowerOfAttorney, User
from bookings.models import Booking, BookingStatus, CalendarFeed
from bookings.services import power_of_attorney_end
from clinics.models import RelationSource
from clinics.services import relation_add

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

ANNA, ALVA = "198503142385", "201806122386"
BERTIL, CECILIA = "199207081143", "194701015127"


@pytest.fixture
def bvc(db):
    clinic = ClinicFactory(name="Barnavårdscentralen Kista")
    visit = AppointmentTypeFactory(clinic=clinic, web_name="Besök hos BVC-sjuksköterska")
    nurse = ResourceFactory(clinic=clinic, name="BVC-sjuksköterska")
    return clinic, [SlotFactory(appointment_type=visit, resource=nurse, start=tomorrow_at(9, days=2))]


def _choose(page: Page, name: str) -> None:
    page.locator("#acting-patient").select_option(label=name)
    page.locator(".acting-bar form button[type=submit]").click()


def test_a_guardian_books_for_her_child_in_swedish_and_english(page: Page, browser_settings, bvc):
    browser_settings.TIDBOK_POPULATION_REGISTER = "accounts.population_register.DemoPopulationRegister"
    clinic, (slot,) = bvc
    dev_login(page, ANNA)  # the demo register lists Alva (8) and Vidar (15) at this login

    expect(page.locator("#children")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Barnet har fyllt 13")
    check_page(page, "guardian-1-start-children")
    _choose(page, "Alva Andersson")
    expect(page.locator("#acting-who")).to_have_text("Du agerar för Alva Andersson (som vårdnadshavare)")
    check_page(page, "guardian-2-start-acting")

    relation_add(resident=User.objects.get(personnummer=ALVA), clinic=clinic, source=RelationSource.START_PAGE)
    page.goto(f"/mottagning/{clinic.pk}/boka/")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("link", name="Besök hos BVC-sjuksköterska").click()
    day = timezone.localtime(slot.start).day
    page.locator("td.has-times a").filter(has=page.locator(".day-number", has_text=str(day))).first.click()
    page.get_by_role("button", name=timezone.localtime(slot.start).strftime("%H.%M")).click()
    expect(page.locator("#acting-who")).to_contain_text("Alva Andersson")
    check_page(page, "guardian-3-confirm")
    page.get_by_role("button", name="Boka tiden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är bokad")
    check_page(page, "guardian-4-receipt")

    booking = Booking.objects.select_related("resident", "created_by").get(slot=slot, status=BookingStatus.ACTIVE)
    assert booking.created_by is not None and booking.acting_as == "guardian"
    assert (booking.resident.personnummer, booking.created_by.personnummer) == (ALVA, ANNA)
    page.get_by_role("button", name="English").click()
    expect(page.locator("#acting-who")).to_have_text("You are acting for Alva Andersson (as guardian)")
    page.goto("/mina-tider/")
    check_page(page, "guardian-5-bookings-en")
    _choose(page, "Yourself")
    expect(page.locator("#acting-who")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("The child has turned 13")
    check_page(page, "guardian-6-start-en")


def test_a_power_of_attorney_is_given_accepted_used_and_refused_once_ended(page: Page, bvc):
    clinic, _slots = bvc
    bertil = ResidentFactory(personnummer=BERTIL, first_name="Bertil", last_name="Berg")
    cecilia = ResidentFactory(personnummer=CECILIA, first_name="Cecilia", last_name="Carlsson")
    relation_add(resident=cecilia, clinic=clinic, source=RelationSource.START_PAGE)
    until = timezone.localdate() + dt.timedelta(days=60)

    dev_login(page, CECILIA, "/fullmakter/")
    page.get_by_role("button", name="Ge fullmakten").click()
    expect(page.locator("#error-summary")).to_be_visible()
    check_page(page, "attorneys-1-errors")
    page.get_by_label("Personnummer för den du ger fullmakt").fill("19920708-1143")
    page.locator("#valid_until").fill(until.isoformat())
    page.get_by_role("button", name="Ge fullmakten").click()
    expect(page.locator(".message--success")).to_be_visible()
    check_page(page, "attorneys-2-given")
    page.locator("form[action$='/logout/'] button[type=submit]").first.click()

    dev_login(page, BERTIL, "/fullmakter/")
    check_page(page, "attorneys-3-offer")
    page.get_by_role("button", name="Godta").click()
    _choose(page, "Cecilia Carlsson")
    expect(page.locator("#acting-who")).to_have_text("Du agerar för Cecilia Carlsson (med fullmakt)")
    page.goto("/kalender/")
    check_page(page, "attorneys-4-acting-calendar")
    page.get_by_role("button", name="English").click()
    check_page(page, "attorneys-5-acting-en")

    # Cecilia ends it while Bertil has the calendar page open: his form is refused, nothing is made.
    power_of_attorney_end(actor=cecilia, power_id=PowerOfAttorney.objects.get(grantee=bertil).pk)
    page.locator("form[action$='/kalender/'] button[type=submit]").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing was changed")
    check_page(page, "attorneys-6-refused-en")
    assert not CalendarFeed.objects.filter(resident=cecilia).exists()
