"""The resident's inbox (R-BOOK-9, R-REL-1); what residents are told about it goes through .notify."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.selectors import user_has_clinic_role
from accounts.services import audit_record
from clinics.models import Clinic, RelationSource
from clinics.services import relation_add
from core import dates
from core.errors import BookingError, ErrorCode, PermissionDeniedError, ValidationFailed

from ..models import (
    Booking,
    BookingBasis,
    InboxMessage,
    MessageKind,
)
from ..selectors import inbox_for_resident
from ..video import video_visit_note
from .notify import NotificationKind, NotifiedBy, notification_record

logger = logging.getLogger(__name__)

# --- Inbox (R-BOOK-9, R-REL-1) ------------------------------------------------------------------


def inbox_message_send(
    *,
    resident: User,
    clinic: Clinic | None,
    kind: MessageKind,
    subject: str,
    body: str,
    booking: Booking | None = None,
    booking_basis: BookingBasis | None = None,
    notify: bool = True,
) -> InboxMessage:
    """A message in the resident's inbox, from ``clinic`` (None: from Tidbok itself). ``notify``:
    tell them by e-mail and SMS that a message from the clinic is waiting (R-NOTE-2); a caller that
    tells them about the booking itself (a summons, a cancellation) passes False and records its
    own notification."""
    message = InboxMessage.objects.create(
        resident=resident,
        clinic=clinic,
        kind=kind,
        subject=subject[:200],
        body=body,
        booking=booking,
        booking_basis=booking_basis,
    )
    if clinic is None:
        return message  # Tidbok's own message (R-POA-1): no clinic relation, no clinic's notification
    # R-REL-1: a summons, timed or open, creates the relation (guide 001).
    if kind in (MessageKind.SUMMONS, MessageKind.OPEN_SUMMONS):
        relation_add(resident=resident, clinic=clinic, source=RelationSource.SUMMONS)
    if notify and kind == MessageKind.OPEN_SUMMONS:
        # The e-mail and SMS link to the message, whose "Boka tid" opens the booking (R-NOTE-2).
        notification_record(
            NotificationKind.OPEN_SUMMONS,
            resident_id=resident.pk,
            clinic_id=clinic.pk,
            message=message,
            detail={"path": reverse("bookings:message", args=[message.pk])},
        )
    elif notify:
        notification_record(
            NotificationKind.CLINIC_MESSAGE, resident_id=resident.pk, clinic_id=clinic.pk, message=message
        )
    return message


def _send_booking_message(
    *, booking: Booking, kind: MessageKind, by: NotifiedBy = NotifiedBy.CLINIC, reason: str = ""
) -> InboxMessage | None:
    """R-BOOK-9: tell the resident when the clinic books or cancels for them; never about a
    type hidden for patients (R-TYPE-2), not even by an e-mail saying a message is waiting.
    The e-mail and SMS say what happened (R-NOTE-2), with the clinic's ``reason`` for a
    cancellation when it gave one."""
    if booking.appointment_type.hidden_for_patient:
        return None
    # Residents never see the internal type name (R-TYPE-1).
    what = booking.appointment_type.web_name or gettext("Visit")
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "what": what,
            "clinic": booking.clinic.name,
            "date": dates.when(booking.start, "date"),
            "when": dates.when(booking.start),
        }
        if kind == MessageKind.SUMMONS:
            subject = gettext("Booked time: %(what)s, %(date)s") % values
            body = (
                gettext(
                    "%(clinic)s has booked a time for you: %(what)s, %(when)s. "
                    "You can see the time under your booked times."
                )
                % values
            )
            if booking.appointment_type.is_video_visit:
                body = f"{body}\n\n{video_visit_note()}"  # never the link itself
        else:
            subject = gettext("Cancelled time: %(what)s, %(date)s") % values
            body = (
                gettext(
                    "%(clinic)s has cancelled your time: %(what)s, %(when)s. Contact the clinic if you have questions."
                )
                % values
            )
            if reason:
                # The reason staff gave reaches the resident in the message itself, not only by e-mail or SMS.
                # Outside the f-string: makemessages does not look inside one.
                reason_line = gettext("Reason from the clinic: %(reason)s") % {"reason": reason}
                body = f"{body}\n\n{reason_line}"
    message = inbox_message_send(
        resident=booking.resident,
        clinic=booking.clinic,
        kind=kind,
        subject=subject,
        body=body,
        booking=booking,
        notify=False,
    )
    if kind == MessageKind.CANCELLATION:
        notify_kind = NotificationKind.CANCELLED
    else:
        notify_kind = NotificationKind.BOOKED if by == NotifiedBy.PROXY else NotificationKind.SUMMONS
    notification_record(
        notify_kind,
        resident_id=booking.resident_id,
        clinic_id=booking.clinic_id,
        booking=booking,
        message=message,
        by=by,
        reason=reason,
    )
    return message


def inbox_mark_read(*, resident: User, message_id: int, now: dt.datetime | None = None) -> InboxMessage:
    message = inbox_for_resident(resident=resident).filter(pk=message_id).first()
    if message is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    if message.read_at is None:
        message.read_at = now or timezone.now()
        message.save(update_fields=["read_at"])
    return message


CLINIC_MESSAGE_ROLES = (Role.SCHEDULER, Role.LOCAL_ADMIN, Role.REGION_IT)
SUBJECT_MAX_LENGTH = 100
BODY_MAX_LENGTH = 2000


@transaction.atomic
def clinic_message_send(*, actor: User, clinic: Clinic, resident: User, subject: str, body: str) -> InboxMessage:
    """Staff write to a resident's inbox (guide 001). There is no reply channel: the message page
    tells the resident how to reach the clinic. On the audit log in the same transaction (R-LOG-4);
    the "new message" e-mail goes through the outbox after the commit."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=CLINIC_MESSAGE_ROLES):
        raise PermissionDeniedError()
    subject, body = " ".join(subject.split()), body.strip()
    errors: dict[str, list[Any]] = {}
    if not subject:
        errors["subject"] = [_("Write a subject.")]
    elif len(subject) > SUBJECT_MAX_LENGTH:
        errors["subject"] = [_("Keep the subject to at most %(max)d characters.") % {"max": SUBJECT_MAX_LENGTH}]
    if not body:
        errors["body"] = [_("Write the message.")]
    elif len(body) > BODY_MAX_LENGTH:
        errors["body"] = [_("Keep the message to at most %(max)d characters.") % {"max": BODY_MAX_LENGTH}]
    if errors:
        raise ValidationFailed(errors)
    message = inbox_message_send(resident=resident, clinic=clinic, kind=MessageKind.INFO, subject=subject, body=body)
    audit_record(actor=actor, action="message.send", clinic=clinic, resident=resident, obj=message)
    return message
