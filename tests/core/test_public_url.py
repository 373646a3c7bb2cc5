"""One setting, TIDBOK_PUBLIC_URL, is the address every absolute link made without a request
starts with: the notification e-mail and SMS, the calendar file, the e-mail confirmation link,
the staff invitation and the SMART bulk files' deep links. Its old name TIDBOK_SITE_URL is still
read when it is the only one set, and manage.py check warns that it is deprecated."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.checks import Warning
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from accounts.contact_services import contact_email_link_send, contact_email_start
from accounts.invitations import staff_invitation_send
from accounts.models import ContactDetails
from bookings.services import booking_create
from core import checks
from core.public_url import public_base_url
from core.sms import LocmemBackend
from fhir import bulk

from ..factories import UserFactory, tomorrow_at
from ..pages import make_slot

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
BASE = "https://boka.region.example"


@pytest.fixture(params=["TIDBOK_PUBLIC_URL", "TIDBOK_SITE_URL"])
def configured(request, settings):
    """The address set by its name, or only by its deprecated old name."""
    settings.TIDBOK_PUBLIC_URL = ""
    setattr(settings, request.param, BASE)
    return request.param


def _links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text.replace("\r\n ", ""))


def test_the_notification_e_mail_its_calendar_file_and_the_sms_link_to_the_public_address(
    configured, resident, appointment_type, resource, django_capture_on_commit_callbacks
):
    now = timezone.now()
    ContactDetails.objects.create(
        user=resident, email="anna@exempel.se", email_verified_at=now, mobile="+46701234567", mobile_verified_at=now
    )
    slot = make_slot(appointment_type, resource, tomorrow_at(9, 0, days=3))
    LocmemBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(resident=resident, slot_id=slot.pk)

    [email] = mail.outbox
    [sms] = LocmemBackend.outbox
    detail = f"{BASE}/mina-tider/{booking.pk}/"
    assert isinstance(email, EmailMultiAlternatives)
    html = str(email.alternatives[0][0])
    [(_, attached, _)] = email.attachments
    ics = attached.decode() if isinstance(attached, bytes) else str(attached)
    for text in (str(email.body), html, sms.body, ics):
        links = _links(text)
        assert links, text
        assert all(link.startswith(f"{BASE}/") for link in links), links
    assert detail in email.body and detail in html and detail in sms.body
    assert f"URL;VALUE=URI:{detail}" in ics.replace("\r\n ", "")


def test_the_e_mail_confirmation_link_starts_with_the_public_address(configured, resident):
    contact = contact_email_start(user=resident, email="anna@exempel.se")

    assert contact_email_link_send(user_id=resident.pk, nonce=contact.email_nonce)

    [message] = mail.outbox
    assert [link[: len(BASE) + 1] for link in _links(str(message.body))] == [f"{BASE}/"]


def test_the_staff_invitation_links_to_the_public_address(configured, clinic):
    invited = UserFactory(email="ny@region.example", personnummer=None)
    invited.set_unusable_password()
    invited.save()

    assert staff_invitation_send(user_id=invited.pk, region_name="Region Stockholm")

    [link] = _links(str(mail.outbox[0].body))
    assert link.startswith(f"{BASE}/accounts/password/reset/key/")


def test_the_bulk_files_deep_links_start_with_the_public_address(configured, client, slot):
    bulk.refresh()

    manifest = client.get("/fhir/r4/$bulk-publish").json()
    [url] = [output["url"] for output in manifest["output"] if output["type"] == "Slot"]
    [line] = [json.loads(text) for text in client.get(url).content.decode().splitlines()]
    assert line["extension"][0]["valueUrl"].startswith(f"{BASE}/mottagning/{slot.appointment_type.clinic_id}/")


def test_the_new_name_wins_over_the_old_one(settings):
    settings.TIDBOK_PUBLIC_URL = BASE
    settings.TIDBOK_SITE_URL = "https://gammal.region.example"

    assert public_base_url() == BASE


@pytest.mark.parametrize(
    ("debug", "hosts", "expected"),
    [
        (True, ["127.0.0.1"], "http://127.0.0.1:8000"),
        (False, ["*", ".region.example", "tidbok.region.example"], "https://tidbok.region.example"),
        (False, ["*"], ""),
    ],
)
def test_unset_it_is_the_development_server_or_the_first_concrete_allowed_host(settings, debug, hosts, expected):
    settings.TIDBOK_PUBLIC_URL = ""
    settings.DEBUG, settings.ALLOWED_HOSTS = debug, hosts

    assert public_base_url() == expected


def test_the_old_name_alone_is_used_with_a_deprecation_warning(settings):
    settings.TIDBOK_PUBLIC_URL = ""
    settings.TIDBOK_SITE_URL = BASE

    [warning] = checks.public_url_old_name()

    assert isinstance(warning, Warning) and warning.id == "core.W001"
    assert "TIDBOK_SITE_URL is deprecated" in warning.msg and "TIDBOK_PUBLIC_URL" in (warning.hint or "")


def test_the_old_name_beside_another_new_address_is_reported_as_ignored(settings):
    settings.TIDBOK_PUBLIC_URL = BASE
    settings.TIDBOK_SITE_URL = "https://gammal.region.example"

    [warning] = checks.public_url_old_name()

    assert warning.id == "core.W002" and "ignored" in warning.msg


def test_without_the_old_name_there_is_no_warning(settings):
    settings.TIDBOK_PUBLIC_URL = BASE
    if hasattr(settings, "TIDBOK_SITE_URL"):
        del settings.TIDBOK_SITE_URL

    assert checks.public_url_old_name() == []


def test_a_deployment_without_any_address_is_warned(settings):
    settings.TIDBOK_PUBLIC_URL = ""
    settings.ALLOWED_HOSTS = ["*"]

    assert [w.id for w in checks.public_url_known()] == ["core.W003"]
    settings.ALLOWED_HOSTS = ["tidbok.region.example"]
    assert checks.public_url_known() == []


def _production(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"}
        and not key.startswith(("TIDBOK_PUBLIC_URL", "TIDBOK_SITE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"))
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "p9$Kz!2vQx@7Lm#4Rt^8Wy&1Bn*6Hc(3Jd)5Fg_0Sa+Ue=Io-Pl~Ok`Mi",
            "ALLOWED_HOSTS": "tidbok.example.se",
            **extra,
        }
    )
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_deployment_that_still_sets_the_old_name_starts_uses_it_and_is_warned():
    env = _production(TIDBOK_SITE_URL=f"{BASE}/")

    used = _run(env, "shell", "-c", "from core.public_url import public_url; print(public_url('/x/'))")
    check = _run(env, "check", "--deploy")

    assert used.returncode == 0, used.stderr
    assert used.stdout.strip().splitlines()[-1] == f"{BASE}/x/"
    assert check.returncode == 0, check.stdout + check.stderr
    assert "(core.W001) TIDBOK_SITE_URL is deprecated" in check.stderr + check.stdout


def test_production_settings_with_the_public_address_pass_check_deploy():
    check = _run(_production(TIDBOK_PUBLIC_URL=BASE), "check", "--deploy", "--fail-level", "WARNING")

    assert check.returncode == 0, check.stdout + check.stderr
    assert "System check identified no issues" in check.stdout


@pytest.mark.parametrize("value", ["tidbok.region.example", "ftp://tidbok.region.example", "https://"])
def test_a_malformed_address_stops_start_up_naming_the_variable(value):
    result = subprocess.run(
        [sys.executable, "-c", "import tidbok.settings"],
        cwd=ROOT,
        env=_production(TIDBOK_PUBLIC_URL=value),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "TIDBOK_PUBLIC_URL must be an http:// or https:// address" in result.stderr
