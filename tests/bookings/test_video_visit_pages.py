"""Video visits as the resident meets them, and where the link never goes. The resident's booking
pages and API offer "Anslut till videomötet" from 15 minutes before the start until 2 hours after
(R-BOOK-5) — the server decides — and say before that from when; the resident's own calendar
files carry the link. No one else sees it: not another resident, not the web booking log, not
a message (e-mail, text message, inbox), not staff of another clinic, not the FHIR API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from icalendar import Calendar
from rest_framework.authtoken.models import Token

from accounts.models import Role, User
from bookings.models import Booking, InboxMessage
from bookings.services import booking_create, booking_create_for_resident
from core import dates
from notifications.models import NotificationEvent
from notifications.render import render
from schedules.selectors import LOCAL_TZ

from ..factories import staff, tomorrow_at
from ..pages import make_slot, text
from ..workspace import login
from .test_calendar_feed import events, make_feed, poll

pytestmark = pytest.mark.django_db

JOIN_SV, JOIN_EN = "Anslut till videomötet", "Join the video meeting"


@pytest.fixture
def soon(resident, video_type, resource):
    """Anna's video visit starting in 10 minutes: inside the join window."""
    start = (timezone.now() + dt.timedelta(minutes=10)).replace(second=0, microsecond=0)
    return booking_create(resident=resident, slot_id=make_slot(video_type, resource, start).pk)


def _href(url: str) -> str:
    return f'href="{url}"'


# --- The resident's pages (R-BOOK-5) -----------------------------------------------------------


def test_r_book_5_inside_the_window_the_booking_page_and_list_offer_to_join(resident_client, soon):
    for url in (reverse("bookings:detail", args=[soon.pk]), reverse("bookings:my_bookings")):
        page = resident_client.get(url)
        assert page.status_code == 200
        assert JOIN_SV in text(page)
        assert _href(soon.meeting_url) in page.content.decode()


def test_r_book_5_still_offered_until_2_hours_after_the_start(resident_client, soon):
    started = timezone.now() - dt.timedelta(hours=1, minutes=50)
    Booking.objects.filter(pk=soon.pk).update(start=started, end=started + dt.timedelta(minutes=20))
    page = resident_client.get(reverse("bookings:detail", args=[soon.pk]))
    assert JOIN_SV in text(page) and _href(soon.meeting_url) in page.content.decode()


def test_r_book_5_before_the_window_the_page_says_from_when_and_holds_no_link(resident_client, video_booking):
    opens = timezone.localtime(video_booking.start - dt.timedelta(minutes=15), LOCAL_TZ)
    for url in (reverse("bookings:detail", args=[video_booking.pk]), reverse("bookings:my_bookings")):
        page = resident_client.get(url)
        body = text(page)
        assert JOIN_SV not in body
        with translation.override("sv"):
            assert f"från {dates.when(opens)}, 15 minuter före" in body
        assert video_booking.meeting_url not in body


def test_the_pages_in_english(resident_client, soon, video_booking):
    resident_client.cookies["django_language"] = "en"
    body = text(resident_client.get(reverse("bookings:my_bookings"), headers={"accept-language": "en"}))
    assert JOIN_EN in body
    opens = timezone.localtime(video_booking.start - dt.timedelta(minutes=15), LOCAL_TZ)
    with translation.override("en"):
        assert f"You can join the video meeting here from {dates.when(opens)}, 15 minutes" in body


def test_a_video_visit_without_a_link_says_whom_to_call(resident_client, resident, clinic, resource, video_type):
    clinic.meeting_url_template = ""
    clinic.save()
    start = timezone.now() + dt.timedelta(minutes=5)
    booking = booking_create(resident=resident, slot_id=make_slot(video_type, resource, start).pk)
    body = text(resident_client.get(reverse("bookings:detail", args=[booking.pk])))
    assert JOIN_SV not in body and "inte lagt in någon länk" in body and clinic.phone in body


# --- The resident's calendar files and API -----------------------------------------------------


def test_the_calendar_file_and_feed_carry_the_link(resident_client, video_booking, booked):
    single = resident_client.get(reverse("bookings:ics", args=[video_booking.pk]))
    [event] = Calendar.from_ical(single.content).walk("VEVENT")
    assert str(event["CONFERENCE"]) == video_booking.meeting_url
    listed = events(poll(make_feed(resident_client)))
    assert str(listed[video_booking.calendar_uid]["CONFERENCE"]) == video_booking.meeting_url
    assert "CONFERENCE" not in listed[booked.calendar_uid]  # not a video visit


