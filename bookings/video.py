"""Video visits as the resident meets them: when a booking's meeting link may be used, and the link
for the resident's own calendar (R-BOOK-5). One place decides, so the booking pages, the resident
API and the calendar files agree.

The link is the resident's secret: these selectors hand it out only for a booking the caller
already found among the resident's own (``bookings_for_resident``); staff of the clinic read it on
the booking itself, and nothing else — messages, the web booking log, the FHIR feed — carries it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext

from .models import Booking
from .selectors import VIEW_AFTER_START

# Residents join a little early, as they would sit down in a waiting room.
JOIN_BEFORE_START = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class MeetingJoin:
    """A video visit's meeting for the resident: ``url`` is the link inside the join window (from
    15 minutes before the start until 2 hours after, R-BOOK-5) and "" outside it or while the
    clinic has given no link (``has_link``)."""

    opens_at: dt.datetime
    closes_at: dt.datetime
    has_link: bool
    url: str

    @property
    def is_open(self) -> bool:
        return bool(self.url)

    @property
    def not_yet(self) -> bool:
        return not self.url and self.has_link


def meeting_join_for_resident(*, booking: Booking, now: dt.datetime | None = None) -> MeetingJoin | None:
    """The meeting of one of the resident's own bookings, or None when it is not a video visit.
    The server decides the window: a page loaded before it opens shows when it will."""
    if not booking.appointment_type.is_video_visit:
        return None
    now = now or timezone.now()
    opens_at, closes_at = booking.start - JOIN_BEFORE_START, booking.start + VIEW_AFTER_START
    in_window = opens_at <= now < closes_at
    return MeetingJoin(
        opens_at=opens_at,
        closes_at=closes_at,
        has_link=bool(booking.meeting_url),
        url=booking.meeting_url if in_window else "",
    )


def meeting_url_for_calendar(*, booking: Booking) -> str:
    """The link in the resident's own calendar file for the booking: whenever there is one, since a
    calendar is read at the time of the visit."""
    return booking.meeting_url if booking.appointment_type.is_video_visit else ""


def meeting_urls_for_calendar(*, bookings: Iterable[Booking]) -> dict[int, str]:
    """``meeting_url_for_calendar`` for each of the resident's bookings in a calendar feed, by id."""
    return {booking.pk: url for booking in bookings if (url := meeting_url_for_calendar(booking=booking))}


def video_visit_note() -> str:
    """What messages about a video visit say instead of the link (R-NOTE-2): where to find it. A
    message may be read by others (a shared phone, a forwarded e-mail), the booking page only by
    the resident, logged in."""
    return gettext(
        "This is a video visit. Join the meeting from the time's page under My booked times in Tidbok, "
        "from 15 minutes before the start."
    )
