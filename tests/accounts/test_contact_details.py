"""R-NOTE-1: the resident's contact details, each verified before use, and their preferences."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import contact_services as services
from accounts.models import ContactDetails
from core.errors import ValidationFailed
from core.sms import LocmemBackend

from ..pages import found

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.TIDBOK_PUBLIC_URL = "https://tidbok.example.se"


def _link(message) -> str:
    found = re.search(r"https?://\S+/mina-uppgifter/e-post/bekrafta/\S+/", message.body)
    assert found, message.body
    return found.group(0)


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_an_e_mail_address_is_used_only_after_its_link_is_opened(
    resident_client, resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = resident_client.post(reverse("contact_email"), {"email": " anna@exempel.se "})
    assert answer.status_code == 302
    contact = ContactDetails.objects.get(user=resident)
    # Pending, not usable: the field a sender reads is still empty.
    assert (contact.email, contact.email_pending) == ("", "anna@exempel.se")
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["anna@exempel.se"]
    assert sent.subject == "Bekräfta din e-postadress för Tidbok"
    assert "anna@exempel.se" not in _link(sent)  # the address stays out of the URL
    assert resident.personnummer not in sent.body

    answer = resident_client.get(_path(_link(sent)))
    assert answer.status_code == 302
    contact.refresh_from_db()
    assert (contact.email, contact.email_pending) == ("anna@exempel.se", "")
    assert contact.email_verified_at is not None
    # Used once: the same link again is refused with a clear page.
    again = resident_client.get(_path(_link(sent)))
    assert again.status_code == 400
    assert "Länken har gått ut eller har redan använts" in again.content.decode()


def test_a_link_works_only_for_its_resident_and_only_for_the_latest_request(
    client, resident, other_resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_email_start(user=resident, email="first@exempel.se")
        services.contact_email_start(user=resident, email="second@exempel.se")
    # The first request's task found its nonce replaced and sent nothing.
    assert [message.to for message in mail.outbox] == [["second@exempel.se"]]
    link = _path(_link(mail.outbox[0]))

    client.force_login(other_resident)
    assert client.get(link).status_code == 400
    token = link.rstrip("/").rsplit("/", 1)[1]
    with pytest.raises(ValidationFailed):
        services.contact_email_confirm(user=resident, token=token[:-2] + "xx")  # a forged signature
    assert ContactDetails.objects.get(user=resident).email == ""

    client.force_login(resident)
    assert client.get(link).status_code == 302
    assert ContactDetails.objects.get(user=resident).email == "second@exempel.se"


def test_an_expired_link_is_refused(resident, django_capture_on_commit_callbacks, time_machine):
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_email_start(user=resident, email="anna@exempel.se")
    token = _path(_link(mail.outbox[0])).rstrip("/").rsplit("/", 1)[1]
    time_machine.move_to(timezone.now() + services.EMAIL_LINK_MAX_AGE + dt.timedelta(minutes=1))
    with pytest.raises(ValidationFailed):
        services.contact_email_confirm(user=resident, token=token)
    assert ContactDetails.objects.get(user=resident).email == ""


def test_a_mobile_number_is_used_only_after_its_code_and_wrong_codes_are_limited(
    resident_client, resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = resident_client.post(reverse("contact_mobile"), {"mobile": "070-123 45 67"})
    assert answer.status_code == 302 and answer["Location"] == reverse("contact_mobile_code")
    [sms] = LocmemBackend.outbox
    assert sms.to == "+46701234567"
    code = found(r"\b(\d{6})\b", sms.body).group(1)
    assert sms.body.startswith("Din kod för Tidbok är")
    contact = ContactDetails.objects.get(user=resident)
    assert (contact.mobile, contact.mobile_pending) == ("", "+46701234567")

    wrong = "000000" if code != "000000" else "111111"
    for attempt in range(services.MOBILE_CODE_MAX_ATTEMPTS):
        answer = resident_client.post(reverse("contact_mobile_code"), {"code": wrong})
        assert answer.status_code == 400
        assert "Koden är fel" in answer.content.decode(), attempt
    # Now even the right code is refused: a new one must be asked for.
    answer = resident_client.post(reverse("contact_mobile_code"), {"code": code})
    assert answer.status_code == 400
    assert "fel kod för många gånger" in answer.content.decode()
    assert ContactDetails.objects.get(user=resident).mobile == ""


def test_the_right_code_confirms_the_number_and_a_new_code_waits_a_minute(
    resident, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_mobile_start(user=resident, mobile="+46 70 765 43 21")
    with pytest.raises(ValidationFailed) as refused:
        services.contact_mobile_start(user=resident, mobile="0707654321")
    assert "mobile" in refused.value.field_errors
    code = found(r"\b(\d{6})\b", LocmemBackend.outbox[0].body).group(1)
    services.contact_mobile_confirm(user=resident, code=code[:3] + " " + code[3:])
    contact = ContactDetails.objects.get(user=resident)
    assert contact.mobile == "+46707654321" and contact.mobile_verified_at is not None


def test_an_expired_code_is_refused(resident, django_capture_on_commit_callbacks, time_machine):
    time_machine.move_to(timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_mobile_start(user=resident, mobile="0701234567")
    code = found(r"\b(\d{6})\b", LocmemBackend.outbox[0].body).group(1)
    time_machine.move_to(timezone.now() + services.MOBILE_CODE_VALID + dt.timedelta(seconds=1))
    with pytest.raises(ValidationFailed) as refused:
        services.contact_mobile_confirm(user=resident, code=code)
    assert "har gått ut" in str(refused.value.field_errors["code"][0])


@pytest.mark.parametrize(
    ("url", "data", "field", "text"),
    [
        ("contact_email", {"email": "inte en adress"}, "email", "Ange en e-postadress"),
        ("contact_email", {"email": ""}, "email", "Ange en e-postadress"),
        ("contact_mobile", {"mobile": "08-123 456"}, "mobile", "Ange ett mobilnummer"),
        ("contact_details", {"language": "de"}, "language", "Välj svenska eller engelska"),
    ],
)
def test_bad_input_gets_a_clear_swedish_message_and_changes_nothing(resident_client, resident, url, data, field, text):
    answer = resident_client.post(reverse(url), data)
    assert answer.status_code == 400
    page = answer.content.decode()
    assert text in page
    assert 'id="error-summary"' in page
    contact = services.contact_for(user=resident)
    assert (contact.email_pending, contact.mobile_pending, contact.language) == ("", "", "sv")
    assert mail.outbox == [] and LocmemBackend.outbox == []


def test_preferences_are_saved_and_details_can_be_removed(resident_client, resident):
    ContactDetails.objects.create(
        user=resident, email="anna@exempel.se", email_verified_at=timezone.now(), mobile="+46701234567"
    )
    page = resident_client.get(reverse("contact_details"))
    assert page.status_code == 200
    assert "anna@exempel.se" in page.content.decode() and "Mina uppgifter" in page.content.decode()

    answer = resident_client.post(reverse("contact_details"), {"reminders_by_email": "on", "language": "en"})
    assert answer.status_code == 302
    contact = ContactDetails.objects.get(user=resident)
    assert (contact.reminders_by_email, contact.reminders_by_sms, contact.language) == (True, False, "en")

    resident_client.post(reverse("contact_remove"), {"what": "email"})
    resident_client.post(reverse("contact_remove"), {"what": "mobile"})
    contact.refresh_from_db()
    assert (contact.email, contact.email_verified_at, contact.mobile) == ("", None, "")


def test_the_pages_are_for_residents_only(client, sched):
    assert sched.get(reverse("contact_details")).status_code == 403  # staff, even fully logged in
    sched.logout()
    answer = client.get(reverse("contact_details"))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("resident_login"))
