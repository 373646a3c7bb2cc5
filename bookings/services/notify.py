"""The one door through which a booking change tells the resident (R-NOTE-2, R-NOTE-3).

Every service that books, rebooks, cancels, summons or sends a message from the clinic calls
:func:`notification_record` inside its own transaction. It writes an outbox row naming the
notifications app's task (which sits above bookings, so it is named, not imported): the
notification exists exactly when the change does, even with Redis down, and a rolled-back change
tells nobody. The task turns the row into one message per channel the resident has verified,
idempotently (the row carries its own key), and delivers them.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.outbox.services import outbox_add

from ..models import Booking, InboxMessage

RECORD_TASK = "notifications.tasks.notification_event_record"


class NotificationKind(models.TextChoices):
    BOOKED = "booked", _("Booking made")
    REBOOKED = "rebooked", _("Rebooking")
    CANCELLED = "cancelled", _("Cancellation")
    SUMMONS = "summons", _("Summons")
    OPEN_SUMMONS = "open_summons", _("Invitation to book")
    CLINIC_MESSAGE = "clinic_message", _("Message from the clinic")
    REMINDER = "reminder", _("Reminder")
    WAITLIST_OFFER = "waitlist_offer", _("Offer from the waitlist")


class NotifiedBy(models.TextChoices):
    """Who made the change, for the wording ("you have booked" / "the clinic has booked")."""

    RESIDENT = "resident", _("Resident")
    CLINIC = "clinic", _("Clinic")
    PROXY = "proxy", _("Proxy booker")


def notification_record(
    kind: NotificationKind,
    *,
    resident_id: int,
    clinic_id: int,
    booking: Booking | None = None,
    message: InboxMessage | None = None,
    by: NotifiedBy = NotifiedBy.CLINIC,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Record that the resident is to be told about ``kind`` once the transaction commits.

    ``reason`` is the clinic's reason for a cancellation (never the resident's reason for the
    visit); ``detail`` carries what a new kind needs (JSON-able). A booking of a type hidden for
    the patient is never told about (R-TYPE-2)."""
    if booking is not None and booking.appointment_type.hidden_for_patient:
        return
    payload: dict[str, Any] = {
        "key": uuid.uuid4().hex,
        "kind": str(kind),
        "resident_id": resident_id,
        "clinic_id": clinic_id,
        "booking_id": booking.pk if booking is not None else None,
        "message_id": message.pk if message is not None else None,
        "by": str(by),
        "reason": reason[:500],
        "detail": detail or {},
    }
    outbox_add(name=RECORD_TASK, args=[payload])
