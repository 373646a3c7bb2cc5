"""A proxy booker (1177's telephone service) in headless Chromium (R-TYPE-6, guide 002): logs in with
password and second factor, lands on their own workspace, finds a resident by personnummer (posted,
never in the URL, R-SEC-3), books a free proxy time day first, and cancels it; the resident gets a
summons and a cancellation (R-BOOK-9), the web booking log names the unit (R-LOG-1). In Swedish and
English, with an error and the empty states; every page checked with axe-core and photographed at
360 and 1280 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from bookings.models import Booking, BookingStatus, Channel, InboxMessage, MessageKind, WebBookingLogEntry

from ..factories import AppointmentTypeFactory, ClinicFactory, ResidentFactory, ResourceFactory, staff, tomorrow_at
from ..pages import make_slot
from .conftest import check_page, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNIT = "1177 Vårdguiden på telefon"


@pytest.fixture
def solna(db):
    clinic = ClinicFactory(name="Vårdcentralen Solna", town="Solna", patient_comment_on_web=True)
    return clinic


@pytest.fixture
def proxy_slot(solna):
    proxy_type = AppointmentTypeFactory(clinic=solna, internal_name="Ombud 1177 akut", web_name="Besök bokat av 1177")
    return make_slot(proxy_type, ResourceFactory(clinic=solna, name="Distriktssköterska"), tomorrow_at(11, days=2))


@pytest.fixture
def olle(solna):
    user = staff(Role.PROXY_BOOKER, solna, unit_name=UNIT)
    make_staff_login_ready(user)
    return user


def test_a_proxy_booker_books_and_cancels_for_a_resident(page: Page, solna, proxy_slot, olle):
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    pnr = anna.personnummer or ""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    staff_login(page, olle, next_url="/personal/ombud/")
    expect(page.locator("main")).to_contain_text(UNIT)
    check_page(page, "proxy-home")

    # An invalid personnummer: an error tied to the field, nothing searched.
    page.locator("#id_personnummer").fill("19850314-0000")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_personnummer_error")).to_be_visible()
    expect(page.locator("#id_personnummer")).to_have_attribute("aria-invalid", "true")
    check_page(page, "proxy-home-error")

    # Keyboard only: the right number finds the resident; the URL names a token, not the number.
    page.locator("#id_personnummer").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(pnr)
    page.keyboard.press("Enter")
    page.wait_for_url("**/personal/ombud/invanare/?sok=*")
    assert pnr and pnr not in page.url and pnr[2:8] not in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Anna Andersson")
    expect(page.locator("main .notice")).to_be_visible()  # no proxy times booked yet
    check_page(page, "proxy-resident-empty")

    # Day first, then the time.
    page.locator("main a.button").click()
    page.wait_for_url("**/personal/ombud/tider/?sok=*")
    check_page(page, "proxy-days")
    page.locator("main ul.card-list a").first.click()
    page.wait_for_url("**/tider/?*datum=*")
    check_page(page, "proxy-times")
    page.locator("main ul.card-list a").first.click()
    page.wait_for_url(f"**/tider/{proxy_slot.pk}/boka/?sok=*")
    check_page(page, "proxy-book")

    # The clinic asks for phone and reason (R-TYPE-7): left out, both fields say so.
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_phone_error")).to_be_visible()
    expect(page.locator("#id_reason_error")).to_be_visible()
    check_page(page, "proxy-book-error")
    page.locator("#id_phone").fill("070-123 45 67")
    page.locator("#id_reason").fill("Feber sedan tre dagar")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/personal/ombud/invanare/?sok=*")
    booking = Booking.objects.get(resident=anna)
    assert (booking.channel, booking.proxy_unit) == (Channel.PROXY, UNIT)
    assert InboxMessage.objects.filter(resident=anna, kind=MessageKind.SUMMONS).exists()
    expect(page.locator("main .card-list .card")).to_have_count(1)
    check_page(page, "proxy-resident")

    # In English too: cancel the time.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=2).first).to_have_text("Proxy times booked")
    check_page(page, "proxy-resident-en")
    page.locator("main .card a.button").click()
    page.wait_for_url(f"**/bokning/{booking.pk}/avboka/?sok=*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel the time")
    check_page(page, "proxy-cancel-en")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/personal/ombud/invanare/?sok=*")
    expect(page.locator("main .notice")).to_have_text("The resident has no booked proxy times in your region.")
    check_page(page, "proxy-resident-cancelled-en")

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert InboxMessage.objects.filter(resident=anna, kind=MessageKind.CANCELLATION).exists()
    units = set(WebBookingLogEntry.objects.filter(booking=booking).values_list("channel", "changed_by"))
    assert units == {(Channel.PROXY, UNIT)}
    # R-SEC-3: no page, redirect or asset the browser asked for carried the personnummer.
    assert requested and not [url for url in requested if pnr[2:8] in url]


def test_no_free_proxy_times_is_said_in_english(page: Page, solna, olle):
    """The empty state of the day list, and a day that has none, in English."""
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    AppointmentTypeFactory(clinic=solna, internal_name="Ombud 1177 akut", web_name="Besök bokat av 1177")
    staff_login(page, olle, next_url="/personal/ombud/")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Proxy booking")
    check_page(page, "proxy-home-en")
    page.locator("#id_personnummer").fill(anna.personnummer or "")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/personal/ombud/invanare/?sok=*")
    page.locator("main a.button").click()
    page.wait_for_url("**/personal/ombud/tider/?sok=*")
    expect(page.locator("main .notice")).to_contain_text("There are no free proxy times for this choice.")
    check_page(page, "proxy-days-empty-en")
    page.locator("#id_datum").fill(tomorrow_at(9).date().isoformat())
    page.locator("main form.search button[type=submit]").click()
    page.wait_for_url("**datum=*")
    expect(page.locator("main .notice")).to_contain_text("There are no free proxy times this day")
    check_page(page, "proxy-times-empty-en")
