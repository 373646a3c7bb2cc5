"""R-AUTH-1: residents log in through allauth's OpenID Connect provider, configured from the
environment; the personnummer claim becomes the resident (R-AUTH-4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.test import RequestFactory

from accounts.adapters import AccountAdapter, SocialAccountAdapter
from accounts.eid import EidProvider
from accounts.models import User

ROOT = Path(__file__).resolve().parents[2]
CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"


def test_the_eid_provider_is_configured_from_the_environment():
    env = {
        **os.environ,
        "OIDC_ISSUER": "https://eid.example.se",
        "OIDC_CLIENT_ID": "tidbok",
        "OIDC_CLIENT_SECRET": "s3cret",
        "OIDC_PROVIDER_ID": "eid",
    }
    script = (
        "import json; from django.conf import settings;"
        "apps = settings.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS'];"
        "print(json.dumps([[a['provider_id'], a['client_id'], a['settings']['server_url']] for a in apps]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tidbok.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [["eid", "tidbok", "https://eid.example.se"]]


def test_login_page_offers_eid_when_configured(client, settings, db):
    settings.OIDC_ISSUER = "https://eid.example.se"
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "eid",
                    "name": "E-legitimation",
                    "client_id": "tidbok",
                    "secret": "s3cret",
                    "settings": {"server_url": "https://eid.example.se"},
                }
            ]
        }
    }

    page = client.get("/logga-in/").content.decode()

    assert "/accounts/oidc/eid/login/" in page


@pytest.mark.django_db
def test_first_login_creates_the_resident_from_the_personnummer_claim():
    account = SocialAccount(
        provider="eid",
        uid="subject-1",
        extra_data={"userinfo": {CLAIM: "19850314-2385", "given_name": "Anna", "family_name": "Andersson"}},
    )
    sociallogin = SocialLogin(user=User(), account=account)
    request = RequestFactory().get("/")

    user = SocialAccountAdapter().populate_user(
        request, sociallogin, {"first_name": "Anna", "last_name": "Andersson", "email": "anna@example.se"}
    )

    assert user.personnummer == "198503142385"
    assert user.username == "pnr-198503142385"
    assert user.first_name == "Anna" and user.email == ""


# --- The way around e-ID is closed (issue items 1 and 2) ------------------------------------------

RESIDENT_DEAD_ENDS = [
    "/accounts/email/",
    "/accounts/password/set/",
    "/accounts/password/change/",
    "/accounts/password/reset/",
    "/accounts/signup/",
    "/accounts/3rdparty/",
    "/accounts/3rdparty/signup/",
    "/accounts/social/connections/",
    "/accounts/login/",
    "/accounts/reauthenticate/",
    "/accounts/2fa/",
    "/accounts/2fa/totp/activate/",
]


@pytest.mark.parametrize("path", RESIDENT_DEAD_ENDS)
def test_a_logged_in_resident_finds_no_allauth_account_page(client, resident, path):
    client.force_login(resident)

    assert client.get(path).status_code == 404
    assert (
        client.post(path, {"email": "anna@example.se", "password1": "x" * 16, "password2": "x" * 16}).status_code == 404
    )
    resident.refresh_from_db()
    assert not resident.has_usable_password() or not resident.check_password("x" * 16)
    assert not EmailAddress.objects.filter(user=resident).exists()


@pytest.mark.parametrize("path", ["/accounts/signup/", "/accounts/3rdparty/", "/accounts/password/reset/"])
def test_signup_connections_and_password_reset_do_not_exist(client, db, path):
    assert client.get(path).status_code == 404


def test_a_resident_with_a_password_and_an_e_mail_cannot_log_in_on_the_staff_page(client, resident):
    # What the old account pages allowed: an address and a password on a resident account.
    resident.email = "anna@example.se"
    resident.set_password("a-long-resident-password")
    resident.save()
    EmailAddress.objects.create(user=resident, email="anna@example.se", verified=True, primary=True)

    response = client.post("/accounts/login/", {"login": "anna@example.se", "password": "a-long-resident-password"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_staff_still_reach_their_login_and_account_pages(client, scheduler):
    assert client.get("/accounts/login/").status_code == 200
    client.force_login(scheduler)
    # The second-factor middleware sends a staff member without one to set it up, not a 404.
    assert client.get("/accounts/2fa/").status_code in (200, 302)
    assert client.get("/accounts/password/change/").status_code in (200, 302)


def _eid_settings(settings, **app_settings):
    settings.OIDC_ISSUER = "https://eid.example.se"
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "provider_class": "accounts.eid.EidProvider",
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "eid",
                    "name": "E-legitimation",
                    "client_id": "tidbok",
                    "secret": "s3cret",
                    "settings": {"server_url": "https://eid.example.se", **app_settings},
                }
            ],
        }
    }


def _sociallogin(user: User, claims: dict, uid: str = "subject-1") -> SocialLogin:
    account = SocialAccount(provider="eid", uid=uid, extra_data={"userinfo": {"sub": uid, **claims}})
    if user.pk:
        account.user = user
    sociallogin = SocialLogin(user=user, account=account)
    sociallogin.state = {"process": "login"}
    return sociallogin


def test_an_e_id_login_linked_to_a_staff_account_is_refused(rf, settings, scheduler):
    _eid_settings(settings)
    request = rf.get("/")
    request.session = {}

    with pytest.raises(ImmediateHttpResponse) as refused:
        SocialAccountAdapter().pre_social_login(request, _sociallogin(scheduler, {CLAIM: "198503142385"}))

    assert refused.value.response.status_code == 403


def test_an_e_id_login_with_the_number_of_a_staff_account_is_refused(rf, settings, scheduler):
    _eid_settings(settings)
    scheduler.personnummer = "198503142385"
    scheduler.save()
    request = rf.get("/")

    with pytest.raises(ImmediateHttpResponse) as refused:
        SocialAccountAdapter().pre_social_login(request, _sociallogin(User(), {CLAIM: "198503142385"}))

    assert refused.value.response.status_code == 403
    assert not SocialAccount.objects.exists()


# --- Bad claims are a page, not a 500 (item 3) ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("claims", "text"),
    [
        ({}, "E-legitimationen skickade inte ditt personnummer till oss."),
        ({CLAIM: "19850314-2386"}, "Kontrollsiffran stämmer inte."),
        ({CLAIM: "not a number"}, "Använd bara siffrorna 0–9"),
        ({"https://id.oidc.se/claim/coordinationNumber": "198503142385"}, "är inte ett samordningsnummer"),
    ],
)
def test_populate_user_answers_a_bad_claim_with_a_swedish_page(claims, text):
    request = RequestFactory().get("/")
    sociallogin = _sociallogin(User(), claims)

    with pytest.raises(ImmediateHttpResponse) as refused:
        SocialAccountAdapter().populate_user(request, sociallogin, {"first_name": "Anna"})

    assert refused.value.response.status_code == 400
    page = refused.value.response.content.decode()
    assert "Inloggningen misslyckades" in page and text in page


@pytest.mark.django_db
def test_a_samordningsnummer_is_read_from_the_coordination_number_claim():
    request = RequestFactory().get("/")
    sociallogin = _sociallogin(User(), {"https://id.oidc.se/claim/coordinationNumber": "198503742382"})

    user = SocialAccountAdapter().populate_user(request, sociallogin, {})

    assert user.personnummer == "198503742382" and not user.has_usable_password()


# --- Scopes, e-mail, issuer (items 4, 5, 6) ---------------------------------------------------------


def _provider(rf, settings, **app_settings):
    from allauth.socialaccount.adapter import get_adapter

    _eid_settings(settings, **app_settings)
    return get_adapter().get_provider(rf.get("/"), provider="eid")


def test_the_profiles_scopes_are_asked_for_and_never_email(rf, settings, db):
    provider = _provider(rf, settings)
    assert isinstance(provider, EidProvider)
    assert provider.get_scope() == ["openid", "https://id.oidc.se/scope/naturalPersonNumber"]

    configured = _provider(rf, settings, scope=["openid", "profile", "email"])
    assert configured.get_scope() == ["openid", "profile"]
    request = rf.get("/?scope=email&auth_params=prompt%3Dnone")
    assert configured.get_scope_from_request(request) == ["openid", "profile"]
    assert configured.get_auth_params_from_request(request, "authenticate") == {"prompt": "login"}


def test_the_scopes_come_from_the_environment():
    env = {**os.environ, "OIDC_SCOPES": "openid https://id.oidc.se/scope/naturalPersonNumber custom", "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.OIDC_SCOPES)"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tidbok.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1] == str(
        ["openid", "https://id.oidc.se/scope/naturalPersonNumber", "custom"]
    )


def test_e_mail_claims_are_neither_kept_nor_turned_into_addresses(rf, settings, db):
    provider = _provider(rf, settings)
    data = {
        "id_token": {"sub": "s", "nonce": "n", CLAIM: "198503142385"},
        "userinfo": {"sub": "s", CLAIM: "198503142385", "email": "anna@example.se", "email_verified": True},
    }

    assert provider.extract_email_addresses(data) == []
    assert "email" not in str(provider.extract_extra_data(data))
    assert provider.extract_common_fields(data) == {"first_name": "", "last_name": ""}


@pytest.mark.parametrize(("debug", "starts"), [("0", False), ("1", True)])
def test_a_non_https_issuer_stops_start_up_outside_debug(debug, starts):
    env = {**os.environ, "OIDC_ISSUER": "http://eid.example.se", "DEBUG": debug}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.OIDC_ISSUER"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tidbok.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode == 0) is starts, result.stderr
    if not starts:
        assert "OIDC_ISSUER must be an https:// URL when DEBUG is off" in result.stderr


# --- The greeting (item 8) --------------------------------------------------------------------------


def test_the_login_message_greets_by_name_and_never_shows_the_number(rf, resident):
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage

    request = rf.get("/")
    request.session = {}
    request._messages = FallbackStorage(request)

    AccountAdapter().add_message(request, 25, "account/messages/logged_in.txt", {"user": resident})

    [message] = [str(m) for m in get_messages(request)]
    assert message == "Välkommen, Anna Andersson."
    assert resident.personnummer not in message and "pnr-" not in message


def test_an_e_id_provider_that_does_not_answer_gives_a_page_not_a_500(client, settings, db):
    _eid_settings(settings)
    settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"][0]["settings"]["server_url"] = "http://127.0.0.1:9"

    response = client.post("/accounts/oidc/eid/login/")

    assert response.status_code == 503
    assert "E-legitimationstjänsten svarar inte just nu." in response.content.decode()
