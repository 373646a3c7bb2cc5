"""The footer's pages in the browser: reachable from any page by keyboard, accessible in both languages."""

import pytest
from playwright.sync_api import Page, expect

from .conftest import check_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    ("Kontakt och hjälp", "Contact and help", "info-contact"),
    ("Personuppgifter", "Personal data", "info-privacy"),
    ("Kakor", "Cookies", "info-cookies"),
    ("Tillgänglighetsredogörelse", "Accessibility statement", "info-accessibility"),
]


def test_the_footer_pages_are_reachable_and_accessible_in_swedish_and_english(page: Page):
    for swedish, english, name in PAGES:
        page.goto("/")
        link = page.locator("footer").get_by_role("link", name=swedish)
        link.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check_page(page, name)
        page.get_by_role("button", name="English").click()
        expect(page.locator("footer").get_by_role("link", name=english)).to_be_visible()
        check_page(page, f"{name}-en")
        page.get_by_role("button", name="Svenska").click()
