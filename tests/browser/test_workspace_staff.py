"""Region IT's staff pages and the invited person's first login in headless Chromium (guide 000,
"Anslut", step 1; R-AUTH-2): invite (with its error summary), the person's page, giving a role
(with its error), the confirmation pages, the set-password page the invitation links to, the
second factor asked for at the first login, and the local admin's read-only roles page. Every page
in Swedish, some in English, checked with axe-core and photographed at 360 and 1280 px."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import Role, User

from ..factories import ClinicFactory, staff
from .conftest import check_page, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def solna(db):
    return ClinicFactory(name="Vårdcentralen Solna")


@pytest.fixture
def region_it(solna):
    user = staff(Role.REGION_IT, solna)
    user.first_name, user.last_name = "Rita", "Regionit"
    user.save()
    make_staff_login_ready(user)
    return user


def test_region_it_invites_a_person_who_then_sets_a_password_and_a_second_factor(
    page: Page, solna, region_it, live_server
):
    ClinicFactory(name="Barnavårdscentralen Kista")
    staff_login(page, region_it, next_url=f"/personal/{solna.pk}/personalkonton/")
    expect(page.locator("h1")).to_have_text("Personalkonton i Region Stockholm")
    check_page(page, "staff-accounts")

    page.get_by_role("link", name="Bjud in personal").click()
    check_page(page, "staff-invite")
    page.get_by_role("button", name="Skicka inbjudan").click()
    expect(page.locator("#error-summary")).to_contain_text("Ange förnamnet.")
    expect(page.locator("#error-summary")).to_contain_text("Välj en roll.")
    check_page(page, "staff-invite-errors")

    page.locator("#first_name").fill("Nora")
    page.locator("#last_name").fill("Nyberg")
    page.locator("#email").fill("nora.nyberg@regionstockholm.se")
    page.locator("#role-scheduler").check()
    page.locator("#clinic").select_option(label="Vårdcentralen Solna")
    page.get_by_role("button", name="Skicka inbjudan").click()
    expect(page.locator("h1")).to_have_text("Nora Nyberg")
    expect(page.locator(".messages")).to_contain_text("Nora Nyberg är inbjuden.")
    check_page(page, "staff-member")

    # Giving a role without choosing one is an error beside the field; the page keeps its state.
    page.get_by_role("button", name="Ge rollen").click()
    expect(page.locator("#error-summary")).to_contain_text("Välj en roll.")
    check_page(page, "staff-member-role-error")
    page.locator("#role-local_admin").check()
    page.locator("#clinic").select_option(label="Barnavårdscentralen Kista")
    page.get_by_role("button", name="Ge rollen").click()
    expect(page.locator("main table")).to_contain_text("Barnavårdscentralen Kista")

    page.get_by_role("link", name="Ta bort Lokal administratör, Barnavårdscentralen Kista").click()
    check_page(page, "staff-confirm-revoke")
    page.get_by_role("link", name="Avbryt").click()
    page.get_by_role("link", name="Återställ en förlorad andra faktor").click()
    check_page(page, "staff-confirm-second-factor-reset")
    page.get_by_role("link", name="Avbryt").click()
    page.get_by_role("link", name="Avaktivera kontot").click()
    check_page(page, "staff-confirm-deactivate")
    page.get_by_role("link", name="Avbryt").click()

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Give a role")).to_be_visible()
    check_page(page, "staff-member-english")
    page.get_by_role("button", name="Svenska").click()

    # The invitation's link: allauth's set-password page, then the login asks for a second factor.
    [message] = mail.outbox
    link = re.search(r"/accounts/password/reset/key/\S+/", str(message.body))
    assert link is not None
    page.get_by_role("button", name="Logga ut").click()
    page.goto(link[0])
    expect(page.locator("h1")).to_have_text("Välj ditt lösenord")
    check_page(page, "staff-set-password")
    password = "ett-långt-lösenord-2026"
    page.locator("input[name=password1]").fill(password)
    page.locator("input[name=password2]").fill(password)
    page.get_by_role("button", name="Spara lösenordet").click()
    expect(page.locator("h1")).to_have_text("Ditt lösenord är sparat")
    check_page(page, "staff-password-set")
    assert User.objects.get(email="nora.nyberg@regionstockholm.se").check_password(password)

    page.goto("/accounts/login/?next=/personal/")
    page.locator("input[name=login]").fill("nora.nyberg@regionstockholm.se")
    page.locator("input[name=password]").fill(password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url("**/accounts/2fa/**")
    check_page(page, "staff-first-login-second-factor")


def test_a_local_admin_sees_who_holds_which_role_read_only(page: Page, solna):
    admin = staff(Role.LOCAL_ADMIN, solna)
    admin.first_name, admin.last_name = "Lena", "Lokaladmin"
    admin.save()
    make_staff_login_ready(admin)
    scheduler = staff(Role.SCHEDULER, solna)
    staff(Role.PROXY_BOOKER, solna, unit_name="1177 på telefon")

    staff_login(page, admin, next_url=f"/personal/{solna.pk}/behorigheter/")

    expect(page.locator("h1")).to_have_text("Roller på mottagningen")
    expect(page.locator("main table")).to_contain_text(scheduler.email)
    expect(page.locator("main table")).to_contain_text("Ombudsbokare (1177 på telefon)")
    expect(page.locator("main form")).to_have_count(0)
    check_page(page, "staff-clinic-roles")
    page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_have_text("Roles at the clinic")
    check_page(page, "staff-clinic-roles-english")
