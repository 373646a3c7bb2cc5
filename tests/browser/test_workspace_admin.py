"""The local admin's pages in headless Chromium: activating a case type with its conditions text
(R-CASE-1, R-CASE-2) and editing an appointment type's flags (R-TYPE-2, R-VIS-1), by keyboard.
Every page visited is checked with axe-core (WCAG 2.1 A/AA) and photographed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import override
from playwright.sync_api import Page, expect

from accounts.models import Role
from clinics.models import AppointmentType, CaseKind, CaseType

from ..factories import AppointmentTypeFactory, ClinicFactory, ResidentFactory, staff
from .conftest import check_page, dev_login, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BULLETS = ["Ta med legitimation", "Avboka senast 24 timmar innan", "Kom tio minuter före din tid"]


@pytest.fixture
def solna(db):
    clinic = ClinicFactory(name="Vårdcentralen Solna", case_types=[])
    CaseType.objects.filter(clinic=clinic).update(conditions_text="")
    return clinic


@pytest.fixture
def admin(solna):
    user = staff(Role.LOCAL_ADMIN, solna)
    make_staff_login_ready(user)
    return user


def keyboard_activate(page: Page, selector: str) -> None:
    page.locator(selector).focus()
    page.keyboard.press("Enter")


def test_activate_a_case_type_with_a_conditions_text(page: Page, solna, admin):
    staff_login(page, admin, next_url=f"/personal/{solna.pk}/arendetyper/")
    check_page(page, "admin-case-types")
    # Nothing to activate yet: the BOOK case type has no conditions text.
    keyboard_activate(page, f'a[href="/personal/{solna.pk}/arendetyper/book/aktivera/"]')
    expect(page.locator(f'a[href="/personal/{solna.pk}/arendetyper/book/"].button')).to_be_visible()
    expect(page.locator("main form")).to_have_count(0)
    check_page(page, "admin-case-type-activate-no-text")

    keyboard_activate(page, f'a[href="/personal/{solna.pk}/arendetyper/book/"].button')
    text = page.locator("#conditions_text")
    text.focus()
    page.keyboard.type(f"{BULLETS[0]}\n- {BULLETS[1]}\n\n• {BULLETS[2]}")
    expect(page.locator("#audience-all")).to_be_checked()
    page.locator("#one_booking_at_a_time").focus()
    page.keyboard.press("Space")  # the conditions promise one time at a time: the option keeps it
    check_page(page, "admin-case-type-edit")
    page.locator("main form button[type=submit]").press("Enter")
    page.wait_for_url(f"**/personal/{solna.pk}/arendetyper/")
    expect(page.locator(".message--success")).to_be_visible()

    keyboard_activate(page, f'a[href="/personal/{solna.pk}/arendetyper/book/aktivera/"]')
    expect(page.locator("main ul.conditions li")).to_have_text(BULLETS)
    check_page(page, "admin-case-type-activate")
    page.locator("main form button[type=submit]").press("Enter")
    page.wait_for_url(f"**/personal/{solna.pk}/arendetyper/")
    expect(page.locator(".message--success")).to_be_visible()
    expect(page.locator(f'a[href="/personal/{solna.pk}/arendetyper/book/avaktivera/"]')).to_be_visible()
    check_page(page, "admin-case-types-active")
    assert CaseType.objects.get(clinic=solna, kind=CaseKind.BOOK).is_active
    assert CaseType.objects.get(clinic=solna, kind=CaseKind.BOOK).one_booking_at_a_time

    # The resident sees the bullets exactly as written before they start booking.
    page.context.clear_cookies()
    resident = ResidentFactory()
    dev_login(page, resident.personnummer, next_url=f"/mottagning/{solna.pk}/boka/")
    page.wait_for_url(f"**/mottagning/{solna.pk}/boka/")
    expect(page.locator("ul.conditions li")).to_have_text(BULLETS)


def test_activation_is_refused_when_the_timebook_cannot_book(page: Page, solna, admin):
    solna.supports_booking = False
    solna.save()
    CaseType.objects.filter(clinic=solna).update(conditions_text="• Ta med legitimation")
    staff_login(page, admin, next_url=f"/personal/{solna.pk}/arendetyper/")
    expect(page.locator(f'a[href="/personal/{solna.pk}/arendetyper/book/aktivera/"]')).to_have_count(0)
    expect(page.locator("main .warning").first).to_be_visible()
    check_page(page, "admin-case-types-unsupported")


def test_edit_an_appointment_types_flags(page: Page, solna, admin):
    visit = AppointmentTypeFactory(clinic=solna, internal_name="Uppföljning 30 min", web_name="Besök", web_info="")
    staff_login(page, admin, next_url=f"/personal/{solna.pk}/tidstyper/")
    check_page(page, "admin-appointment-types")
    keyboard_activate(page, f'a[href="/personal/{solna.pk}/tidstyper/{visit.pk}/"]')
    flags = [page.locator(f"#{name}") for name in ("bookable_on_web", "cancellable_on_web", "reschedulable_on_web")]
    hidden = page.locator("#hidden_for_patient")
    for flag in flags:
        expect(flag).to_be_checked()
    check_page(page, "admin-appointment-type-edit")

    # Ticking "hidden" clears and locks the other three; unticking unlocks them, still cleared.
    hidden.focus()
    page.keyboard.press("Space")
    for flag in flags:
        expect(flag).not_to_be_checked()
        expect(flag).to_be_disabled()
    check_page(page, "admin-appointment-type-hidden")
    page.keyboard.press("Space")
    for flag in flags:
        expect(flag).to_be_enabled()
        expect(flag).not_to_be_checked()
    flags[0].focus()
    page.keyboard.press("Space")
    flags[2].focus()
    page.keyboard.press("Space")

    # The info text counter and the visibility window explanation follow what is typed.
    page.locator("#web_info").fill("Kom tio minuter innan.")
    expect(page.locator("#web_info-count")).to_contain_text("22")
    page.locator("#visibility_days").fill("3")
    with override("sv"):
        last_day = date_format(timezone.localdate() + dt.timedelta(days=2), "j F Y")
    expect(page.locator("#visibility_days-explanation")).to_contain_text(last_day)
    page.locator("#visibility_days").fill("tre")
    expect(page.locator("#visibility_days-explanation")).not_to_contain_text(last_day)
    page.locator("#visibility_days").fill("3")
    page.locator("#type-form button[type=submit]").press("Enter")
    page.wait_for_url(f"**/personal/{solna.pk}/tidstyper/")
    check_page(page, "admin-appointment-types-saved")
    visit.refresh_from_db()
    assert (visit.bookable_on_web, visit.cancellable_on_web, visit.reschedulable_on_web) == (True, False, True)
    assert not visit.hidden_for_patient
    assert (visit.visibility_days, visit.web_info) == (3, "Kom tio minuter innan.")

    # Hide it: saved hidden with every web flag off, and the page shows the three locked.
    page.goto(f"/personal/{solna.pk}/tidstyper/{visit.pk}/")
    page.locator("#hidden_for_patient").check()
    page.locator("#type-form button[type=submit]").click()
    page.wait_for_url(f"**/personal/{solna.pk}/tidstyper/")
    visit = AppointmentType.objects.get(pk=visit.pk)
    assert visit.hidden_for_patient
    assert not (visit.bookable_on_web or visit.cancellable_on_web or visit.reschedulable_on_web)
    page.goto(f"/personal/{solna.pk}/tidstyper/{visit.pk}/")
    expect(page.locator("#hidden_for_patient")).to_be_checked()
    for flag in flags:
        expect(flag).to_be_disabled()


def test_field_errors_are_tied_to_their_fields(page: Page, solna, admin):
    staff_login(page, admin, next_url=f"/personal/{solna.pk}/resurser/ny/")
    check_page(page, "admin-resource-new")
    page.locator("#name").fill("DSK")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name_error")).to_contain_text("DSK")
    check_page(page, "admin-resource-error")
    page.locator("#name").fill("Distriktssköterska")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/personal/{solna.pk}/resurser/")
    check_page(page, "admin-resources")


def test_direct_links_show_an_address_to_copy(page: Page, solna, admin):
    staff_login(page, admin, next_url=f"/personal/{solna.pk}/direktlankar/")
    check_page(page, "admin-direct-links-empty")
    page.locator("#kind-book").check()
    page.locator("#label").fill("Vår webbplats")
    page.locator("main form button[type=submit]").click()
    address = page.locator("input[data-copy-source]")
    expect(address).to_have_value(re.compile(r"^http://.+/l/[\w-]+/$"))
    check_page(page, "admin-direct-links")
