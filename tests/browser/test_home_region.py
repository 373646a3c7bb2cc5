"""A resident whose home region is unknown meets a region-only clinic (R-CASE-2, R-CASE-3): the start
page and the contact card say why its e-services are not offered and whom to call, in Swedish and
English, axe-clean, at 360 and 1280 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from clinics.models import Area, CaseType, RelationSource
from clinics.services import relation_add

from ..factories import ClinicFactory, ResidentFactory
from .conftest import check_page, dev_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_resident_with_no_known_region_is_told_why_and_whom_to_call(page: Page):
    kista = ClinicFactory(name="Barnavårdscentralen Kista", phone="08-123 470 00")
    CaseType.objects.filter(clinic=kista).update(area=Area.REGION)
    resident = ResidentFactory(first_name="Dagny", last_name="Dahl", home_region_code="")
    relation_add(resident=resident, clinic=kista, source=RelationSource.START_PAGE)

    dev_login(page, resident.personnummer)
    page.wait_for_url("**/start/")

    notice = page.locator("[data-region-notice=unknown]")
    expect(notice).to_contain_text("Vi vet inte vilken region du är folkbokförd i")
    expect(notice).to_contain_text("Ring mottagningen på 08-123 470 00 för att boka en tid.")
    expect(page.get_by_role("heading", name="E-tjänster som du inte erbjuds")).to_be_visible()
    check_page(page, "home-region-unknown-start")

    page.get_by_role("link", name="Barnavårdscentralen Kista").first.click()
    expect(page.locator("[data-region-notice=unknown]")).to_contain_text("Region Stockholm")
    check_page(page, "home-region-unknown-clinic")

    page.get_by_role("button", name="English").click()
    expect(page.locator("[data-region-notice=unknown]")).to_contain_text(
        "We do not know which region you are registered in"
    )
    check_page(page, "home-region-unknown-clinic-english")
