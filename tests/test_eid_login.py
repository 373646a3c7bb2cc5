"""R-AUTH-1: residents log in through allauth's OpenID Connect provider, configured from the
environment; the personnummer claim becomes the resident (R-AUTH-4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.test import RequestFactory

from accounts.adapters import SocialAccountAdapter
from accounts.models import User

ROOT = Path(__file__).resolve().parent.parent
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
