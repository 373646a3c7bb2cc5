"""R-SEC-5: the Content-Security-Policy on every answer with no inline code, no-store on everything
personal, idle sessions that end, and app tokens that expire and can be revoked."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import django
import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from bookings.services import booking_create

from ..factories import staff
from ..pages import found

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"


def staff_client(client, user):
    """A staff member signed in with password and second factor in this session (R-AUTH-2, R-SEC-2)."""
    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY

    authenticator = TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").instance
    client.force_login(user)
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "id": authenticator.pk, "type": Authenticator.Type.TOTP},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


class InlineCodeFinder(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/json":
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, _value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action") and (_value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.found


# --- Content-Security-Policy ------------------------------------------------------------------


def test_the_policy_allows_no_inline_script_or_style(client, db):
    policy = directives(client.get(reverse("clinics:search")))

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"] and policy["base-uri"] == ["'self'"]


def test_every_kind_of_answer_carries_the_policy(client, resident, clinic):
    client.force_login(resident)
    answers = [
        client.get(reverse("clinics:search")),
        client.get(reverse("bookings:start")),
        client.get(reverse("clinics:detail", args=[clinic.pk])),
        client.get("/api/v1/bookings/"),
        client.get("/api/docs/"),
        client.get("/fhir/r4/metadata"),
        client.get("/no-such-page/"),
        client.post(reverse("session_keep_alive")),
    ]
    for response in answers:
        assert "script-src 'self'" in response["Content-Security-Policy"], response.wsgi_request.path


def test_the_eid_provider_is_a_form_target_when_configured():
    """The eID login form's post is redirected on to the provider; form-action must allow that."""
    env = {**os.environ, "OIDC_ISSUER": "https://eid.example.se/oidc"}
    code = "import tidbok.settings as s; print(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'])"
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)

    assert result.stdout.strip() == "[\"'self'\", 'https://eid.example.se']", result.stderr


