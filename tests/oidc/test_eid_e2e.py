"""Residents' e-ID login end to end (R-AUTH-1, R-AUTH-4): headless Chromium through Tidbok and
a real OpenID Connect provider process with the Swedish OIDC profile's scope and claims
(tests/oidc/provider.mjs). Every Tidbok page a resident ends on is checked with axe-core."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent, User
from accounts.personnummer import luhn_check_digit

from .conftest import CLIENT_ID, COORDINATION, HOME_REGION, PNR, Provider, assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANNA = {PNR: "198503142385", "given_name": "Anna", "family_name": "Andersson", "name": "Anna Andersson"}
BERTIL = {PNR: "199207081143", "given_name": "Bertil", "family_name": "Berg", "name": "Bertil Berg"}
SAMORDNINGSNUMMER = "19850374238" + str(luhn_check_digit("850374238"))
SCOPE = "openid https://id.oidc.se/scope/naturalPersonNumber"


def start_eid_login(page: Page, provider: Provider, next_url: str = "/start/") -> None:
    page.goto(f"/logga-in/?next={next_url}")
    page.get_by_role("button", name="Logga in med e-legitimation").click()
    page.wait_for_url(f"{provider.issuer}/**")


def authenticate_at_provider(page: Page, account: str) -> None:
    """The provider's own login page: it must be shown (prompt=login) every time."""
    page.locator("input[name=login]").fill(account)
    page.locator("input[name=password]").fill("any")
    page.locator("button.login-submit").click()


def eid_login(page: Page, provider: Provider, account: str, next_url: str = "/start/") -> None:
    start_eid_login(page, provider, next_url)
    authenticate_at_provider(page, account)
    page.wait_for_url(lambda url: not url.startswith(provider.issuer))


def expect_refusal(page: Page, reason: str) -> None:
    expect(page.locator("h1")).to_have_text("Inloggningen misslyckades")
    expect(page.locator(f"[data-refusal={reason}]")).to_be_visible()
    expect(page.get_by_role("heading", name="Det här kan du göra")).to_be_visible()
    assert_accessible(page)


def test_first_login_creates_the_resident_with_the_profiles_scopes_nonce_and_prompt(page: Page, eid: Provider):
    eid.set_account("anna-sub", ANNA)

    eid_login(page, eid, "anna-sub")

    page.wait_for_url("**/start/")
    message = page.locator(".messages")
    expect(message).to_contain_text("Välkommen, Anna Andersson.")
    body = page.locator("body").inner_text()
    assert "pnr-" not in body and "198503142385" not in body and "19850314-2385" not in body
    assert_accessible(page)
    resident = User.objects.get(personnummer="198503142385")
    assert (resident.first_name, resident.last_name, resident.email) == ("Anna", "Andersson", "")
    assert not resident.has_usable_password()
    assert SocialAccount.objects.get(uid="anna-sub").user == resident
    [request] = eid.requests("authorization")
    params = request["params"]
    assert sorted(params["scope"].split()) == sorted(SCOPE.split())
    assert params["prompt"] == "login"
    assert len(params["nonce"]) >= 32 and params["nonce"] != params["state"]
    assert params["code_challenge_method"] == "S256"


def test_a_second_login_reuses_the_resident_and_asks_the_provider_to_authenticate_again(page: Page, eid: Provider):
    eid.set_account("anna-sub", ANNA)
    eid_login(page, eid, "anna-sub")
    page.wait_for_url("**/start/")
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(f"{eid.issuer}/**")

    # The provider's logout page is left unconfirmed, so its session lives on; even so the next
    # login shows the provider's login form again (prompt=login).
    start_eid_login(page, eid)
    expect(page.locator("input[name=login]")).to_be_visible()
    authenticate_at_provider(page, "anna-sub")
    page.wait_for_url("**/start/")

    assert User.objects.filter(personnummer="198503142385").count() == 1
    nonces = [entry["params"]["nonce"] for entry in eid.requests("authorization")]
    assert len(nonces) == 2 and nonces[0] != nonces[1]


def test_logout_ends_the_session_at_the_provider_too(page: Page, eid: Provider, live_server):
    eid.set_account("anna-sub", ANNA)
    eid_login(page, eid, "anna-sub")
    page.wait_for_url("**/start/")

    page.get_by_role("button", name="Logga ut").click()
    # Tidbok's page posts the logout to the provider (id_token_hint in the body, not the URL).
    page.wait_for_url(f"{eid.issuer}/session/end**")
    assert "id_token_hint" not in page.url
    page.locator("button[name=logout][value=yes]").click()
    page.wait_for_url(f"{live_server.url}/utloggad/")
    expect(page.locator("h1")).to_have_text("Du är utloggad")
    assert_accessible(page)
    assert eid.requests("end_session") == [{"endpoint": "end_session", "method": "POST"}]

    # The provider has no session left: a silent authorisation request (prompt=none) is refused.
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if "/login/callback/" in request.url else None)
    page.goto(
        f"{eid.issuer}/auth?"
        + urlencode(
            {
                "client_id": CLIENT_ID,
                "response_type": "code",
                "scope": "openid",
                "prompt": "none",
                "redirect_uri": f"{live_server.url}/accounts/oidc/eid/login/callback/",
                "state": secrets.token_urlsafe(8),
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            }
        )
    )
    assert len(seen) == 1 and "error=login_required" in seen[0]
    # Tidbok does not know that state: a refusal, and the resident is logged out here as well.
    expect_refusal(page, "unverified")
    page.goto("/start/")
    assert "/logga-in/" in page.url


