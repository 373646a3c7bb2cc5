"""R-NOTE-5: the resident's private calendar feed. A webcal:// address with a secret token shown
once (only its hash is kept), revocable and remade from the Kalender page; the feed lists exactly
the bookings the portal shows the resident, web names only, never stored by a cache, rate-limited
per token (and served when Redis is down), "not found" for any other token."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse
from icalendar import Calendar, Component

from accounts.models import ContactDetails
from bookings.models import CalendarFeed
from bookings.services import booking_cancel, booking_create, booking_create_for_resident, booking_rebook
from clinics.models import AppointmentType
from clinics.services import relation_remove

from ..factories import AppointmentTypeFactory, tomorrow_at
from ..faults.procs import free_port
from ..pages import make_slot, text

_ADDRESS = re.compile(r'value="(webcal://[^"]+)"')


def make_feed(client: Client) -> str:
    """Make a calendar address as the logged-in resident; the address the page showed."""
    response = client.post(reverse("bookings:calendar"), {"action": "create"})
    assert response.status_code == 200
    match = _ADDRESS.search(response.content.decode())
    assert match is not None
    return match[1]


def feed_path(address: str) -> str:
    return "/" + address.split("://", 1)[1].split("/", 1)[1]


def poll(address: str):
    return Client().get(feed_path(address))


def events(response) -> dict[str, Component]:
    assert response.status_code == 200
    return {str(event["UID"]): event for event in Calendar.from_ical(response.content).walk("VEVENT")}


# --- The page ------------------------------------------------------------------------------------


def test_the_start_page_links_to_the_calendar_page(resident_client):
    assert reverse("bookings:calendar") in text(resident_client.get(reverse("bookings:start")))


def test_the_address_is_webcal_shown_once_and_only_its_hash_is_kept(resident_client, resident):
    page = text(resident_client.get(reverse("bookings:calendar")))
    assert "webcal://" not in page and "Skapa en kalenderadress" in page

    address = make_feed(resident_client)

    assert address.startswith("webcal://testserver/kalender/") and address.endswith(".ics")
    token = feed_path(address).rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get(resident=resident)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(CalendarFeed.objects.filter(pk=feed.pk).values().get())
    assert resident.personnummer not in address
    again = resident_client.get(reverse("bookings:calendar")).content.decode()
    assert token not in again and "webcal://" not in again
    assert "Skapa en ny adress" in again and "Stäng av kalenderadressen" in again


def test_making_a_new_address_stops_the_old_one(resident_client, booked):
    old = make_feed(resident_client)
    new = make_feed(resident_client)

    assert old != new
    assert poll(old).status_code == 404
    assert booked.calendar_uid in events(poll(new))
    assert CalendarFeed.objects.count() == 1


def test_turning_the_address_off_makes_it_not_found(resident_client, resident, booked):
    address = make_feed(resident_client)

    response = resident_client.post(reverse("bookings:calendar"), {"action": "revoke"}, follow=True)

    assert "Din kalenderadress är avstängd" in text(response)
    assert not CalendarFeed.objects.filter(resident=resident).exists()
    assert poll(address).status_code == 404


def test_an_unknown_action_changes_nothing(resident_client, resident):
    address = make_feed(resident_client)

    response = resident_client.post(reverse("bookings:calendar"), {"action": "<script>"})

    assert response.status_code == 302
    assert poll(address).status_code == 200


def test_the_page_is_for_residents_only(db, sched):
    anonymous = Client()
    assert anonymous.get(reverse("bookings:calendar")).status_code == 302
    assert anonymous.post(reverse("bookings:calendar"), {"action": "create"}).status_code == 302
    assert sched.post(reverse("bookings:calendar"), {"action": "create"}).status_code == 403
    assert not CalendarFeed.objects.exists()


def test_the_page_in_english(resident_client, settings):
    resident_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Make a calendar address" in text(resident_client.get(reverse("bookings:calendar")))


# --- The feed ------------------------------------------------------------------------------------


def test_the_feed_lists_the_residents_visible_bookings_and_nothing_else(
    resident_client, resident, other_resident, clinic, appointment_type, resource, scheduler, booked
):
    hidden_type = AppointmentTypeFactory(
        clinic=clinic,
        web_name="Hemlig",
        hidden_for_patient=True,
        bookable_on_web=False,
        cancellable_on_web=False,
        reschedulable_on_web=False,
    )
    hidden = booking_create_for_resident(
        actor=scheduler, resident=resident, slot_id=make_slot(hidden_type, resource, tomorrow_at(14, days=2)).pk
    )
    cancelled = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, tomorrow_at(8)).pk)
    booking_cancel(actor=resident, booking_id=cancelled.pk)
    others = booking_create(resident=other_resident, slot_id=make_slot(appointment_type, resource, tomorrow_at(15)).pk)
    address = make_feed(resident_client)

    response = poll(address)

    assert response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"] == "no-store"
    listed = events(response)
    assert set(listed) == {booked.calendar_uid}
    assert hidden.calendar_uid not in listed and others.calendar_uid not in listed
    event = listed[booked.calendar_uid]
    assert str(event["SUMMARY"]) == "Besök – Vårdcentralen Solna"
    assert event.decoded("DTSTART") == booked.start
    body = response.content.decode().replace("\r\n ", "")
    assert "Uppföljning" not in body and "Hemlig" not in body
    assert resident.personnummer not in body and resident.last_name not in body


def test_each_resident_s_feed_shows_only_their_own_bookings(
    resident_client, other_client, other_resident, appointment_type, resource, booked
):
    others = booking_create(resident=other_resident, slot_id=make_slot(appointment_type, resource, tomorrow_at(15)).pk)

    mine, theirs = make_feed(resident_client), make_feed(other_client)

    assert set(events(poll(mine))) == {booked.calendar_uid}
    assert set(events(poll(theirs))) == {others.calendar_uid}


def test_the_feed_follows_the_start_page_rules(resident_client, resident, clinic, appointment_type, booked):
    address = make_feed(resident_client)
    assert set(events(poll(address))) == {booked.calendar_uid}

    # A type hidden later, or a clinic the resident removed from their start page: gone from the feed.
    AppointmentType.objects.filter(pk=appointment_type.pk).update(
        hidden_for_patient=True, bookable_on_web=False, cancellable_on_web=False, reschedulable_on_web=False
    )
    assert events(poll(address)) == {}
    AppointmentType.objects.filter(pk=appointment_type.pk).update(hidden_for_patient=False)
    relation_remove(resident=resident, clinic=clinic)
    assert events(poll(address)) == {}


def test_a_rebooked_time_moves_in_the_feed_under_the_same_uid(resident_client, resident, booked, day_slots):
    address = make_feed(resident_client)
    before = events(poll(address))[booked.calendar_uid]

    booking_rebook(resident=resident, booking_id=booked.pk, new_slot_id=day_slots[0].pk)

    after = events(poll(address))
    assert set(after) == {booked.calendar_uid}
    event = after[booked.calendar_uid]
    assert event.decoded("DTSTART") == day_slots[0].start != before.decoded("DTSTART")
    assert event.decoded("SEQUENCE") == before.decoded("SEQUENCE") + 1


@pytest.mark.parametrize(
    "token",
    ["A" * 43, "short", "A" * 42 + "!", "x" * 500],
    ids=["unknown", "too-short", "bad-character", "too-long"],
)
def test_any_other_token_is_not_found(resident_client, booked, token):
    make_feed(resident_client)

    assert Client().get(f"/kalender/{token}.ics").status_code == 404


def test_the_feed_of_a_resident_who_can_no_longer_log_in_is_not_found(resident_client, resident, booked):
    address = make_feed(resident_client)
    resident.is_active = False
    resident.save(update_fields=["is_active"])

    assert poll(address).status_code == 404


def test_the_feed_speaks_the_residents_language(resident_client, resident, booked):
    address = make_feed(resident_client)
    assert str(Calendar.from_ical(poll(address).content)["X-WR-CALNAME"]) == "Mina bokade tider (Tidbok)"

    ContactDetails.objects.create(user=resident, language="en")

    assert str(Calendar.from_ical(poll(address).content)["X-WR-CALNAME"]) == "My booked times (Tidbok)"


def test_the_feed_is_rate_limited_per_token(settings, resident_client, other_client, booked, caplog):
    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "calendar_feed": "2/min"}
    mine, theirs = make_feed(resident_client), make_feed(other_client)

    answers = [poll(mine).status_code for _ in range(3)]
    refused = poll(mine)
    # The refusal's log line would carry the path, and the path a working token.
    assert feed_path(mine) not in caplog.text

    assert answers == [200, 200, 429]
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert poll(theirs).status_code == 200  # another token has its own count


def test_the_feed_is_served_when_redis_is_down(settings, resident_client, booked):
    address = make_feed(resident_client)
    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "calendar_feed": "1/min"}
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

    # Without a place to count, the limit cannot be kept: the feed is served rather than refused.
    assert [poll(address).status_code for _ in range(3)] == [200, 200, 200]
    assert booked.calendar_uid in events(poll(address))


def test_the_feed_never_holds_a_session_or_sets_a_cookie(resident_client, booked):
    address = make_feed(resident_client)

    response = poll(address)

    assert response.status_code == 200 and not response.cookies
