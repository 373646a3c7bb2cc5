"""The resident's start page in the browser: "Boka tid" beside each clinic, and removing a clinic only after a
confirmation that names the booked times that will disappear (R-REL-2)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from bookings.services import booking_create
from clinics.models import CaseKind, CaseType, ClinicRelation

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


def test_removing_a_clinic_is_confirmed_and_says_which_times_disappear(page: Page):
    clinic = ClinicFactory(name="Vårdcentralen Solna", phone="08-123 450 00")
    CaseType.objects.update_or_create(clinic=clinic, kind=CaseKind.BOOK, defaults={"is_active": True})
    visit = AppointmentTypeFactory(clinic=clinic, web_name="Besök hos distriktssköterska")
    resident = ResidentFactory(first_name="Anna")
    slot = SlotFactory(appointment_type=visit, resource=ResourceFactory(clinic=clinic), start=tomorrow_at(9, days=3))
    booking_create(resident=resident, slot_id=slot.pk)

    dev_login(page, resident.personnummer)
    page.wait_for_url("**/start/")
    expect(page.get_by_role("link", name="Boka tid på Vårdcentralen Solna")).to_be_visible()
    check_page(page, "start-page-clinics")
    page.get_by_role("link", name="Ta bort Vårdcentralen Solna från min startsida").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Ta bort Vårdcentralen Solna från din startsida?")
    expect(page.locator("main")).to_contain_text("Besök hos distriktssköterska")
    expect(page.locator("main")).to_contain_text("08-123 450 00")
    check_page(page, "remove-clinic-confirm")
    page.get_by_role("link", name="Avbryt").click()
    page.wait_for_url("**/start/")
    assert ClinicRelation.objects.get(resident=resident, clinic=clinic).on_start_page

    page.get_by_role("link", name="Ta bort Vårdcentralen Solna från min startsida").click()
    page.get_by_role("button", name="Ja, ta bort den").click()
    page.wait_for_url("**/start/")
    expect(page.locator(".messages")).to_contain_text("Vårdcentralen Solna")
    assert not ClinicRelation.objects.get(resident=resident, clinic=clinic).on_start_page
    check_page(page, "start-page-after-removal")
