"""Booking bases and open summons in headless Chromium, in Swedish and English: a scheduler
issues a basis (the resident found by a posted personnummer, R-SEC-3), sees it listed and revokes
it; sends an open summons; the resident finds it on the start page and in the inbox and starts
booking from "Boka tid" (R-TYPE-4, R-REL-1). Every page, its error and empty states, is checked
with axe-core and photographed at 360 and 1280 px."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from bookings.models import BookingBasis
from bookings.services import open_summons_send
from clinics.models import CaseKind, CaseType

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    make_personnummer,
    staff,
    tomorrow_at,
)
from .conftest import check_page, dev_login, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def solna(db):
    return ClinicFactory(name="Vårdcentralen Solna")


@pytest.fixture
def referral(solna):
    return AppointmentTypeFactory(
        clinic=solna, internal_name="Remissbesök 45 min", web_name="Besök efter remiss", requires_booking_basis=True
    )


def test_a_scheduler_issues_lists_and_revokes_a_basis_and_sends_an_open_summons(page: Page, solna, referral):
    scheduler = staff(Role.SCHEDULER, solna)
    make_staff_login_ready(scheduler)
    bases = f"/personal/{solna.pk}/bokningsunderlag/"
    staff_login(page, scheduler, next_url=bases)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bokningsunderlag och öppna kallelser")
    expect(page.locator("main")).to_contain_text("Mottagningen har inte utfärdat något bokningsunderlag")
    check_page(page, "bases-empty")

    page.get_by_role("link", name="Utfärda ett bokningsunderlag").click()
    expect(page.locator("main")).to_contain_text("Steg 1 av 2")
    page.locator("#id_personnummer").fill("19850314-0000")
    page.get_by_role("button", name="Sök invånaren").click()
    expect(page.locator("#id_personnummer_error")).to_be_visible()
    check_page(page, "basis-new-error")

    personnummer = make_personnummer()
    page.locator("#id_personnummer").fill(personnummer)
    page.locator("#id_personnummer").press("Enter")
    page.wait_for_url("**/bokningsunderlag/nytt/?sok=*")
    assert personnummer not in page.url and personnummer[:8] not in page.url  # R-SEC-3
    expect(page.locator("main")).to_contain_text("Steg 2 av 2")
    check_page(page, "basis-new-step2")

    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    page.locator("#id_appointment_type").select_option(str(referral.pk))
    page.locator("#id_valid_until").fill(yesterday)
    page.get_by_role("button", name="Utfärda bokningsunderlaget").click()
    expect(page.locator("#id_valid_until_error")).to_contain_text("Sista giltighetsdagen kan inte ha passerat.")
    check_page(page, "basis-new-step2-error")

    page.locator("#id_valid_until").fill((timezone.localdate() + dt.timedelta(days=60)).isoformat())
    page.locator("#id_max_bookings").fill("2")
    page.locator("#id_note").fill("Remiss från ortopeden")
    page.get_by_role("button", name="Utfärda bokningsunderlaget").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bokningsunderlag")
    expect(page.locator("main")).to_contain_text("0 av 2 använda")
    check_page(page, "basis-detail")

    page.get_by_role("button", name="Återkalla bokningsunderlaget").click()
    expect(page.locator("main")).to_contain_text("Bokningsunderlaget är återkallat")
    expect(page.get_by_role("button", name="Återkalla bokningsunderlaget")).to_have_count(0)
    check_page(page, "basis-revoked")

    page.goto(bases)
    expect(page.locator("tbody tr")).to_have_count(1)
    check_page(page, "bases-list")
    page.locator("#id_tillstand").select_option("active")
    page.get_by_role("button", name="Visa", exact=True).click()
    expect(page.locator("main")).to_contain_text("Inget bokningsunderlag eller någon öppen kallelse matchar filtret.")
    check_page(page, "bases-list-filtered-empty")

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Booking bases and open summons")
    check_page(page, "bases-list-en")

    page.get_by_role("link", name="Send an open summons").click()
    page.locator("#id_personnummer").fill(make_personnummer())
    page.get_by_role("button", name="Find the resident").click()
    page.wait_for_url("**/oppen-kallelse/ny/?sok=*")
    page.get_by_role("button", name="Send the open summons").click()
    expect(page.locator("#id_valid_from_error")).to_be_visible()
    check_page(page, "summons-new-error-en")
    page.locator("#id_appointment_type").select_option(str(referral.pk))
    page.locator("#id_valid_from").fill((timezone.localdate() + dt.timedelta(days=1)).isoformat())
    page.locator("#id_valid_until").fill((timezone.localdate() + dt.timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Send the open summons").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open summons")
    check_page(page, "summons-detail-en")
    assert BookingBasis.objects.count() == 2


def test_the_resident_books_from_an_open_summons(page: Page, solna):
    bertil = ResidentFactory(first_name="Bertil", last_name="Berg")
    scheduler = staff(Role.SCHEDULER, solna)
    # A type the clinic does not offer on the web, and a BOOK case type that is off: only the
    # summons opens it.
    screening = AppointmentTypeFactory(
        clinic=solna, internal_name="Hälsosamtal 50 år", web_name="Hälsosamtal", bookable_on_web=False
    )
    CaseType.objects.filter(clinic=solna, kind=CaseKind.BOOK).update(is_active=False)
    nurse = ResourceFactory(clinic=solna, name="Distriktssköterska")
    start = tomorrow_at(10, days=3)
    SlotFactory(appointment_type=screening, resource=nurse, start=start, end=start + dt.timedelta(minutes=30))
    open_summons_send(
        actor=scheduler,
        clinic=solna,
        appointment_type=screening,
        resident=bertil,
        valid_from=timezone.localdate(),
        valid_until=timezone.localdate() + dt.timedelta(days=14),
    )

    dev_login(page, bertil.personnummer)
    expect(page.get_by_role("heading", name="Det här kan du boka")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Hälsosamtal, Vårdcentralen Solna")
    check_page(page, "start-may-book")

    page.goto("/inkorg/")
    page.get_by_role("link", name="Boka tid: Hälsosamtal").click()
    expect(page.locator("main")).to_contain_text("kallar dig att boka en tid för Hälsosamtal")
    check_page(page, "summons-message")

    page.get_by_role("link", name="Boka tid").first.click()
    page.wait_for_url(f"**/mottagning/{solna.pk}/boka/{screening.pk}/")
    expect(page.locator("main")).to_contain_text("Hälsosamtal")
    check_page(page, "summons-book-days")

    page.get_by_role("button", name="English").click()
    page.goto("/start/")
    expect(page.get_by_role("heading", name="What you may book")).to_be_visible()
    check_page(page, "start-may-book-en")
