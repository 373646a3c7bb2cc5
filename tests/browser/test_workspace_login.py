"""Staff reach the workspace only through password and a second factor (R-AUTH-2)."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role

from ..factories import ClinicFactory, staff
from .conftest import check_page, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_log_in_with_password_and_one_time_code_and_pick_a_clinic(page: Page):
    solna, nacka = ClinicFactory(name="Vårdcentralen Solna"), ClinicFactory(name="Vårdcentralen Nacka")
    user = staff(Role.SUPPORT, solna)
    Membership.objects.create(user=user, role=Role.SUPPORT, clinic=nacka)
    make_staff_login_ready(user)

    staff_login(page, user)

    expect(page.get_by_role("link", name="Vårdcentralen Solna")).to_be_visible()
    check_page(page, "workspace-picker")
    page.get_by_role("link", name="Vårdcentralen Nacka").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vårdcentralen Nacka")
