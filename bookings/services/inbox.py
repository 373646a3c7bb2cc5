"""The resident's inbox and its notifications (R-BOOK-9, R-REL-1)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from clinics.models import Clinic, RelationSource
from clinics.services import relation_add
from core.errors import BookingError, ErrorCode
from core.queue import enqueue_on_commit
from schedules.selectors import LOCAL_TZ

from ..models import (
    Booking,
    BookingBasis,
    InboxMessage,
    MessageKind,
    NotifyState,
)
from ..selectors import inbox_for_resident

logger = logging.getLogger(__name__)

# --- Inbox (R-BOOK-9, R-REL-1) ------------------------------------------------------------------


def inbox_message_send(
    *,
    resident: User,
    clinic: Clinic,
    kind: MessageKind,
    subject: str,
    body: str,
    booking: Booking | None = None,
    booking_basis: BookingBasis | None = None,
) -> InboxMessage:
    message = InboxMessage.objects.create(
        resident=resident,
        clinic=clinic,
        kind=kind,
        subject=subject[:200],
        body=body,
        booking=booking,
        booking_basis=booking_basis,
    )
    # R-REL-1: a summons, timed or open, creates the relation (guide 001).
    if kind in (MessageKind.SUMMONS, MessageKind.OPEN_SUMMONS):
        relation_add(resident=resident, clinic=clinic, source=RelationSource.SUMMONS)
    from ..tasks import inbox_notify  # the tasks module imports these services

    enqueue_on_commit(inbox_notify, message.pk)
    return message


def _send_booking_message(*, booking: Booking, kind: MessageKind) -> InboxMessage | None:
    """R-BOOK-9: tell the resident when the clinic books or cancels for them; never about a
    type hidden for patients (R-TYPE-2), not even by an e-mail saying a message is waiting."""
    if booking.appointment_type.hidden_for_patient:
        return None
    # Residents never see the internal type name (R-TYPE-1).
    what = booking.appointment_type.web_name or gettext("Visit")
    when = timezone.localtime(booking.start, LOCAL_TZ)
    with translation.override(settings.LANGUAGE_CODE):
        values = {"what": what, "clinic": booking.clinic.name, "date": f"{when:%Y-%m-%d}", "time": f"{when:%H:%M}"}
        if kind == MessageKind.SUMMONS:
            subject = gettext("Booked time: %(what)s %(date)s") % values
            body = (
                gettext(
                    "%(clinic)s has booked a time for you: %(what)s on %(date)s at %(time)s. "
                    "You can see the time under your booked times."
                )
                % values
            )
        else:
            subject = gettext("Cancelled time: %(what)s %(date)s") % values
            body = (
                gettext(
                    "%(clinic)s has cancelled your time: %(what)s on %(date)s at %(time)s. "
                    "Contact the clinic if you have questions."
                )
                % values
            )
    return inbox_message_send(
        resident=booking.resident, clinic=booking.clinic, kind=kind, subject=subject, body=body, booking=booking
    )


def inbox_mark_read(*, resident: User, message_id: int, now: dt.datetime | None = None) -> InboxMessage:
    message = inbox_for_resident(resident=resident).filter(pk=message_id).first()
    if message is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    if message.read_at is None:
        message.read_at = now or timezone.now()
        message.save(update_fields=["read_at"])
    return message


def inbox_notify(*, message_id: int, now: dt.datetime | None = None) -> bool:
    """Tell the resident by e-mail that a message is waiting (no health details in the e-mail).

    R-OPS-2: the message is claimed before the send (pending → sending, with the time and a
    token of this claim) and marked sent after it, both by conditional UPDATEs, so a retried or
    redelivered task never sends a message twice, and a claim that never completed (the worker
    was killed mid-send) is taken over once it is ``TIDBOK_NOTIFY_CLAIM_SECONDS`` old. The
    e-mail carries a Message-ID made from the message, so the rare resend after a crash between
    the send and the mark is recognisably the same e-mail. Returns whether this call sent it."""
    now = now or timezone.now()
    token = uuid.uuid4()
    stale = now - dt.timedelta(seconds=settings.TIDBOK_NOTIFY_CLAIM_SECONDS)
    claimable = Q(notify_state=NotifyState.PENDING) | Q(notify_state=NotifyState.SENDING, notify_claimed_at__lt=stale)
    claimed = InboxMessage.objects.filter(claimable, pk=message_id).update(
        notify_state=NotifyState.SENDING, notify_claimed_at=now, notify_claim=token
    )
    if not claimed:
        return False
    ours = InboxMessage.objects.filter(pk=message_id, notify_claim=token)
    message = InboxMessage.objects.select_related("resident", "clinic").get(pk=message_id)
    if message.resident.email:
        with translation.override(settings.LANGUAGE_CODE):
            email = EmailMessage(
                gettext("You have a new message in Tidbok"),
                gettext("%(clinic)s has sent you a message. Log in to Tidbok to read it.")
                % {"clinic": message.clinic.name},
                to=[message.resident.email],
                headers={"Message-ID": f"<tidbok-inbox-{message.pk}-{message.created_at:%Y%m%d%H%M%S}@{DNS_NAME}>"},
            )
            try:
                email.send()
            except Exception:
                # Give the claim back so the retry (or the sweep) sends it.
                ours.update(notify_state=NotifyState.PENDING, notify_claimed_at=None, notify_claim=None)
                raise
    ours.update(notify_state=NotifyState.SENT, notified_at=timezone.now())
    return True


def inbox_notify_sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """R-OPS-2: send what is still unsent after the claim timeout: a claim whose worker died, or a
    message whose task gave up (a long mail outage). Returns how many were sent."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.TIDBOK_NOTIFY_CLAIM_SECONDS)
    due = (
        InboxMessage.objects.filter(
            Q(notify_state=NotifyState.PENDING, created_at__lt=stale)
            | Q(notify_state=NotifyState.SENDING, notify_claimed_at__lt=stale)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for message_id in list(due):
        try:
            sent += inbox_notify(message_id=message_id, now=now)
        except Exception:
            logger.warning("inbox notification %s not sent, will retry", message_id, exc_info=True)
    return sent