def test_no_template_has_inline_script_style_or_event_handler():
    offenders = {}
    for path in TEMPLATES.rglob("*.html"):
        # An e-mail body is no page: no Content-Security-Policy reaches a mail program, and mail programs drop
        # style sheets, so its styles are inline by necessity. It is never served.
        if path.relative_to(TEMPLATES).parts[:1] == ("notifications",) and path.name.startswith("email"):
            continue
        found = inline_code(path.read_text())
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_rendered_pages_have_no_inline_code(client, resident, clinic, appointment_type, slot):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    pages = [reverse("clinics:search"), reverse("resident_login"), reverse("account_login"), "/api/docs/"]
    for url in pages:
        assert inline_code(client.get(url).content.decode()) == [], url
    client.force_login(resident)
    pages = [
        reverse("bookings:start"),
        reverse("clinics:detail", args=[clinic.pk]),
        reverse("bookings:my_bookings"),
        reverse("bookings:detail", args=[booking.pk]),
        reverse("app_tokens"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


def test_swagger_ui_starts_from_a_script_file(client, db):
    page = client.get("/api/docs/").content.decode()
    script_url = found(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page).group(1).replace("&amp;", "&")

    script = client.get(script_url)

    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


def test_the_admin_change_list_style_block_is_allowed_by_its_hash():
    """Django's admin writes one <style> block on change lists without actions; the policy names its
    hash. Recomputed from the installed Django, so an upgrade that changes the block fails here."""
    template = Path(django.__file__).parent / "contrib/admin/templates/admin/change_list.html"
    block = found(r"<style>(.*?)</style>", template.read_text(), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()

    assert f"'sha256-{digest}'" in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"]


# --- Cache-Control: no-store ----------------------------------------------------------------------


def test_personal_pages_api_answers_and_the_calendar_file_are_not_stored(client, resident, clinic, slot):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    client.force_login(resident)
    token = Token.objects.create(user=resident)
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    answers = {
        "start page": client.get(reverse("bookings:start")),
        "booking page": client.get(reverse("bookings:detail", args=[booking.pk])),
        "public page while signed in": client.get(reverse("clinics:search")),
        ".ics": client.get(reverse("bookings:ics", args=[booking.pk])),
        "API with the session": client.get("/api/v1/bookings/"),
        "API with a token": app.get("/api/v1/bookings/"),
        "API booking": app.get(f"/api/v1/bookings/{booking.pk}/"),
        "API refusal": APIClient().get("/api/v1/bookings/"),
        "FHIR appointments": app.get("/fhir/r4/Appointment"),
    }
    for name, response in answers.items():
        assert response["Cache-Control"] == "no-store", name
    assert answers[".ics"]["Content-Type"].startswith("text/calendar")


def test_staff_pages_are_not_stored(client, clinic):
    staff_client(client, staff(Role.SCHEDULER, clinic))

    response = client.get(reverse("workspace:timebook", args=[clinic.pk]))

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"


def test_anonymous_public_pages_and_public_bulk_files_may_be_cached(client, clinic):
    assert "no-store" not in client.get(reverse("clinics:search")).get("Cache-Control", "")
    assert "no-store" not in client.get(reverse("clinics:detail", args=[clinic.pk])).get("Cache-Control", "")


# --- Idle sessions --------------------------------------------------------------------------------


def test_an_idle_resident_session_ends_after_thirty_minutes_by_default(client, resident):
    assert settings.TIDBOK_SESSION_IDLE_SECONDS == 30 * 60
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.force_login(resident)
        assert client.get(reverse("bookings:start")).status_code == 200
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("bookings:start")).status_code == 200  # activity restarts the clock
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("bookings:start")).status_code == 200
        traveller.shift(dt.timedelta(minutes=30, seconds=1))

        response = client.get(reverse("bookings:start"), follow=True)

    assert response.redirect_chain[0][0].startswith(reverse("resident_login"))
    assert not response.wsgi_request.user.is_authenticated
    assert "Du loggades ut eftersom du inte gjort något på 30 minuter." in response.content.decode()


def test_the_idle_limit_is_configurable_and_ends_api_sessions_too(client, resident, settings):
    settings.TIDBOK_SESSION_IDLE_SECONDS = 10 * 60
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.force_login(resident)
        assert client.get("/api/v1/bookings/").status_code == 200
        traveller.shift(dt.timedelta(minutes=10, seconds=1))

        assert client.get("/api/v1/bookings/").status_code == 403


def test_the_server_ends_the_session_in_its_store_too(client, resident):
    """Without the page's script and without another request, the stored session expires."""
    from accounts.models import UserSession as Session

    client.force_login(resident)
    client.get(reverse("bookings:start"))

    stored = Session.objects.get(session_key=client.session.session_key)
    assert stored.expire_date <= timezone.now() + dt.timedelta(minutes=31, seconds=5)


def test_keep_alive_restarts_the_clock_and_the_status_check_does_not(client, resident):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.force_login(resident)
        client.get(reverse("bookings:start"))
        traveller.shift(dt.timedelta(minutes=26))
        assert client.get(reverse("session_status")).json() == {"seconds_left": 4 * 60}

        kept = client.post(reverse("session_keep_alive"))

        assert kept.status_code == 200 and kept.json() == {"seconds_left": 30 * 60}
        traveller.shift(dt.timedelta(minutes=25))
        assert client.get(reverse("session_status")).json() == {"seconds_left": 5 * 60}
        traveller.shift(dt.timedelta(minutes=5, seconds=1))
        assert client.get(reverse("session_status")).json() == {"seconds_left": 0}
        assert client.get(reverse("bookings:start")).status_code == 302


def test_keep_alive_needs_a_session_and_the_csrf_token(client, resident):
    from django.test import Client

    assert client.post(reverse("session_keep_alive")).status_code == 401
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(resident)
    assert strict.post(reverse("session_keep_alive")).status_code == 403


def test_pages_of_a_signed_in_user_carry_the_warning(client, resident, settings):
    settings.TIDBOK_SESSION_WARNING_SECONDS = 4 * 60
    client.force_login(resident)

    page = client.get(reverse("bookings:start")).content.decode()

    assert 'id="session-timeout"' in page and 'data-seconds-left="1800"' in page
    assert 'data-warning-seconds="240"' in page and "js/session-timeout.js" in page


def test_staff_sessions_have_their_own_idle_limit(client, clinic, settings):
    settings.TIDBOK_STAFF_SESSION_IDLE_SECONDS = 45 * 60
    url = reverse("workspace:timebook", args=[clinic.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        staff_client(client, staff(Role.SCHEDULER, clinic))
        assert client.get(url).status_code == 200
        traveller.shift(dt.timedelta(minutes=44))
        assert client.get(url).status_code == 200
        traveller.shift(dt.timedelta(minutes=45, seconds=1))

        assert client.get(url).status_code == 302
        assert not client.get(reverse("session_status")).json()["seconds_left"]


def test_a_token_request_gets_no_session(resident):
    token = Token.objects.create(user=resident)
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")

    response = app.get("/api/v1/bookings/")

    assert response.status_code == 200 and settings.SESSION_COOKIE_NAME not in response.cookies


# --- App tokens -----------------------------------------------------------------------------------


def test_an_app_token_expires_after_twelve_hours_by_default(client, resident):
    assert settings.TIDBOK_API_TOKEN_SECONDS == 12 * 3600
    client.force_login(resident)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        issued = client.post("/api/v1/auth/token/")
        assert issued.status_code == 201
        token = issued.json()["token"]
        expires = dt.datetime.fromisoformat(issued.json()["expires"])
        assert expires == Token.objects.get(key=token).created + dt.timedelta(hours=12)
        app = APIClient()
        app.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        traveller.shift(dt.timedelta(hours=11, minutes=59))
        assert app.get("/api/v1/bookings/").status_code == 200
        traveller.shift(dt.timedelta(minutes=1))

        refused = app.get("/api/v1/bookings/")

        assert refused.status_code == 403
        assert refused.json()["detail"] == "Din token har gått ut. Logga in igen för att få en ny."
        assert app.get("/fhir/r4/Appointment").status_code == 401


def test_asking_again_after_expiry_gives_a_new_token(resident, settings):
    settings.TIDBOK_API_TOKEN_SECONDS = 3600
    app = APIClient()
    app.force_authenticate(resident)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        first = app.post("/api/v1/auth/token/").json()["token"]
        assert app.post("/api/v1/auth/token/").json()["token"] == first  # still valid: the same one
        traveller.shift(dt.timedelta(hours=1))

        second = app.post("/api/v1/auth/token/").json()["token"]

    assert second != first and list(Token.objects.filter(user=resident).values_list("key", flat=True)) == [second]


def test_the_app_revokes_its_own_token(resident):
    token = Token.objects.create(user=resident)
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")

    assert app.delete("/api/v1/auth/token/").status_code == 204
    assert app.get("/api/v1/bookings/").status_code == 403
    assert not Token.objects.filter(user=resident).exists()


def test_the_resident_logs_every_app_out_on_the_web(client, resident):
    token = Token.objects.create(user=resident)
    client.force_login(resident)
    page = client.get(reverse("app_tokens")).content.decode()
    assert "En app är inloggad med ditt konto sedan" in page

    response = client.post(reverse("app_tokens"), follow=True)

    assert "Alla appar har loggats ut från ditt konto." in response.content.decode()
    assert not Token.objects.filter(user=resident).exists()
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    assert app.get("/api/v1/bookings/").status_code == 403
    assert "Ingen app är inloggad med ditt konto." in client.get(reverse("app_tokens")).content.decode()


def test_the_apps_page_is_for_residents(client, clinic):
    assert client.get(reverse("app_tokens")).status_code == 302
    staff_client(client, staff(Role.SUPPORT, clinic))
    assert client.get(reverse("app_tokens")).status_code == 403


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TIDBOK_SESSION_IDLE_MINUTES", "0"),
        ("TIDBOK_API_TOKEN_HOURS", "-1"),
        ("TIDBOK_SESSION_WARNING_MINUTES", "45"),
    ],
)
def test_bad_lifetimes_stop_start_up(variable, value):
    env = {**os.environ, variable: value}
    result = subprocess.run(
        [sys.executable, "-c", "import tidbok.settings"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0 and variable in result.stderr
