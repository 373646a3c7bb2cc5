"""A slot finder's booking deep link in headless Chromium: login, the conditions text, and the
confirm step with that very time held (R-BOOK-3); or, if it was just taken, the nearest free
times. Every page is checked with axe-core and photographed."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from bookings.models import Booking, BookingStatus
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
def times(db):
    clinic = ClinicFactory(name="Vårdcentralen Solna", town="Solna")
    visit = AppointmentTypeFactory(
        clinic=clinic, internal_name="Uppföljning 30 min", web_name="Besök hos sjuksköterska"
    )
    nurse = ResourceFactory(clinic=clinic, name="Distriktssköterska")
    return [
        SlotFactory(appointment_type=visit, resource=nurse, start=tomorrow_at(hour, days=2)) for hour in (9, 10, 11)
    ]


def _link(slot) -> str:
    path = reverse("bookings:book_slot", args=[slot.clinic_id, slot.appointment_type_id, slot.pk])
    return f"{path}?source=hitta.example&booking-referral=ref-42"


def test_a_deep_link_leads_through_login_and_conditions_to_that_time_held(page: Page, times):
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    wanted = times[1]

    page.goto(_link(wanted))
    page.wait_for_url("**/logga-in/**")
    page.get_by_role("link", name="Testinloggning (endast utveckling)").click()
    page.locator("#personnummer").fill(str(anna.personnummer))
    page.locator("form:has(#personnummer) button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Boka tid direkt")
    check_page(page, "deep-link-1-conditions")
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()

    expect(page.locator("#countdown")).to_contain_text("reserverad för dig")
    expect(page.locator("main")).to_contain_text(timezone.localtime(wanted.start).strftime("%H.%M"))
    check_page(page, "deep-link-2-held")
    page.get_by_role("button", name="Boka tiden").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Din tid är bokad")
    booking = Booking.objects.get(resident=anna, status=BookingStatus.ACTIVE)
    assert (booking.slot_id, booking.referral_source, booking.booking_referral) == (
        wanted.pk,
        "hitta.example",
        "ref-42",
    )


def test_a_deep_link_to_a_time_just_taken_offers_the_nearest(page: Page, times):
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    booking_create(resident=ResidentFactory(), slot_id=times[1].pk)
    dev_login(page, anna.personnummer, next_url=_link(times[1]).replace("&", "%26").replace("?", "%3F"))
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Tiden är inte längre ledig")
    check_page(page, "deep-link-taken")
    page.get_by_role("button").filter(has_text=timezone.localtime(times[2].start).strftime("%H.%M")).click()

    expect(page.locator("#countdown")).to_contain_text("reserverad för dig")
