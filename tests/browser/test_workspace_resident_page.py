"""The staff's resident page in headless Chromium: find a resident by a posted personnummer (the URL
names only a token, R-SEC-3), approve and withdraw communication with the bookings that stop being
visible named first (R-REL-1, R-REL-3), write a message; the error and empty states too. Every page
is checked with axe-core and photographed at 360 and 1280 px."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from bookings.models import InboxMessage
from bookings.services import booking_create_for_resident, clinic_message_send
from clinics.models import ClinicRelation

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
def sara(solna):
    user = staff(Role.SCHEDULER, solna)
    make_staff_login_ready(user)
    return user


@pytest.fixture
def anna(solna, sara):
    resident = ResidentFactory(first_name="Anna", last_name="Andersson")
    visit = AppointmentTypeFactory(clinic=solna, internal_name="Uppföljning 30 min", web_name="Besök")
    slot = SlotFactory(appointment_type=visit, resource=ResourceFactory(clinic=solna), start=tomorrow_at(10, days=3))
    booking_create_for_resident(actor=sara, resident=resident, slot_id=slot.pk)
    return resident


def test_find_a_resident_approve_withdraw_and_write(page: Page, solna, sara, anna):
    staff_login(page, sara, next_url=f"/personal/{solna.pk}/invanare/")
    check_page(page, "resident-find")
    page.locator("#id_personnummer").fill("19850314-0000")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_personnummer")).to_have_attribute("aria-invalid", "true")
    check_page(page, "resident-find-error")

    page.locator("#id_personnummer").fill(make_personnummer(dt.date(1940, 1, 1)))
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ingen invånare hittades")
    assert "19400101" not in page.url
    check_page(page, "resident-not-found")

    page.goto(f"/personal/{solna.pk}/invanare/")
    page.locator("#id_personnummer").fill(anna.personnummer)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anna Andersson")
    assert anna.personnummer not in page.url and "?sok=" in page.url
    check_page(page, "resident-page")

    page.get_by_role("button", name="Godkänn för kommunikation").click()
    expect(page.locator(".message--success")).to_be_visible()
    assert ClinicRelation.objects.get(resident=anna, clinic=solna).approved_for_communication
    check_page(page, "resident-page-approved")

    page.get_by_role("link", name="Ta bort godkännandet").click()
    expect(page.get_by_role("alert")).to_contain_text("slutar synas")
    check_page(page, "resident-withdraw-confirm")
    page.get_by_role("button", name="Ta bort godkännandet").click()
    expect(page.locator(".message--success")).to_be_visible()
    assert not ClinicRelation.objects.get(resident=anna, clinic=solna).approved_for_communication

    page.get_by_role("link", name="Skriv ett meddelande").click()
    page.get_by_role("button", name="Skicka meddelandet").click()
    expect(page.locator("#id_subject")).to_have_attribute("aria-invalid", "true")
    check_page(page, "resident-message-error")
    page.locator("#id_subject").fill("Provsvar")
    page.locator("#id_body").fill("Dina prover ser bra ut. Välkommen på återbesök som planerat.")
    page.get_by_role("button", name="Skicka meddelandet").click()
    expect(page.locator(".message--success")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Provsvar")
    check_page(page, "resident-page-after-message")
    assert InboxMessage.objects.filter(resident=anna, subject="Provsvar").exists()


def test_the_resident_reads_the_message_with_how_to_reach_the_clinic(page: Page, solna, sara, anna):
    message = clinic_message_send(actor=sara, clinic=solna, resident=anna, subject="Provsvar", body="Allt ser bra ut.")
    dev_login(page, anna.personnummer, next_url=f"/inkorg/{message.pk}/")
    expect(page.locator("main")).to_contain_text("Du kan inte svara på det här meddelandet")
    check_page(page, "resident-reads-clinic-message")
