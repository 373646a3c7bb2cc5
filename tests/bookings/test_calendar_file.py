"""R-NOTE-5: a booking's calendar event, parsed back with icalendar. One UID for the booking's
whole life, a higher SEQUENCE on each change, METHOD:CANCEL for a cancellation, and only what the
resident sees on the web."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.urls import reverse
from icalendar import Calendar

from bookings import ics
from bookings.models import Booking
from bookings.services import booking_cancel, booking_create, booking_rebook
from schedules.selectors import LOCAL_TZ

from ..factories import tomorrow_at
from ..pages import make_slot


def parse(payload: bytes) -> tuple[Calendar, list]:
    calendar = Calendar.from_ical(payload)
    return calendar, list(calendar.walk("VEVENT"))


@pytest.fixture
def rebook_slot(appointment_type, resource):
    return make_slot(appointment_type, resource, tomorrow_at(11, 0, days=4))


def test_a_rebooking_keeps_the_uid_with_a_higher_sequence(resident, booked, rebook_slot):
    _, [first] = parse(ics.booking_ics(booked))

    moved = booking_rebook(resident=resident, booking_id=booked.pk, new_slot_id=rebook_slot.pk)
    calendar, [event] = parse(ics.booking_ics(moved))

    assert moved.pk != booked.pk
    assert str(event["UID"]) == str(first["UID"]) == booked.calendar_uid
    assert int(event["SEQUENCE"]) == int(first["SEQUENCE"]) + 1
    assert event.decoded("DTSTART") == rebook_slot.start
    assert str(calendar["METHOD"]) == "PUBLISH" and str(event["STATUS"]) == "CONFIRMED"


def test_a_second_rebooking_still_keeps_the_first_uid(resident, booked, rebook_slot, appointment_type, resource):
    third = make_slot(appointment_type, resource, tomorrow_at(13, 0, days=4))
    moved = booking_rebook(resident=resident, booking_id=booked.pk, new_slot_id=rebook_slot.pk)
    moved_again = booking_rebook(resident=resident, booking_id=moved.pk, new_slot_id=third.pk)

    _, [event] = parse(ics.booking_ics(moved_again))

    assert str(event["UID"]) == booked.calendar_uid
    assert int(event["SEQUENCE"]) == 2


def test_new_bookings_get_uids_of_their_own(resident, other_resident, booked, rebook_slot):
    other = booking_create(resident=other_resident, slot_id=rebook_slot.pk)

    assert other.calendar_uid != booked.calendar_uid
    assert booked.calendar_uid.endswith("@tidbok")


def test_a_cancellation_is_method_cancel_with_the_same_uid_and_a_higher_sequence(resident, booked):
    _, [before] = parse(ics.booking_ics(booked))

    cancelled = booking_cancel(actor=resident, booking_id=booked.pk)
    stored = Booking.objects.get(pk=booked.pk)
    calendar, [event] = parse(ics.booking_ics(stored))

    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == str(before["UID"])
    assert int(event["SEQUENCE"]) == int(before["SEQUENCE"]) + 1 == cancelled.calendar_sequence
    # RFC 5546: a CANCEL names its organizer.
    assert "ORGANIZER" in event


def test_a_staff_cancellation_also_raises_the_sequence(scheduler, booked):
    booking_cancel(actor=scheduler, booking_id=booked.pk)

    _, [event] = parse(ics.booking_ics(Booking.objects.get(pk=booked.pk)))

    assert int(event["SEQUENCE"]) == 1 and str(event["STATUS"]) == "CANCELLED"


def test_the_event_names_only_what_the_web_shows(settings, resident, clinic, appointment_type, resource):
    settings.TIDBOK_PUBLIC_URL = "https://tidbok.example.se"
    clinic.street_address, clinic.postal_code, clinic.town = "Storgatan 1", "171 45", "Solna"
    clinic.patient_comment_on_web = True
    clinic.save()
    slot = make_slot(appointment_type, resource, tomorrow_at(9, 0, days=3))
    booking = booking_create(resident=resident, slot_id=slot.pk, phone="070-123 45 67", reason="Ont i knät sedan maj")

    payload = ics.booking_ics(booking)
    _, [event] = parse(payload)
    flat = payload.decode().replace("\r\n ", "")

    assert str(event["SUMMARY"]) == "Besök – Vårdcentralen Solna"
    assert str(event["LOCATION"]) == "Vårdcentralen Solna, Storgatan 1, 171 45 Solna"
    assert str(event["URL"]) == f"https://tidbok.example.se{reverse('bookings:detail', args=[booking.pk])}"
    assert "Uppföljning" not in flat  # the timebook's internal name
    assert "knät" not in flat and "070-123" not in flat  # the reason and phone given when booking
    assert resident.personnummer not in flat
    assert resident.last_name not in flat


def test_times_are_utc_and_right_across_the_daylight_saving_change(resident, appointment_type, resource):
    # 28 March 2027: Stockholm goes from UTC+1 to UTC+2 at 02:00 local time.
    start = dt.datetime(2027, 3, 28, 1, 30, tzinfo=LOCAL_TZ)
    booking = Booking(
        resident=resident,
        clinic=appointment_type.clinic,
        appointment_type=appointment_type,
        resource=resource,
        start=start,
        end=dt.datetime(2027, 3, 28, 4, 0, tzinfo=LOCAL_TZ),
    )

    payload = ics.booking_ics(booking).decode()
    _, [event] = parse(payload.encode())

    assert "\r\nDTSTART:20270328T003000Z\r\n" in payload
    assert "\r\nDTEND:20270328T020000Z\r\n" in payload
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(hours=1, minutes=30)


def test_a_meeting_link_and_an_attendee_can_be_added_for_an_e_mail(booked):
    payload = ics.booking_ics(
        booked, method="REQUEST", meeting_url="https://video.example.se/m/abc", attendee_email="anna@example.se"
    )
    calendar, [event] = parse(payload)

    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["CONFERENCE"]) == "https://video.example.se/m/abc"
    assert "https://video.example.se/m/abc" in str(event["DESCRIPTION"])
    assert str(event["ATTENDEE"]) == "mailto:anna@example.se"


def test_the_download_is_the_same_event(resident_client, booked):
    response = resident_client.get(reverse("bookings:ics", args=[booked.pk]))

    _, [event] = parse(response.content)
    assert str(event["UID"]) == booked.calendar_uid


def test_the_migration_gives_old_bookings_their_old_uid_and_chains_one_uid(resident, booked, rebook_slot):
    """Bookings from before the stable UID keep ``booking-<id>@tidbok``, which their .ics had, and
    a rebooking chain shares its first booking's UID."""
    moved = booking_rebook(resident=resident, booking_id=booked.pk, new_slot_id=rebook_slot.pk)
    booking_cancel(actor=resident, booking_id=moved.pk)
    Booking.objects.update(calendar_uid="", calendar_sequence=0)
    migration = importlib.import_module("bookings.migrations.0007_booking_calendar_uid_and_sequence")

    migration.backfill(apps, None)

    first, second = Booking.objects.get(pk=booked.pk), Booking.objects.get(pk=moved.pk)
    assert first.calendar_uid == second.calendar_uid == f"booking-{booked.pk}@tidbok"
    assert (first.calendar_sequence, second.calendar_sequence) == (0, 2)


def test_a_discreet_event_names_only_the_clinic(booked):
    payload = ics.booking_ics(booked, discreet=True)
    _, [event] = parse(payload)
    flat = payload.decode().replace("\r\n ", "")

    assert str(event["SUMMARY"]) == "Vårdcentralen Solna"
    assert "Besök" not in flat and "Distriktssköterska" not in flat and "Kom tio minuter" not in flat
    assert str(event["UID"]) == booked.calendar_uid


def test_the_feed_carries_a_video_visit_s_link_for_that_booking_only(booked, resident, rebook_slot):
    other = booking_create(resident=resident, slot_id=rebook_slot.pk)

    payload = ics.bookings_feed_ics(
        [booked, other], name="Mina bokade tider", meeting_urls={booked.pk: "https://video.example.se/m/abc"}
    )
    by_uid = {str(event["UID"]): event for event in Calendar.from_ical(payload).walk("VEVENT")}

    assert str(by_uid[booked.calendar_uid]["CONFERENCE"]) == "https://video.example.se/m/abc"
    assert "CONFERENCE" not in by_uid[other.calendar_uid]
