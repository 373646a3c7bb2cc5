"""R-SEC-5: the staff password lockout counts an account's failures per address, so a guesser
locks out only themselves, and every refusal is a 429 with Retry-After."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from accounts.models import Role

from ..factories import STAFF_TOTP_SECRET, staff

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-2026"
ATTACKER = "203.0.113.66"
COLLEAGUE = "198.51.100.7"


@pytest.fixture
def colleague(clinic):
    user = staff(Role.SCHEDULER, clinic)
    user.set_password(PASSWORD)
    user.save()
    TOTP.activate(user, STAFF_TOTP_SECRET)
    return user


def attempt(client, user_email: str, password: str, address: str):
    return client.post(reverse("account_login"), {"login": user_email, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_from_one_address_do_not_lock_the_colleague_out_elsewhere(client, colleague, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "10/m/ip,5/5m/key"}
    for n in range(5):
        assert attempt(client, colleague.email, f"wrong-{n}", ATTACKER).status_code == 200

    # The guesser is locked out of this account, even with the right password.
    locked = attempt(client, colleague.email, PASSWORD, ATTACKER)
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 300
    assert "_auth_user_id" not in client.session

    # The colleague, at their own desk, gets on to the second-factor step as usual.
    client.cookies.clear()
    own = attempt(client, colleague.email, PASSWORD, COLLEAGUE)
    assert own.status_code == 302 and own.url.startswith(reverse("mfa_authenticate"))


def test_the_lockout_page_is_in_swedish_and_says_when_to_come_back(client, colleague, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "10/m/ip,2/5m/key"}
    for n in range(2):
        attempt(client, colleague.email, f"wrong-{n}", ATTACKER)

    locked = attempt(client, colleague.email, "wrong-again", ATTACKER)

    assert locked.status_code == 429 and int(locked["Retry-After"]) <= 300
    page = locked.content.decode()
    assert "För många försök" in page and "5 minuter" in page


def test_one_address_trying_many_accounts_is_stopped(client, clinic, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/m/ip,5/5m/key"}
    answers = [attempt(client, f"guess-{n}@example.se", "x" * 12, ATTACKER).status_code for n in range(4)]

    assert answers == [200, 200, 200, 429]
    # Another address is not affected.
    assert attempt(client, "guess-9@example.se", "x" * 12, COLLEAGUE).status_code == 200