def test_a_coordination_number_comes_from_the_profiles_own_claim(page: Page, eid: Provider):
    eid.set_account("samordning-sub", {COORDINATION: SAMORDNINGSNUMMER, "given_name": "Sam", "family_name": "Ordning"})

    eid_login(page, eid, "samordning-sub")

    page.wait_for_url("**/start/")
    assert User.objects.get(personnummer=SAMORDNINGSNUMMER).first_name == "Sam"


def test_the_home_region_comes_from_the_configured_claim(page: Page, eid: Provider, browser_settings):
    """R-CASE-2: with no population register, the provider's county claim sets the home region at
    every login; a later login without it keeps the last known region."""
    browser_settings.TIDBOK_EID_HOME_REGION_CLAIM = HOME_REGION
    browser_settings.TIDBOK_POPULATION_REGISTER = ""
    eid.set_account("anna-sub", {**ANNA, HOME_REGION: "01"})

    eid_login(page, eid, "anna-sub")

    page.wait_for_url("**/start/")
    assert User.objects.get(personnummer=ANNA[PNR]).home_region_code == "01"
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(f"{eid.issuer}/**")
    eid.set_account("anna-sub", ANNA)
    eid_login(page, eid, "anna-sub")
    page.wait_for_url("**/start/")
    assert User.objects.get(personnummer=ANNA[PNR]).home_region_code == "01"


@pytest.mark.parametrize(
    ("claims", "reason", "explanation"),
    [
        ({"given_name": "Utan", "family_name": "Nummer"}, "no_number", "inte ditt personnummer"),
        (
            {PNR: "198503142386", "given_name": "Fel", "family_name": "Siffra"},
            "bad_number",
            "Kontrollsiffran stämmer inte",
        ),
        (
            {COORDINATION: "198503142385", "given_name": "Inte", "family_name": "Samordnad"},
            "bad_number",
            "samordningsnummer",
        ),
    ],
    ids=["missing", "check-digit", "coordination-claim-without-samordningsnummer"],
)
def test_a_bad_or_missing_number_claim_ends_on_a_clear_swedish_page(
    page: Page, eid: Provider, claims: dict, reason: str, explanation: str
):
    eid.set_account("someone", claims)
    statuses: list[int] = []
    page.on("response", lambda response: statuses.append(response.status) if "/callback/" in response.url else None)

    eid_login(page, eid, "someone")

    expect_refusal(page, reason)
    expect(page.locator("main")).to_contain_text(explanation)
    assert statuses == [400]
    assert not User.objects.filter(first_name=claims["given_name"]).exists()


def test_the_refusal_is_in_english_when_english_is_chosen(page: Page, eid: Provider):
    eid.set_account("someone", {PNR: "198503142386"})
    page.goto("/logga-in/")
    page.get_by_role("button", name="English").click()
    page.get_by_role("button", name="Log in with e-identification").click()
    authenticate_at_provider(page, "someone")

    expect(page.locator("h1")).to_have_text("Login failed")
    expect(page.locator("main")).to_contain_text("The check digit is wrong")
    assert_accessible(page)


def test_an_email_claim_from_the_provider_is_never_stored(page: Page, eid: Provider):
    # Another account already uses the address: this used to leave the resident on allauth's signup form.
    staff_member = User.objects.create_user(username="personal", email="anna@example.se", password="x" * 20)
    EmailAddress.objects.create(user=staff_member, email="anna@example.se", verified=True, primary=True)
    eid.set_account("anna-sub", {**ANNA, "email": "anna@example.se", "email_verified": True})

    eid_login(page, eid, "anna-sub")

    page.wait_for_url("**/start/")
    resident = User.objects.get(personnummer="198503142385")
    assert resident.email == "" and not EmailAddress.objects.filter(user=resident).exists()
    assert "email" not in str(SocialAccount.objects.get(user=resident).extra_data)


@pytest.mark.parametrize("tamper", ["foreign_key", "alg_none"])
def test_an_id_token_signed_with_another_key_or_not_at_all_is_refused(page: Page, eid: Provider, tamper: str):
    eid.set_account("anna-sub", ANNA)
    eid.update(tamper=tamper)

    eid_login(page, eid, "anna-sub")

    expect_refusal(page, "unverified")
    assert eid.requests("token") == [{"endpoint": "token", "tamper": tamper}]
    assert not User.objects.filter(personnummer="198503142385").exists()


