"""Recording, delivering and re-sending notifications; reminders (R-NOTE-2, R-NOTE-3, R-NOTE-4).

Delivery is at most once per (event, channel) in the way the project's inbox e-mail was: the
message is claimed (pending → sending, with the time and a token of the claim) before the send
and marked sent after it, both by conditional UPDATEs. A task delivered twice finds it claimed or
sent and does nothing; a worker killed mid-send leaves a claim that the sweep takes over only
after ``TIDBOK_NOTIFY_CLAIM_SECONDS`` (longer than any send may take), with the same key (the
e-mail's Message-ID, the SMS gateway's reference), so a gateway or mail client that has it
already can tell. A failed send is tried again with exponential back-off, and after
``TIDBOK_NOTIFY_MAX_ATTEMPTS`` it is failed, for support to see and send again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import ContactDetails, Role, User
from accounts.selectors import user_has_clinic_role
from accounts.services import audit_record
from bookings.models import Booking, BookingStatus
from bookings.services import NotificationKind, NotifiedBy
from clinics.models import Clinic
from core import metrics
from core.errors import BookingError, ErrorCode, PermissionDeniedError
from core.outbox.services import outbox_add
from core.sms import Sms, send_sms
from schedules.selectors import LOCAL_TZ

from .models import Notification, NotificationChannel, NotificationEvent, NotificationState
from .render import render

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.tasks.notification_deliver"
# The first retry waits this long, each next one twice as long, at most an hour.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
# The sweep leaves a pending message this long to its own task before it sends it itself.
SWEEP_GRACE = dt.timedelta(seconds=60)
# Reminders are looked for this far past the longest offset: a day across a DST change is 25 hours.
_REMINDER_MARGIN = dt.timedelta(hours=2)


class DeliveryDeferred(Exception):
    """The send failed and will be tried again in ``countdown`` seconds."""

    def __init__(self, countdown: int) -> None:
        super().__init__(countdown)
        self.countdown = countdown


# --- Recording -----------------------------------------------------------------------------------


@transaction.atomic
def notification_event_record(*, payload: dict[str, Any]) -> NotificationEvent:
    """Turn a recorded change into one message per verified channel, once however often it is
    delivered (the payload's key is unique), and hand each message to a delivery task.

    Only verified addresses are ever read (``ContactDetails.email`` and ``.mobile`` hold nothing
    else, R-NOTE-1); a reminder goes only where the resident wants reminders."""
    event = NotificationEvent(
        key=payload["key"],
        kind=payload["kind"],
        by=payload.get("by") or NotifiedBy.CLINIC,
        resident_id=payload["resident_id"],
        clinic_id=payload["clinic_id"],
        booking_id=payload.get("booking_id"),
        message_id=payload.get("message_id"),
        reason=payload.get("reason", ""),
        detail=payload.get("detail") or {},
    )
    # One statement, where get_or_create took four (a read, then a savepoint around the insert):
    # every booking records one. A key recorded before keeps its row (the "update" writes the
    # key it already has) and gives its id; a key is one change, so the rest is the same too.
    NotificationEvent.objects.bulk_create([event], update_conflicts=True, unique_fields=["key"], update_fields=["key"])
    contact = ContactDetails.objects.filter(user_id=event.resident_id).first()
    if contact is None:
        return event
    reminder = event.kind == NotificationKind.REMINDER
    wanted = (
        (NotificationChannel.EMAIL, contact.email, contact.reminders_by_email or not reminder),
        (NotificationChannel.SMS, contact.mobile, contact.reminders_by_sms or not reminder),
    )
    for channel, address, wants in wanted:
        if address and wants:
            Notification.objects.get_or_create(
                event=event, channel=channel, defaults={"to": address, "language": contact.language}
            )
    for pk in event.notifications.filter(state=NotificationState.PENDING).values_list("pk", flat=True):
        outbox_add(name=DELIVER_TASK, args=[pk])
    return event


# --- Delivery ------------------------------------------------------------------------------------


def _backoff(attempts: int) -> int:
    return min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


def _send(notification: Notification) -> None:
    event = notification.event
    rendered = render(event, language=notification.language)
    reference = f"tidbok-notification-{notification.key}"
    if notification.channel == NotificationChannel.SMS:
        send_sms(Sms(to=notification.to, body=rendered.sms, reference=reference))
        return
    email = EmailMultiAlternatives(
        rendered.subject,
        rendered.text,
        to=[notification.to],
        headers={
            # The same for every attempt: a resend after a crash is recognisably the same e-mail.
            "Message-ID": f"<{reference}@{DNS_NAME}>",
            "Content-Language": notification.language,
            "Auto-Submitted": "auto-generated",
        },
    )
    email.attach_alternative(rendered.html, "text/html")
    if rendered.ics is not None:
        email.attach("tidbok.ics", rendered.ics, "text/calendar")
    email.send()


def _still_wanted(notification: Notification, now: dt.datetime) -> bool:
    """A reminder for a booking that was cancelled or moved meanwhile, or has begun, is not sent."""
    event = notification.event
    if event.kind != NotificationKind.REMINDER:
        return True
    booking = event.booking
    return booking is not None and booking.status == BookingStatus.ACTIVE and booking.start > now


def notification_deliver(*, notification_id: int, now: dt.datetime | None = None) -> bool:
    """Send one notification if it is due and nobody else is sending it. Returns whether this
    call sent it; raises DeliveryDeferred when it failed and will be tried again."""
    now = now or timezone.now()
    token = uuid.uuid4()
    stale = now - dt.timedelta(seconds=settings.TIDBOK_NOTIFY_CLAIM_SECONDS)
    claimable = Q(state=NotificationState.PENDING, next_attempt_at__lte=now) | Q(
        state=NotificationState.SENDING, claimed_at__lt=stale
    )
    # Recorded before the send: who is sending, since when, and that one more attempt began.
    claimed = Notification.objects.filter(claimable, pk=notification_id).update(
        state=NotificationState.SENDING, claimed_at=now, claim=token, attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    ours = Notification.objects.filter(pk=notification_id, claim=token)
    notification = Notification.objects.select_related(
        "event__clinic", "event__booking__appointment_type", "event__booking__clinic", "event__booking__resource"
    ).get(pk=notification_id)
    if not _still_wanted(notification, now):
        ours.update(state=NotificationState.SKIPPED, claim=None)
        return False
    try:
        _send(notification)
    except Exception as error:
        # Never the address or the body in the log or the row: the error's type and message only.
        problem = f"{type(error).__name__}: {error}"[:300]
        if notification.attempts >= settings.TIDBOK_NOTIFY_MAX_ATTEMPTS:
            ours.update(state=NotificationState.FAILED, claim=None, last_error=problem)
            metrics.count("tidbok_notifications", channel=str(notification.channel), outcome="failed")
            logger.warning("notification %s failed after %s attempts", notification_id, notification.attempts)
            return False
        countdown = _backoff(notification.attempts)
        ours.update(
            state=NotificationState.PENDING,
            claim=None,
            claimed_at=None,
            last_error=problem,
            next_attempt_at=now + dt.timedelta(seconds=countdown),
        )
        logger.info("notification %s not sent, retry in %s s", notification_id, countdown)
        raise DeliveryDeferred(countdown) from error
    # Recorded after the send.
    ours.update(state=NotificationState.SENT, sent_at=timezone.now(), claim=None, last_error="")
    metrics.count("tidbok_notifications", channel=str(notification.channel), outcome="sent")
    return True


def notification_sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """R-NOTE-3: send what is stuck: a claim whose worker died, a retry whose task was lost.
    Returns how many were sent."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.TIDBOK_NOTIFY_CLAIM_SECONDS)
    due = (
        Notification.objects.filter(
            Q(state=NotificationState.PENDING, next_attempt_at__lt=now - SWEEP_GRACE)
            | Q(state=NotificationState.SENDING, claimed_at__lt=stale)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for notification_id in list(due):
        # A failure backs off; the next sweep (or the message's own retry) tries again.
        with contextlib.suppress(DeliveryDeferred):
            sent += notification_deliver(notification_id=notification_id, now=now)
    return sent


# --- Support: failed messages --------------------------------------------------------------------


@transaction.atomic
def notification_resend(*, actor: User, clinic: Clinic, notification_id: int) -> Notification:
    """Support sends a failed message again: it starts over with a fresh count of attempts (and
    the same key). On the audit log: support acted on a resident's message."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=(Role.SUPPORT,)):
        raise PermissionDeniedError()
    notification = (
        Notification.objects.select_for_update()
        .select_related("event")
        .filter(pk=notification_id, event__clinic=clinic, state=NotificationState.FAILED)
        .first()
    )
    if notification is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    Notification.objects.filter(pk=notification.pk).update(
        state=NotificationState.PENDING, attempts=0, next_attempt_at=timezone.now(), claimed_at=None, claim=None
    )
    notification.refresh_from_db()
    audit_record(
        actor=actor, action="notification.resend", clinic=clinic, resident=notification.event.resident, obj=notification
    )
    outbox_add(name=DELIVER_TASK, args=[notification.pk])
    return notification


# --- Reminders -----------------------------------------------------------------------------------


def reminder_at(start: dt.datetime, hours: int) -> dt.datetime:
    """When to remind ``hours`` before ``start``, in Swedish time: whole days are calendar days
    on the wall clock (24 hours before a Monday 09:00 visit is Sunday 09:00, also when the clocks
    changed in between), the rest is elapsed time."""
    days, rest = divmod(hours, 24)
    local = timezone.localtime(start, LOCAL_TZ).replace(tzinfo=None) - dt.timedelta(days=days)
    return local.replace(tzinfo=LOCAL_TZ).astimezone(dt.UTC) - dt.timedelta(hours=rest)


def reminders_due(*, now: dt.datetime | None = None) -> int:
    """R-NOTE-2: record the reminders whose time has come. Once per booking and offset (the key);
    never for a cancelled or moved booking (only active ones are read), nor for one booked after
    its reminder time, nor for a type hidden for the patient. Returns how many were recorded."""
    now = now or timezone.now()
    offsets: dict[int, set[int]] = {}
    for pk, first, second in Clinic.objects.values_list("pk", "reminder_hours", "second_reminder_hours"):
        for hours in (first, second):
            if hours:
                offsets.setdefault(hours, set()).add(pk)
    recorded = 0
    for hours, clinic_ids in offsets.items():
        horizon = now + dt.timedelta(hours=hours) + _REMINDER_MARGIN
        candidates = Booking.objects.filter(
            status=BookingStatus.ACTIVE,
            clinic_id__in=clinic_ids,
            start__gt=now,
            start__lte=horizon,
            appointment_type__hidden_for_patient=False,
        ).only("pk", "start", "created_at", "resident_id", "clinic_id")
        due = {}
        for booking in candidates:
            at = reminder_at(booking.start, hours)
            if at <= now and booking.created_at < at:
                due[f"reminder:{booking.pk}:{hours}"] = booking
        known = set(NotificationEvent.objects.filter(key__in=list(due)).values_list("key", flat=True))
        for key, booking in due.items():
            if key in known:
                continue
            notification_event_record(
                payload={
                    "key": key,
                    "kind": NotificationKind.REMINDER,
                    "resident_id": booking.resident_id,
                    "clinic_id": booking.clinic_id,
                    "booking_id": booking.pk,
                    "detail": {"hours": hours},
                }
            )
            recorded += 1
    return recorded
