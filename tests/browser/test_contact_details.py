"""Mina uppgifter in headless Chromium (R-NOTE-1): add an e-mail address and open its link, add a
mobile number and type a wrong and then the right code, with axe-core on every state and its
errors, screenshots at 360 and 1280 px; and support's page of messages not delivered (R-NOTE-3)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import Role
from core.sms import LocmemBackend
from notifications.models import Notification, NotificationEvent, NotificationState

from ..factories import ClinicFactory, ResidentFactory, staff
from .conftest import check_page, dev_login, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resident_adds_and_confirms_an_e_mail_address_and_a_mobile_number(page: Page, browser_settings, live_server):
    browser_settings.TIDBOK_PUBLIC_URL = live_server.url
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    dev_login(page, anna.personnummer)
    page.get_by_role("link", name="Mina uppgifter: e-post, mobilnummer och påminnelser").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mina uppgifter")
    check_page(page, "contact-1-empty")

    page.get_by_role("link", name="Lägg till e-postadress").click()
    page.get_by_label("E-postadress").fill("inte en adress")
    page.get_by_role("button", name="Skicka en länk").click()
    expect(page.locator("#error-summary")).to_contain_text("Ange en e-postadress")
    check_page(page, "contact-2-email-error")
    page.get_by_label("E-postadress").fill("anna@exempel.se")
    page.get_by_role("button", name="Skicka en länk").click()
    expect(page.get_by_text("Vi har skickat en länk till anna@exempel.se")).to_be_visible()
    check_page(page, "contact-3-email-pending")

    link = re.search(r"https?://\S+/mina-uppgifter/e-post/bekrafta/\S+/", str(mail.outbox[-1].body))
    assert link is not None
    page.goto(link[0])
    expect(page.get_by_text("Din e-postadress är bekräftad.")).to_be_visible()

    page.get_by_role("link", name="Lägg till mobilnummer").click()
    expect(page.get_by_text("Steg 1 av 2")).to_be_visible()
    page.get_by_label("Mobilnummer").fill("070-123 45 67")
    page.get_by_role("button", name="Skicka en kod").click()
    expect(page.get_by_text("Steg 2 av 2")).to_be_visible()
    check_page(page, "contact-4-code")
    code = re.search(r"\b(\d{6})\b", LocmemBackend.outbox[-1].body)
    assert code is not None
    page.get_by_label("Kod").fill("000000" if code[1] != "000000" else "111111")
    page.get_by_role("button", name="Bekräfta").click()
    expect(page.locator("#error-summary")).to_contain_text("Koden är fel")
    check_page(page, "contact-5-code-error")
    page.get_by_label("Kod").fill(code[1])
    page.get_by_role("button", name="Bekräfta").click()
    expect(page.get_by_text("Ditt mobilnummer är bekräftat.")).to_be_visible()
    expect(page.get_by_text("+46701234567")).to_be_visible()
    check_page(page, "contact-6-confirmed")

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My details")
    check_page(page, "contact-7-english")


def test_support_sends_a_failed_message_again(page: Page, browser_settings):
    clinic = ClinicFactory(name="Vårdcentralen Solna")
    member = staff(Role.SUPPORT, clinic)
    make_staff_login_ready(member)
    staff_login(page, member, next_url=f"/personal/{clinic.pk}/meddelanden/misslyckade/")
    expect(page.get_by_text("Alla meddelanden har kommit fram.")).to_be_visible()
    check_page(page, "failed-messages-1-none")

    event = NotificationEvent.objects.create(key="k", kind="booked", resident=ResidentFactory(), clinic=clinic)
    Notification.objects.create(
        event=event, channel="sms", to="+46701234567", state=NotificationState.FAILED, attempts=6
    )
    page.reload()
    expect(page.get_by_text("+4670… …67")).to_be_visible()
    check_page(page, "failed-messages-2-one")
    page.get_by_role("button", name=re.compile("Skicka igen")).click()
    expect(page.get_by_text("Meddelandet skickas igen.")).to_be_visible()
