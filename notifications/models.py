"""What residents are told outside the portal, and whether it reached them (R-NOTE-2, R-NOTE-3)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bookings.services.notify import NotificationKind, NotifiedBy


class NotificationEvent(models.Model):
    """Something the resident is to be told: one per change, however often its outbox row or
    the reminder sweep delivers it (``key`` is unique)."""

    key = models.CharField(max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    by = models.CharField(max_length=10, choices=NotifiedBy.choices, default=NotifiedBy.CLINIC)
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="+")
    booking = models.ForeignKey("bookings.Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    message = models.ForeignKey(
        "bookings.InboxMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The clinic's reason for a cancellation, never the resident's reason for the visit.
    reason = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notification event")
        verbose_name_plural = _("notification events")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message")


class NotificationState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Nothing to send any more (a reminder for a booking that was cancelled meanwhile).
    SKIPPED = "skipped", _("Not needed")


class Notification(models.Model):
    """One message on one channel (R-NOTE-3).

    pending → sending (claimed: ``claimed_at`` and ``claim``, before the send) → sent (after it),
    by conditional UPDATEs, so a task delivered twice sends once and a claim whose worker died is
    taken over only after ``TIDBOK_NOTIFY_CLAIM_SECONDS``. ``key`` goes with every attempt (the
    e-mail's Message-ID, the SMS gateway's reference), so the rare resend after a crash between
    send and mark is recognisably the same message. After ``TIDBOK_NOTIFY_MAX_ATTEMPTS`` failed
    tries it is failed, for support staff to see and send again."""

    event = models.ForeignKey(NotificationEvent, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(_("channel"), max_length=10, choices=NotificationChannel.choices)
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The verified address at the time of the event, and the language to write in.
    to = models.CharField(max_length=254)
    language = models.CharField(max_length=8, default="sv")
    state = models.CharField(
        _("state"), max_length=10, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The error's type and status only: never an address, a body or a personnummer.
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["event", "channel"], name="notification_one_per_event_and_channel"),
        ]
        indexes = [
            # The sweep reads only what is not finished.
            models.Index(
                fields=["state", "next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="notification_unfinished",
            ),
            models.Index(fields=["state", "created_at"], condition=Q(state="failed"), name="notification_failed"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} ({self.state})"
