"""The header on small screens folds its menu behind a "Meny" button (a quarter of a 360 px screen before), still
works by keyboard and without JavaScript; staff see who is logged in, with which role, at which clinic."""

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import Role

from ..factories import ClinicFactory, ResidentFactory, staff
from .conftest import assert_accessible, check_page, dev_login, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_at_360_px_the_residents_menu_folds_behind_one_button_and_opens_by_keyboard(page: Page):
    resident = ResidentFactory(first_name="Anna")
    page.set_viewport_size({"width": 360, "height": 740})
    dev_login(page, resident.personnummer)
    page.wait_for_url("**/start/")

    header = page.locator("header.site-header")
    toggle = page.get_by_role("button", name="Meny")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Mina bokade tider")).to_be_hidden()
    box = header.bounding_box()
    assert box is not None and box["height"] <= 80, box
    check_page(page, "header-closed")

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Mina bokade tider")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Start")).to_be_focused()
    assert_accessible(page)

    page.set_viewport_size({"width": 1280, "height": 900})
    expect(toggle).to_be_hidden()
    expect(page.get_by_role("link", name="Mina bokade tider")).to_be_visible()


def test_without_javascript_the_menu_stays_open(browser: Browser, live_server):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, base_url=live_server.url, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.get_by_role("link", name="Hitta mottagning")).to_be_visible()
        expect(page.locator(".menu-toggle")).to_be_hidden()
    finally:
        context.close()


def test_staff_see_who_is_logged_in_with_which_role_at_which_clinic(page: Page):
    clinic = ClinicFactory(name="Vårdcentralen Solna")
    user = staff(Role.SCHEDULER, clinic)
    user.first_name, user.last_name = "Eva", "Ek"
    user.save()
    make_staff_login_ready(user)

    staff_login(page, user, next_url=f"/personal/{clinic.pk}/")

    who = page.locator(".workspace-nav__who")
    expect(who).to_have_text("Inloggad: Eva Ek, Schemaläggare")
    expect(page.locator(".workspace-nav__clinic")).to_have_text("Vårdcentralen Solna")
    check_page(page, "header-staff")
