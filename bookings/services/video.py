"""Video visits: clinic staff set or replace a booking's meeting link by hand (the link made from
the clinic's template is ``common._meeting_url``)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import user_has_clinic_role
from accounts.services import audit_record, resident_lock
from clinics.video import meeting_url_problem
from core.errors import BookingError, ErrorCode, ValidationFailed
from core.params import NUL_MESSAGE, has_nul

from ..models import Booking, BookingStatus
from .common import SCHEDULER_ROLES


@transaction.atomic
def booking_meeting_link_set(*, actor: User, booking_id: int, meeting_url: str) -> Booking:
    """A scheduler of the booking's clinic (R-ACL-1) gives an active video visit its meeting link,
    replaces it, or removes it with an empty link. The change is on the audit log in the same
    transaction (R-LOG-4) — what was done, never the link itself, which is the resident's secret.
    The calendar event's SEQUENCE goes up so a subscribed calendar picks up the new link (R-NOTE-5)."""
    booking = Booking.objects.select_related("clinic", "appointment_type", "resident").filter(pk=booking_id).first()
    if booking is None or not user_has_clinic_role(user=actor, clinic=booking.clinic, roles=SCHEDULER_ROLES):
        raise BookingError(ErrorCode.NOT_FOUND)
    url = (meeting_url or "").strip()
    # R-SEC-6: PostgreSQL cannot store a NUL byte: refused beside the field.
    problem = NUL_MESSAGE if has_nul(url) else meeting_url_problem(url)
    if problem is not None:
        raise ValidationFailed({"meeting_url": [problem]})
    if not booking.appointment_type.is_video_visit:
        raise ValidationFailed({"meeting_url": [_("The time is not a video visit, so it has no meeting link.")]})
    # The resident first, in the order every booking change locks (no deadlock with a rebooking): a
    # rebooking running now has either copied the link already — this then finds the booking moved
    # and refuses — or waits and carries the new link over. Never written to a booking already moved.
    resident_lock(resident=booking.resident)
    booking.refresh_from_db(fields=["status", "meeting_url", "calendar_sequence"])
    if booking.status != BookingStatus.ACTIVE:
        raise BookingError(
            ErrorCode.APPOINTMENT_IS_NOT_ALLOWED,
            _("The time is cancelled or moved: its meeting link can no longer be changed."),
        )
    if url == booking.meeting_url:
        return booking
    action = "booking.meeting_link_remove" if not url else "booking.meeting_link_set"
    detail = "replaced" if booking.meeting_url and url else ""
    booking.meeting_url = url
    booking.calendar_sequence += 1
    booking.save(update_fields=["meeting_url", "calendar_sequence"])
    audit_record(
        actor=actor, action=action, clinic=booking.clinic, resident=booking.resident, obj=booking, detail=detail
    )
    return booking
