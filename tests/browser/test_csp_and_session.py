"""R-SEC-5 in Chromium: the API docs and the Django admin work under the Content-Security-Policy
(the page fixture fails any test on a violation), and a resident is warned before an idle session
ends, can stay logged in, and is logged out when idle."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from bookings.services import booking_create

from ..factories import ResidentFactory, SlotFactory
from .conftest import check_page, csp_violations, dev_login, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_runs_under_the_policy(page: Page, db):
    page.goto("/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tidbok API")
    page.locator(".opblock-summary").first.click()  # expanding an operation renders more of the UI
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert csp_violations(page) == []


def test_the_django_admin_runs_under_the_policy(page: Page, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.se", "unused-password-0000")
    make_staff_login_ready(root)
    booking = booking_create(resident=ResidentFactory(), slot_id=SlotFactory().pk)

    staff_login(page, root, next_url="/admin/")
    for path in (
        "/admin/",
        "/admin/bookings/booking/",  # read-only: no actions, so Django's own <style> block
        f"/admin/bookings/booking/{booking.pk}/change/",
        "/admin/clinics/clinic/",
        "/admin/clinics/clinic/add/",
        f"/admin/accounts/user/{root.pk}/change/",
    ):
        page.goto(path)
        expect(page.locator("#content")).to_be_visible()
    page.goto("/admin/clinics/clinic/")
    page.locator("#changelist-filter a, #action-toggle").first.click()  # the admin's scripts react
    assert csp_violations(page) == []


def test_an_idle_resident_is_warned_can_stay_and_is_logged_out(page: Page, browser_settings):
    browser_settings.TIDBOK_SESSION_IDLE_SECONDS = 8
    browser_settings.TIDBOK_SESSION_WARNING_SECONDS = 4
    anna = ResidentFactory(first_name="Anna")
    dev_login(page, anna.personnummer)
    page.wait_for_url("**/start/")
    warning = page.get_by_role("dialog", name="Du loggas snart ut")

    expect(warning).to_be_visible(timeout=10_000)
    expect(page.get_by_role("button", name="Fortsätt vara inloggad")).to_be_focused()
    check_page(page, "session-timeout-warning")
    with page.expect_response("**/session/keep-alive/") as kept:
        page.get_by_role("button", name="Fortsätt vara inloggad").click()
    assert kept.value.ok and kept.value.json()["seconds_left"] == 8
    expect(warning).to_be_hidden()

    # Nothing more is done: the warning comes back, and then the session ends.
    expect(warning).to_be_visible(timeout=10_000)
    page.wait_for_url("**/logga-in/**", timeout=15_000)
    expect(page.get_by_text("Du loggades ut eftersom du inte gjort något")).to_be_visible()
    check_page(page, "session-timeout-logged-out")
