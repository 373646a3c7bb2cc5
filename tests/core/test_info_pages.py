"""The footer's pages a public service needs: contact and help, personal data, cookies and the accessibility
statement the Swedish law on accessible digital public services (2018:1937) requires, linked from every page."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from ..pages import text

PAGES = ["info:contact", "info:privacy", "info:cookies", "info:accessibility"]

pytestmark = pytest.mark.django_db


def _footer_links(response) -> list[str]:
    soup = BeautifulSoup(response.content, "html.parser")
    return [str(a["href"]) for a in soup.select("footer a")]


@pytest.mark.parametrize("name", PAGES)
def test_each_page_is_public_and_in_swedish(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert response["Content-Language"] == "sv"


@pytest.mark.parametrize(
    "url",
    [lambda: reverse("clinics:search"), lambda: reverse("account_login"), lambda: "/finns-inte/"],
)
def test_every_page_links_to_all_four_in_its_footer(client, url):
    response = client.get(url())

    assert _footer_links(response) == [reverse(name) for name in PAGES]


def test_the_footer_is_on_the_residents_and_the_staff_pages(resident_client):
    assert _footer_links(resident_client.get(reverse("bookings:start"))) == [reverse(name) for name in PAGES]


def test_the_accessibility_statement_says_what_the_law_requires(client, settings):
    settings.TIDBOK_ACCESSIBILITY_EMAIL = "tillganglighet@region-test.se"
    settings.TIDBOK_OPERATOR_NAME = "Region Testland"

    page = text(client.get(reverse("info:accessibility")))

    assert "Tillgänglighetsredogörelse" in page
    assert "Region Testland står bakom Tidbok" in page
    # Compliance status, the shortcomings, how to report, and the supervisory authority.
    assert "delvis förenlig med lagen (2018:1937)" in page
    assert "Kända brister" in page
    assert 'href="mailto:tillganglighet@region-test.se"' in page
    assert "Myndigheten för digital förvaltning (DIGG)" in page
    assert 'href="https://www.digg.se/tdosanmalan"' in page


def test_the_personal_data_page_names_the_controller_and_the_retention_periods(client, settings):
    settings.TIDBOK_OPERATOR_NAME = "Region Testland"
    settings.TIDBOK_LOG_RETENTION_DAYS = 31

    page = text(client.get(reverse("info:privacy")))

    assert "Region Testland är personuppgiftsansvarig" in page
    assert "raderas efter 31 dagar" in page
    assert "Integritetsskyddsmyndigheten (IMY)" in page


def test_the_cookie_page_lists_every_cookie_the_site_sets(client, resident):
    """A new cookie must be described before it ships: every cookie set by a login, a page and a language
    choice is on the page."""
    page = text(client.get(reverse("info:cookies")))
    client.force_login(resident)
    client.get(reverse("bookings:start"))
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    set_cookies = set(client.cookies.keys())
    assert set_cookies >= {"sessionid", "django_language"}
    for name in set_cookies | {"csrftoken"}:
        assert f"<code>{name}</code>" in page


def test_the_pages_follow_the_chosen_language(client):
    client.cookies.load({"django_language": "en"})

    page = text(client.get(reverse("info:contact")))

    assert "Contact and help" in page
    assert "call 1177" in page
