"""The staff login and second-factor pages are Tidbok's own, in correct Swedish (English when chosen): no sign-up
wording (staff accounts come from region IT), "Avbryt" (not the booking word "Avboka") to leave the login, labels
without placeholders, and the GOV.UK error pattern (an error summary first, the title prefixed "Fel:")."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils.translation import override, pgettext

from accounts.models import Role

from ..factories import ClinicFactory, staff

PASSWORD = "a-long-staff-password-2026"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduler():
    user = staff(Role.SCHEDULER, ClinicFactory())
    user.set_password(PASSWORD)
    user.save()
    return user


def _text(response) -> str:
    return " ".join(BeautifulSoup(response.content, "html.parser").get_text(" ").split())


def _title(response) -> str:
    title = BeautifulSoup(response.content, "html.parser").title
    assert title is not None
    return title.get_text(strip=True)


def test_the_login_page_speaks_to_staff_and_never_of_signing_up(client):
    response = client.get(reverse("account_login"))

    text = _text(response)
    assert "Logga in i mottagningens arbetsyta" in text
    assert not re.search(r"konto|registrera|skapa", text, re.IGNORECASE), text
    soup = BeautifulSoup(response.content, "html.parser")
    own_url = reverse("account_login")
    assert not [a for a in soup.select("main a") if str(a.get("href", "")).split("?")[0] == own_url]
    labels = [label.get_text(" ", strip=True) for label in soup.select("main label")]
    assert labels == ["E-postadress", "Lösenord"]
    assert not soup.select("main input[placeholder]")
    # Shared clinic computers: no "remember me".
    assert not soup.select("input[name=remember]")


def test_the_login_page_in_english(client):
    client.cookies.load({"django_language": "en"})

    text = _text(client.get(reverse("account_login")))

    assert "Log in to the clinic workspace" in text
    assert "sign up" not in text.lower()


def test_a_wrong_password_shows_an_error_summary_and_a_title_starting_with_fel(client, scheduler):
    response = client.post(reverse("account_login"), {"login": scheduler.email, "password": "wrong-password-123"})

    assert response.status_code == 200
    assert _title(response).startswith("Fel:")
    summary = BeautifulSoup(response.content, "html.parser").select_one("#error-summary")
    assert summary is not None and "Det finns ett problem" in summary.get_text()


def test_the_second_factor_page_leaves_the_login_with_avbryt_not_avboka(client, scheduler):
    TOTP.activate(scheduler, SECRET)
    client.post(reverse("account_login"), {"login": scheduler.email, "password": PASSWORD})

    response = client.get(reverse("mfa_authenticate"))

    soup = BeautifulSoup(response.content, "html.parser")
    buttons = [button.get_text(strip=True) for button in soup.select("main button")]
    assert "Avbryt" in buttons
    assert "Avboka" not in _text(response)
    cancel = soup.select_one("#logout-from-stage")
    assert cancel is not None and cancel["action"] == reverse("account_logout")
    assert [label.get_text(strip=True) for label in soup.select("main label")] == ["Kod"]


def test_a_wrong_second_factor_code_is_an_error_in_the_summary(client, scheduler):
    TOTP.activate(scheduler, SECRET)
    client.post(reverse("account_login"), {"login": scheduler.email, "password": PASSWORD})

    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})

    assert _title(response).startswith("Fel:")
    summary = BeautifulSoup(response.content, "html.parser").select_one("#error-summary")
    assert summary is not None and summary.select_one('a[href="#id_code"]') is not None


def test_residents_still_cancel_a_booking_with_avboka():
    """The booking word keeps its own context, so the staff login's "Avbryt" cannot leak into the portal."""
    with override("sv"):
        assert pgettext("cancel a booking", "Cancel") == "Avboka"
        assert pgettext("leave the login", "Cancel") == "Avbryt"