def test_r_book_5_the_api_gives_the_link_only_inside_the_window(resident, soon, video_booking):
    token, _created = Token.objects.get_or_create(user=resident)
    app = Client(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    listed = {row["id"]: row for row in app.get("/api/v1/bookings/").json()}
    now_open, later = listed[soon.pk], listed[video_booking.pk]
    assert now_open["video_visit"] is True and now_open["meeting"]["url"] == soon.meeting_url
    assert later["meeting"]["url"] is None and later["meeting"]["has_link"] is True
    joinable_from = dt.datetime.fromisoformat(later["meeting"]["joinable_from"])
    assert joinable_from == video_booking.start - dt.timedelta(minutes=15)
    assert video_booking.meeting_url not in app.get(f"/api/v1/bookings/{video_booking.pk}/").content.decode()


# --- Never anyone else's -----------------------------------------------------------------------


def test_another_resident_never_sees_the_link(other_client, soon):
    assert other_client.get(reverse("bookings:detail", args=[soon.pk])).status_code == 404
    assert other_client.get(reverse("bookings:ics", args=[soon.pk])).status_code == 404
    assert soon.meeting_url not in other_client.get(reverse("bookings:my_bookings")).content.decode()
    assert soon.meeting_url not in poll(make_feed(other_client)).content.decode()


def test_messages_say_it_is_a_video_visit_but_never_carry_the_link(resident, scheduler, video_type, resource):
    booking = booking_create_for_resident(
        actor=scheduler, resident=resident, slot_id=make_slot(video_type, resource, tomorrow_at(10, days=2)).pk
    )
    assert booking.meeting_url
    message = InboxMessage.objects.get(booking=booking)
    assert "videobesök" in message.body and booking.meeting_url not in message.body
    room = booking.meeting_url.rsplit("/", 1)[1]
    for event in NotificationEvent.objects.filter(booking=booking):
        for language in ("sv", "en"):
            rendered = render(event, language=language)
            everything = [rendered.subject, rendered.text, rendered.html, rendered.sms, (rendered.ics or b"").decode()]
            assert not any(room in part for part in everything), (event.kind, language)
            assert any("video" in line.lower() for line in rendered.lines)


def test_the_web_booking_log_never_shows_the_link(client, resident, video_clinic, video_booking):
    support = staff(Role.SUPPORT, video_clinic)
    login(client, support)
    page = client.get(reverse("workspace:web_log", args=[video_clinic.pk]))
    assert page.status_code == 200 and resident.last_name in text(page)
    csv = client.get(reverse("workspace:web_log_csv", args=[video_clinic.pk]))
    assert csv.status_code == 200
    room = video_booking.meeting_url.rsplit("/", 1)[1]
    assert room not in page.content.decode() and room not in csv.content.decode()


def test_staff_of_another_clinic_never_see_the_link(client, other_clinic, video_booking):
    other = staff(Role.SCHEDULER, other_clinic)
    login(client, other)
    for url in (
        reverse("workspace:booking_detail", args=[other_clinic.pk, video_booking.pk]),
        f"/api/v1/staff/clinics/{other_clinic.pk}/bookings/{video_booking.pk}/",
        f"/api/v1/staff/clinics/{video_booking.clinic_id}/bookings/{video_booking.pk}/",
    ):
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert video_booking.meeting_url not in response.content.decode()


def test_the_fhir_api_never_carries_the_link(resident, video_booking, video_type):
    token, _created = Token.objects.get_or_create(user=resident)
    app = Client(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    room = video_booking.meeting_url.rsplit("/", 1)[1]
    for url in (f"/fhir/r4/Appointment/{video_booking.pk}", "/fhir/r4/Appointment", "/fhir/r4/Slot"):
        response = app.get(url)
        assert response.status_code == 200, url
        assert room not in response.content.decode(), url


def test_a_proxy_booker_never_sees_the_link(client, resident, video_clinic, video_booking):
    booker = staff(Role.PROXY_BOOKER, video_clinic, unit_name="1177 Vårdguiden på telefon")
    login(client, booker)
    response = client.post(
        "/api/v1/proxy/residents/search/", {"personnummer": resident.personnummer}, content_type="application/json"
    )
    assert response.status_code == 200
    assert video_booking.meeting_url.rsplit("/", 1)[1] not in response.content.decode()


def test_the_django_admin_never_shows_the_link(client, video_booking):
    root = User.objects.create_superuser("root", "root@tidbok.test", "a-long-admin-password-2026")
    login(client, root)
    page = client.get(f"/admin/bookings/booking/{video_booking.pk}/change/")
    assert page.status_code == 200
    assert video_booking.meeting_url.rsplit("/", 1)[1] not in page.content.decode()