def test_an_id_token_with_another_nonce_is_refused(page: Page, eid: Provider):
    eid.set_account("anna-sub", ANNA)
    eid.update(tamper="nonce")

    eid_login(page, eid, "anna-sub")

    expect_refusal(page, "unverified")
    assert not User.objects.filter(personnummer="198503142385").exists()


def test_a_logged_in_resident_cannot_link_another_persons_e_id(page: Page, eid: Provider):
    eid.set_account("anna-sub", ANNA)
    eid.set_account("bertil-sub", BERTIL)
    eid_login(page, eid, "anna-sub")
    page.wait_for_url("**/start/")
    anna = User.objects.get(personnummer="198503142385")

    # allauth's connections page is gone...
    response = page.goto("/accounts/3rdparty/")
    assert response is not None and response.status == 404
    # ...and asking the login for the "connect" process still makes it a login.
    page.goto("/logga-in/")
    page.evaluate("document.querySelector('form[action*=\"/accounts/oidc/\"]').action += '&process=connect'")
    page.get_by_role("button", name="Logga in med e-legitimation").click()
    authenticate_at_provider(page, "bertil-sub")
    page.wait_for_url("**/start/")

    bertil = User.objects.get(personnummer="199207081143")
    assert SocialAccount.objects.get(uid="bertil-sub").user == bertil
    assert list(SocialAccount.objects.filter(user=anna).values_list("uid", flat=True)) == ["anna-sub"]
    expect(page.locator(".messages")).to_contain_text("Välkommen, Bertil Berg.")


def test_a_link_to_another_persons_account_is_refused_and_audited(page: Page, eid: Provider):
    # What the connections page used to leave behind: Bertil's e-ID linked to Anna's account.
    anna = User.objects.create(username="pnr-198503142385", personnummer="198503142385", first_name="Anna")
    SocialAccount.objects.create(user=anna, provider="eid", uid="bertil-sub", extra_data={})
    eid.set_account("bertil-sub", BERTIL)

    eid_login(page, eid, "bertil-sub")

    expect_refusal(page, "number_mismatch")
    event = AuditEvent.objects.get(action="eid_login_refused")
    assert event.actor == anna and event.resident == anna
    assert "198503142385" not in event.detail and "199207081143" not in event.detail
    response = page.goto("/start/")
    assert response is not None and response.url.endswith("/logga-in/?next=/start/")
    anna.refresh_from_db()
    assert anna.personnummer == "198503142385"


def test_a_samordningsnummer_replaced_by_a_personnummer_moves_the_resident(page: Page, eid: Provider):
    eid.set_account("sam-sub", {COORDINATION: SAMORDNINGSNUMMER, "given_name": "Sam", "family_name": "Ordning"})
    eid_login(page, eid, "sam-sub")
    page.wait_for_url("**/start/")
    resident = User.objects.get(personnummer=SAMORDNINGSNUMMER)
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(f"{eid.issuer}/**")

    eid.set_account("sam-sub", {PNR: "198503142385", "given_name": "Sam", "family_name": "Ordning"})
    eid_login(page, eid, "sam-sub")
    page.wait_for_url("**/start/")

    resident.refresh_from_db()
    assert resident.personnummer == "198503142385" and resident.username == "pnr-198503142385"
    assert AuditEvent.objects.filter(action="resident_personnummer_replaced", resident=resident).count() == 1


def test_another_personnummer_for_the_same_subject_is_refused(page: Page, eid: Provider):
    eid.set_account("anna-sub", ANNA)
    eid_login(page, eid, "anna-sub")
    page.wait_for_url("**/start/")
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(f"{eid.issuer}/**")

    eid.set_account("anna-sub", BERTIL)
    eid_login(page, eid, "anna-sub")

    expect_refusal(page, "number_mismatch")
    assert User.objects.get(socialaccount__uid="anna-sub").personnummer == "198503142385"
    assert not User.objects.filter(personnummer="199207081143").exists()
    assert AuditEvent.objects.filter(action="eid_login_refused").count() == 1


def test_a_resident_has_no_way_to_a_password_or_an_e_mail_login(page: Page, eid: Provider):
    eid.set_account("anna-sub", ANNA)
    eid_login(page, eid, "anna-sub")
    page.wait_for_url("**/start/")

    for path in ("/accounts/email/", "/accounts/password/set/", "/accounts/password/change/", "/accounts/signup/"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path

    # Even a password and an address left on the account by the old pages do not open the staff login.
    resident = User.objects.get(personnummer="198503142385")
    resident.set_password("a-long-resident-password")
    resident.save()
    EmailAddress.objects.create(user=resident, email="anna@example.se", verified=True, primary=True)
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill("anna@example.se")
    page.locator("input[name=password]").fill("a-long-resident-password")
    page.locator("form:has(input[name=password]) button[type=submit]").click()

    expect(page.locator("input[name=password]")).to_be_visible()
    response = page.goto("/start/")
    assert response is not None and response.url.endswith("/logga-in/?next=/start/")
