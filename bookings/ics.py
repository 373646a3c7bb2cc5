"""iCalendar (RFC 5545) for bookings: one booking as a file or an e-mail attachment, and a
resident's private feed (R-NOTE-5).

Each booking keeps one UID for its whole life (``Booking.calendar_uid``, carried across a
rebooking) and a SEQUENCE that grows with each change, so a calendar that already holds the event
moves it or removes it instead of keeping a stale copy beside the new one. Only what the resident
sees on the web goes in: the type's web name, the clinic and its address, the resource; never the
personnummer or the reason the resident gave for the visit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from email.utils import parseaddr
from typing import Literal

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from icalendar import Calendar, Event, vCalAddress, vText, vUri

from clinics.models import Clinic
from core.public_url import public_base_url

from .models import Booking, BookingStatus

PRODID = "-//Tidbok//Tidbok//SV"
Method = Literal["PUBLISH", "REQUEST", "CANCEL"]


def clinic_address(booking: Booking) -> str:
    return clinic_place(booking.clinic)


def clinic_place(clinic: Clinic) -> str:
    """The clinic's name and address on one line."""
    town = f"{clinic.postal_code} {clinic.town}".strip()
    return ", ".join(part for part in (clinic.name, clinic.street_address, town) if part)


def _booking_url(booking: Booking) -> str:
    # Links in a file that leaves the site need the public address; without one (or without a
    # saved booking to show) the event has none.
    base = public_base_url()
    return f"{base}{reverse('bookings:detail', args=[booking.pk])}" if base and booking.pk else ""


def _organizer(booking: Booking) -> vCalAddress:
    # iTIP (RFC 5546) wants an ORGANIZER on REQUEST and CANCEL; the clinic "sends" the event from
    # the address Tidbok sends its e-mail from.
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@tidbok.invalid"
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = vText(booking.clinic.name)
    return organizer


def _calendar(method: Method | None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def booking_event(
    booking: Booking,
    *,
    cancelled: bool | None = None,
    meeting_url: str = "",
    attendee_email: str = "",
    discreet: bool = False,
    stamp: dt.datetime | None = None,
) -> Event:
    """The VEVENT of one booking. ``cancelled`` defaults to the booking's own status. A
    ``discreet`` event names only the clinic: no type, no resource, no information text, since a
    calendar is often seen by others (a shared family calendar, a lock screen)."""
    if cancelled is None:
        cancelled = booking.status == BookingStatus.CANCELLED
    appointment_type = booking.appointment_type
    event = Event()
    event.add("uid", booking.calendar_uid)
    event.add("sequence", booking.calendar_sequence)
    event.add("dtstamp", (stamp or timezone.now()).astimezone(dt.UTC))
    # UTC needs no VTIMEZONE and is read right by every calendar, across daylight-saving changes too.
    event.add("dtstart", booking.start.astimezone(dt.UTC))
    event.add("dtend", booking.end.astimezone(dt.UTC))
    if discreet:
        event.add("summary", booking.clinic.name)
        description = []
    else:
        event.add("summary", f"{appointment_type.web_name} – {booking.clinic.name}")
        description = [appointment_type.web_info, booking.resource.name]
    event.add("location", clinic_address(booking))
    if meeting_url:
        description.append(gettext("Video meeting: %(url)s") % {"url": meeting_url})
        # RFC 7986: calendars that know CONFERENCE show a join button.
        event.add("conference", vUri(meeting_url), parameters={"value": "URI", "feature": "VIDEO"})
    url = _booking_url(booking)
    if url:
        description.append(gettext("Cancel or rebook: %(url)s") % {"url": url})
        event.add("url", vUri(url), parameters={"value": "URI"})
    event.add("description", "\n".join(part for part in description if part))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", _organizer(booking))
    if attendee_email:
        attendee = vCalAddress(f"mailto:{attendee_email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("ACCEPTED")
        event.add("attendee", attendee)
    return event


def booking_ics(
    booking: Booking,
    *,
    method: Method | None = None,
    meeting_url: str = "",
    attendee_email: str = "",
    discreet: bool = False,
) -> bytes:
    """One booking as an iCalendar object, for the download and for e-mails.

    ``method`` defaults to CANCEL for a cancelled booking and PUBLISH otherwise; an e-mail that
    invites may pass REQUEST (with ``attendee_email``). A rebooking is the new booking's file: it
    carries the old UID with a higher SEQUENCE, so calendars move the event.
    """
    if method is None:
        method = "CANCEL" if booking.status == BookingStatus.CANCELLED else "PUBLISH"
    calendar = _calendar(method)
    calendar.add_component(
        booking_event(
            booking,
            cancelled=method == "CANCEL",
            meeting_url=meeting_url,
            attendee_email=attendee_email,
            discreet=discreet,
        )
    )
    return calendar.to_ical()


def bookings_feed_ics(
    bookings: Iterable[Booking], *, name: str, meeting_urls: Mapping[int, str] | None = None
) -> bytes:
    """A resident's calendar feed: every booking given, one event each (R-NOTE-5). Feeds are
    polled, so they carry no METHOD; an event that is no longer listed is gone from the calendar.
    ``meeting_urls`` gives a video visit's link by booking id."""
    calendar = _calendar(None)
    calendar.add("x-wr-calname", name)
    calendar.add("name", name)
    # Ask apps to poll about hourly; the feed is rate-limited per token anyway.
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"value": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    stamp = timezone.now()
    for booking in bookings:
        meeting_url = (meeting_urls or {}).get(booking.pk, "")
        calendar.add_component(booking_event(booking, stamp=stamp, meeting_url=meeting_url))
    return calendar.to_ical()
