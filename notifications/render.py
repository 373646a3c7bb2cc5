"""The texts of e-mails and text messages, in the resident's language (R-NOTE-2).

They say what happened, when and where, and how to cancel or rebook (a link into the portal).
They never carry the reason for the visit or a personnummer, and for a discreet appointment type
they name only the clinic, not the type. Only what the resident sees on the web goes in (the
type's web name, never its name in the timebook).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from bookings.ics import booking_ics, clinic_address, clinic_place
from bookings.models import Booking
from bookings.services import NotificationKind, NotifiedBy
from bookings.video import video_visit_note
from core import dates
from core.public_url import public_url

from .models import NotificationEvent


@dataclass(frozen=True)
class Rendered:
    subject: str
    lines: list[str]
    link_text: str
    link: str
    sms: str
    text: str
    html: str
    ics: bytes | None


def _url(path: str) -> str:
    return public_url(path)


def _headline(event: NotificationEvent, clinic: str) -> str:
    kind, by = event.kind, event.by
    if kind == NotificationKind.BOOKED:
        if by == NotifiedBy.RESIDENT:
            return gettext("Your time at %(clinic)s is booked.") % {"clinic": clinic}
        return gettext("A time at %(clinic)s has been booked for you.") % {"clinic": clinic}
    if kind == NotificationKind.SUMMONS:
        return gettext("%(clinic)s has booked a time for you.") % {"clinic": clinic}
    if kind == NotificationKind.REBOOKED:
        return gettext("Your time at %(clinic)s has been moved.") % {"clinic": clinic}
    if kind == NotificationKind.CANCELLED:
        if by == NotifiedBy.RESIDENT:
            return gettext("You have cancelled your time at %(clinic)s.") % {"clinic": clinic}
        return gettext("%(clinic)s has cancelled your time.") % {"clinic": clinic}
    if kind == NotificationKind.REMINDER:
        return gettext("Reminder: you have a time at %(clinic)s.") % {"clinic": clinic}
    if kind == NotificationKind.OPEN_SUMMONS:
        return gettext("%(clinic)s asks you to book a time.") % {"clinic": clinic}
    if kind == NotificationKind.WAITLIST_OFFER:
        return gettext("A time at %(clinic)s has become free and is offered to you from the waitlist.") % {
            "clinic": clinic
        }
    return gettext("%(clinic)s has sent you a message in Tidbok.") % {"clinic": clinic}


def _subject(event: NotificationEvent, clinic: str, booking: Booking | None) -> str:
    date = dates.when(booking.start, "day") if booking else ""
    values = {"clinic": clinic, "date": date}
    if booking is not None and event.kind in (NotificationKind.BOOKED, NotificationKind.SUMMONS):
        return gettext("Booked time %(date)s, %(clinic)s") % values
    if booking is not None and event.kind == NotificationKind.REBOOKED:
        return gettext("Moved time %(date)s, %(clinic)s") % values
    if booking is not None and event.kind == NotificationKind.CANCELLED:
        return gettext("Cancelled time %(date)s, %(clinic)s") % values
    if booking is not None and event.kind == NotificationKind.REMINDER:
        return gettext("Reminder: time %(date)s, %(clinic)s") % values
    if event.kind == NotificationKind.OPEN_SUMMONS:
        return gettext("Book a time at %(clinic)s") % values
    if event.kind == NotificationKind.WAITLIST_OFFER:
        return gettext("A free time for you at %(clinic)s") % values
    return gettext("New message from %(clinic)s") % values


def _offer_lines(event: NotificationEvent) -> list[str]:
    """R-WAIT-3: when, where and what the offered time is, and until when it is kept."""
    lines = [
        gettext("When: %(when)s") % {"when": dates.when(dt.datetime.fromisoformat(event.detail["start"]))},
        gettext("Where: %(where)s") % {"where": clinic_place(event.clinic)},
    ]
    if event.detail.get("what"):
        lines.append(gettext("What: %(what)s") % {"what": event.detail["what"]})
    until = dt.datetime.fromisoformat(event.detail["expires_at"])
    lines.append(gettext("Kept for you until %(time)s") % {"time": dates.when(until, "time")})
    return lines


def render(event: NotificationEvent, *, language: str) -> Rendered:
    with translation.override(language):
        return _render(event)


def _render(event: NotificationEvent) -> Rendered:
    booking = event.booking
    clinic = event.clinic.name
    lines: list[str] = []
    if booking is not None and event.kind != NotificationKind.CLINIC_MESSAGE:
        lines.append(gettext("When: %(when)s") % {"when": dates.when(booking.start)})
        lines.append(gettext("Where: %(where)s") % {"where": clinic_address(booking)})
        discreet = booking.appointment_type.discreet
        if not discreet and booking.appointment_type.web_name:
            lines.append(gettext("What: %(what)s") % {"what": booking.appointment_type.web_name})
        if booking.appointment_type.is_video_visit and event.kind != NotificationKind.CANCELLED:
            lines.append(video_visit_note())  # never the link itself
        previous = event.detail.get("previous_start") if event.kind == NotificationKind.REBOOKED else None
        if previous:
            lines.append(gettext("Before: %(when)s") % {"when": dates.when(dt.datetime.fromisoformat(previous))})
    if event.kind == NotificationKind.WAITLIST_OFFER:
        lines.extend(_offer_lines(event))
    if event.kind == NotificationKind.CANCELLED and event.reason:
        lines.append(gettext("The clinic's reason: %(reason)s") % {"reason": event.reason})

    if event.kind == NotificationKind.WAITLIST_OFFER:
        # R-WAIT-3: the offer's own link (a random token, never the personnummer); it asks for login.
        link_text, link = gettext("Book the time or say no in Tidbok:"), _url(event.detail["path"])
    elif event.kind == NotificationKind.OPEN_SUMMONS:
        link_text = gettext("Book a time in Tidbok:")
        link = _url(event.detail.get("path") or reverse("clinics:detail", args=[event.clinic_id]))
    elif event.kind == NotificationKind.CLINIC_MESSAGE or (booking is None and event.message_id):
        link_text, link = gettext("Read the message in Tidbok:"), _url(reverse("bookings:inbox"))
    elif event.kind == NotificationKind.CANCELLED or booking is None:
        link_text, link = gettext("Book a new time in Tidbok:"), _url(reverse("clinics:detail", args=[event.clinic_id]))
    else:
        link_text = gettext("See, cancel or rebook the time in Tidbok:")
        link = _url(reverse("bookings:detail", args=[booking.pk]))

    headline = _headline(event, clinic)
    subject = _subject(event, clinic, booking)
    sms = " ".join([headline, *(f"{line}." if not line.endswith(".") else line for line in lines), link_text, link])
    context = {"headline": headline, "lines": lines, "link_text": link_text, "link": link, "subject": subject}
    text = render_to_string("notifications/email.txt", context)
    html = render_to_string("notifications/email.html", context)
    ics = None
    if booking is not None and event.kind != NotificationKind.CLINIC_MESSAGE:
        # A discreet type's event names only the clinic, like the message it comes with.
        ics = booking_ics(booking, discreet=booking.appointment_type.discreet)
    return Rendered(
        subject=subject, lines=lines, link_text=link_text, link=link, sms=sms, text=text, html=html, ics=ics
    )
