"""The project's own error pages (R-OPS-4) in Chromium: in the site's layout, in the chosen
language, accessible (axe-core) and usable at 360 px; 500 and 503 rendered without the database."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ..factories import ResidentFactory
from .conftest import check_page, dev_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.core.test_error_pages"),
]


@pytest.mark.parametrize(
    ("path", "status", "heading"),
    [
        ("/finns-inte/", 404, "Sidan kunde inte hittas"),
        ("/bug/", 500, "Det har uppstått ett fel i tjänsten"),
        ("/lost/", 503, "Tjänsten är tillfälligt otillgänglig"),
    ],
)
def test_error_pages_are_accessible_in_the_layout(page: Page, path, status, heading):
    response = page.goto(path)
    assert response is not None and response.status == status
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    check_page(page, f"error-{status}")
    # The language switch works from an error page too.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    check_page(page, f"error-{status}-en")


def test_403_page_keeps_the_residents_navigation(page: Page):
    resident = ResidentFactory()
    dev_login(page, resident.personnummer)
    page.wait_for_url("**/start/")
    response = page.goto("/personal/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Du har inte behörighet till den här sidan")
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()
    check_page(page, "error-403")
