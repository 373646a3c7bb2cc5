"""Video visits in headless Chromium: the resident's booking page and list offer "Anslut till
videomötet" inside the join window and say from when before it (R-BOOK-5), in Swedish and English;
the scheduler replaces a booking's link and the local admin sets the meeting address, with the
error beside the field. axe-core on every state, screenshots at 360 and 1280 px."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from bookings.services import booking_create
from schedules.selectors import LOCAL_TZ

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    staff,
    tomorrow_at,
)
from .conftest import check_page, dev_login, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def video_visits(db):
    """Anna's two video visits at Solna: one starting in ten minutes, one in two days."""
    clinic = ClinicFactory(
        name="Vårdcentralen Solna",
        street_address="Solnavägen 3",
        postal_code="171 64",
        town="Solna",
        meeting_url_template="https://mote.region.example/{room}",
    )
    video = AppointmentTypeFactory(
        clinic=clinic, internal_name="Video läkare", web_name="Videobesök med läkare", is_video_visit=True
    )
    resource = ResourceFactory(clinic=clinic, name="Erik Holm, läkare")
    soon_start = (timezone.now() + dt.timedelta(minutes=10)).replace(second=0, microsecond=0)
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    soon, later = (
        booking_create(
            resident=anna,
            slot_id=SlotFactory(
                appointment_type=video, resource=resource, start=start, end=start + dt.timedelta(minutes=20)
            ).pk,
        )
        for start in (soon_start, tomorrow_at(9, days=2))
    )
    return anna, soon, later


def _opens(booking, separator: str = ".") -> str:
    """When the join window opens, as the page writes the time: 08.45 in Swedish, 08:45 in English."""
    opens = timezone.localtime(booking.start - dt.timedelta(minutes=15), LOCAL_TZ)
    return f"{opens:%H}{separator}{opens:%M}"


def test_the_resident_joins_inside_the_window_and_is_told_when_before_it(page: Page, video_visits):
    anna, soon, later = video_visits
    dev_login(page, anna.personnummer, next_url="/mina-tider/")
    page.goto("/mina-tider/")
    join = page.get_by_role("link", name="Anslut till videomötet")
    expect(join).to_have_count(1)
    assert join.get_attribute("href") == soon.meeting_url
    expect(page.get_by_text("Du kan ansluta till videomötet här från")).to_contain_text(_opens(later))
    assert later.meeting_url not in page.content()
    check_page(page, "video-1-list-sv")

    page.goto(f"/mina-tider/{soon.pk}/")
    expect(page.get_by_role("link", name="Anslut till videomötet")).to_have_attribute("href", soon.meeting_url)
    check_page(page, "video-2-joinable-sv")

    page.goto(f"/mina-tider/{later.pk}/")
    expect(page.get_by_role("link", name="Anslut till videomötet")).to_have_count(0)
    expect(page.get_by_text("Du kan ansluta till videomötet här från")).to_contain_text(_opens(later))
    check_page(page, "video-3-not-yet-sv")


def test_the_same_in_english_with_the_keyboard(page: Page, video_visits):
    anna, soon, later = video_visits
    dev_login(page, anna.personnummer, next_url="/mina-tider/")
    page.goto("/mina-tider/")
    page.get_by_role("button", name="English").click()
    page.goto(f"/mina-tider/{soon.pk}/")
    join = page.get_by_role("link", name="Join the video meeting")
    join.focus()
    expect(join).to_be_focused()
    check_page(page, "video-4-joinable-en")
    page.goto(f"/mina-tider/{later.pk}/")
    expect(page.get_by_text("You can join the video meeting here from")).to_contain_text(_opens(later, ":"))
    check_page(page, "video-5-not-yet-en")


def test_staff_set_the_link_and_the_address_with_errors_beside_the_fields(page: Page, video_visits):
    _anna, soon, _later = video_visits
    clinic = soon.clinic
    scheduler = staff(Role.SCHEDULER, clinic)
    scheduler.memberships.create(role=Role.LOCAL_ADMIN, clinic=clinic)
    make_staff_login_ready(scheduler)
    booking_page = f"/personal/{clinic.pk}/tidbok/bokning/{soon.pk}/"
    staff_login(page, scheduler, next_url=booking_page)
    expect(page.get_by_role("heading", name="Videomöte")).to_be_visible()
    check_page(page, "video-6-staff-booking")

    page.get_by_label("Länk till videomötet").fill("http://video.example.se/m/1")
    page.get_by_role("button", name="Byt länk").click()
    expect(page.locator("#id_meeting_url_error")).to_contain_text("Länken måste börja med https://")
    check_page(page, "video-7-staff-link-error")
    page.get_by_label("Länk till videomötet").fill("https://video.example.se/m/1")
    page.get_by_role("button", name="Byt länk").click()
    expect(page.get_by_text("Länken till videomötet är sparad.")).to_be_visible()
    soon.refresh_from_db()
    assert soon.meeting_url == "https://video.example.se/m/1"

    page.goto(f"/personal/{clinic.pk}/videomoten/")
    page.get_by_label("Adress till videomötena").fill("https://mote.region.example/rum")
    page.get_by_role("button", name="Spara").click()
    expect(page.locator("#meeting_url_template_error")).to_contain_text("{room}")
    check_page(page, "video-8-admin-address-error")
