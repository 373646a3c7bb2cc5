"""Residents' login pages (R-AUTH-1, R-AUTH-4) and the personnummer claim, through the Django test
client."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.adapters import personnummer_from_claims
from accounts.models import User
from core.errors import ValidationFailed

from ..factories import (
    make_personnummer,
)
from ..pages import found, sv_gettext, text

# --- 2. Login (R-AUTH-1, R-AUTH-4) ----------------------------------------------------------------


def test_dev_login_is_not_found_unless_enabled(client, settings, db):
    settings.TIDBOK_DEV_LOGIN = False
    pnr = make_personnummer()

    assert client.get("/logga-in/test/").status_code == 404
    assert client.post("/logga-in/test/", {"personnummer": pnr}).status_code == 404
    assert not User.objects.filter(personnummer=pnr).exists()
    assert "_auth_user_id" not in client.session
    assert "/logga-in/test/" not in text(client.get(reverse("resident_login")))


def _forms(pnr: str) -> list[str]:
    return [pnr, f"{pnr[:8]}-{pnr[8:]}", f"{pnr[2:8]}-{pnr[8:]}", pnr[2:], f" {pnr[:8]} {pnr[8:]} "]


@pytest.mark.parametrize("form", range(5))
def test_dev_login_accepts_every_personnummer_form_and_stores_twelve_digits(client, settings, db, form):
    settings.TIDBOK_DEV_LOGIN = True
    pnr = make_personnummer()
    assert client.get("/logga-in/test/").status_code == 200

    response = client.post("/logga-in/test/", {"personnummer": _forms(pnr)[form]})

    assert response.status_code == 302 and response.url == "/start/"
    user = User.objects.get(personnummer=pnr)
    assert user.is_resident and user.personnummer is not None and len(user.personnummer) == 12
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/start/").status_code == 200


def test_dev_login_logs_in_an_existing_resident_without_a_duplicate(client, settings, resident):
    settings.TIDBOK_DEV_LOGIN = True
    pnr = resident.personnummer

    response = client.post("/logga-in/test/", {"personnummer": f"{pnr[2:8]}-{pnr[8:]}"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(resident.pk)
    assert User.objects.filter(personnummer=pnr).count() == 1


def test_dev_login_rejects_an_invalid_number_with_a_swedish_error_on_the_field(client, settings, db):
    settings.TIDBOK_DEV_LOGIN = True
    users_before = User.objects.count()
    english = "A personal identity number has 12 digits, YYYYMMDD-NNNN, or 10, YYMMDD-NNNN."

    response = client.post("/logga-in/test/", {"personnummer": "12345"})

    content = text(response)
    assert response.status_code == 400
    assert sv_gettext(english) in content
    assert english not in content  # the message is in Swedish, not English
    assert 'id="personnummer_error"' in content
    field = found(r'<input[^>]*\bid="personnummer"[^>]*>', content, re.S)[0]
    assert 'aria-invalid="true"' in field
    assert re.search(r'aria-describedby="[^"]*\bpersonnummer_error\b', field)
    assert 'value="12345"' in field  # what was typed is kept
    assert User.objects.count() == users_before
    assert "_auth_user_id" not in client.session


def test_dev_login_rejects_a_wrong_check_digit(client, settings, db):
    settings.TIDBOK_DEV_LOGIN = True
    pnr = make_personnummer()
    wrong = pnr[:11] + str((int(pnr[11]) + 1) % 10)

    response = client.post("/logga-in/test/", {"personnummer": wrong})

    assert response.status_code == 400
    assert 'aria-invalid="true"' in text(response)
    assert not User.objects.filter(personnummer__in=[pnr, wrong]).exists()
    assert "_auth_user_id" not in client.session


def test_dev_login_honours_a_local_next(client, settings, db):
    settings.TIDBOK_DEV_LOGIN = True

    response = client.post("/logga-in/test/?next=/mina-tider/", {"personnummer": make_personnummer()})

    assert response.status_code == 302 and response.url == "/mina-tider/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/stjäl", "http://evil.example/mina-tider/"])
def test_dev_login_ignores_an_external_next(client, settings, db, target):
    settings.TIDBOK_DEV_LOGIN = True

    response = client.post("/logga-in/test/", {"personnummer": make_personnummer(), "next": target})

    assert response.status_code == 302
    assert response.url == "/start/"
    assert "_auth_user_id" in client.session


def test_login_page_links_to_dev_login_only_when_enabled_and_keeps_next(client, settings, db):
    settings.TIDBOK_DEV_LOGIN = True

    content = text(client.get(reverse("resident_login"), {"next": "/mina-tider/"}))

    assert "/logga-in/test/?next=/mina-tider/" in content or "/logga-in/test/?next=%2Fmina-tider%2F" in content


CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"


@pytest.mark.parametrize(
    "wrap",
    [
        lambda claims: {"userinfo": claims},
        lambda claims: {"id_token": claims},
        lambda claims: claims,
    ],
    ids=["userinfo", "id_token", "top_level"],
)
def test_personnummer_is_read_from_the_configured_claim_and_normalised(settings, wrap):
    settings.OIDC_PERSONNUMMER_CLAIM = "pnr_claim"
    pnr = make_personnummer()

    assert personnummer_from_claims(wrap({"pnr_claim": f"{pnr[2:8]}-{pnr[8:]}"})) == pnr


def test_personnummer_claim_prefers_userinfo(settings):
    settings.OIDC_PERSONNUMMER_CLAIM = CLAIM
    first, second = make_personnummer(), make_personnummer()

    assert personnummer_from_claims({"userinfo": {CLAIM: first}, "id_token": {CLAIM: second}}) == first


@pytest.mark.parametrize(
    "extra_data",
    [{}, {"userinfo": {}, "id_token": {}}, {"userinfo": {"sub": "abc"}}, {"userinfo": {CLAIM: ""}}],
    ids=["empty", "empty_sources", "other_claims", "blank"],
)
def test_missing_personnummer_claim_raises_validation_failed(settings, extra_data):
    settings.OIDC_PERSONNUMMER_CLAIM = CLAIM

    with pytest.raises(ValidationFailed) as exc_info:
        personnummer_from_claims(extra_data)

    assert "personnummer" in exc_info.value.field_errors


def test_claim_under_another_name_than_the_configured_one_is_not_used(settings):
    settings.OIDC_PERSONNUMMER_CLAIM = "pnr_claim"

    with pytest.raises(ValidationFailed):
        personnummer_from_claims({"userinfo": {CLAIM: make_personnummer()}})


def test_invalid_personnummer_claim_raises_validation_failed(settings):
    settings.OIDC_PERSONNUMMER_CLAIM = CLAIM

    with pytest.raises(ValidationFailed):
        personnummer_from_claims({"userinfo": {CLAIM: "19850314-0000"}})
