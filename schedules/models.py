from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

WEEKDAY_NAMES = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)


class PublishState(models.TextChoices):
    NOT_STARTED = "", _("Not published")
    QUEUED = "queued", _("Waiting to be published")
    RUNNING = "running", _("Publishing")
    DONE = "done", _("Published")
    FAILED = "failed", _("Publishing failed")


def publish_stale_q(before: dt.datetime) -> Q:
    """Runs whose last sign of life (queued, claimed, a batch committed) is older than ``before``,
    or was never recorded (runs queued before heartbeats were kept) (R-OPS-3)."""
    return Q(publish_heartbeat_at__lt=before) | Q(publish_heartbeat_at__isnull=True)


class Schedule(models.Model):
    """A weekly pattern that generates slots of one appointment type on one resource (R-SCHED-1)."""

    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="schedules")
    resource = models.ForeignKey("clinics.Resource", on_delete=models.CASCADE, related_name="schedules")
    appointment_type = models.ForeignKey("clinics.AppointmentType", on_delete=models.PROTECT, related_name="schedules")
    # ISO weekday numbers, Monday = 1 … Sunday = 7.
    weekdays = models.JSONField(_("weekdays"), default=list)
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))
    day_start = models.TimeField(_("start time"))
    day_end = models.TimeField(_("end time"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"))
    published_at = models.DateTimeField(null=True, blank=True)
    # Set when the type is taken off the schedule: its free slots are gone (R-PUB-2, R-SCHED-2).
    removed_at = models.DateTimeField(null=True, blank=True)
    # Progress of a large publish run by a worker, shown to the scheduler (R-SCHED-1).
    publish_state = models.CharField(max_length=10, choices=PublishState.choices, default="", blank=True)
    publish_total = models.PositiveIntegerField(default=0)
    publish_done = models.PositiveIntegerField(default=0)
    # R-OPS-3: a publish run survives a killed worker. The run commits its progress batch by
    # batch (the start of the last time handled, the times skipped because they overlap a time
    # already on the resource), and beats at every batch; a run whose heartbeat is stale is
    # resumed from the cursor by the beat sweep, by redelivery of its task, or by a scheduler.
    publish_cursor = models.DateTimeField(null=True, blank=True)
    publish_skipped = models.PositiveIntegerField(default=0)
    publish_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Who asked for the run: a resumed run acts on their authority, checked again.
    publish_actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The claim of the execution now running (a new token per claim, so a slow execution that
    # was taken over stops at its next batch), and the Celery task id that claimed it (so a
    # redelivery of that same message, after its worker died, takes the run back at once).
    publish_token = models.CharField(max_length=32, blank=True, default="")
    publish_task_id = models.CharField(max_length=255, blank=True, default="")
    # Claims since the scheduler last asked; past TIDBOK_PUBLISH_MAX_ATTEMPTS the run fails
    # instead of killing worker after worker.
    publish_attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="schedule_dates_ordered"),
            models.CheckConstraint(condition=Q(day_end__gt=F("day_start")), name="schedule_times_ordered"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=480),
                name="schedule_slot_minutes_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource}: {self.appointment_type.internal_name} {self.start_date}–{self.end_date}"

    @property
    def publish_in_progress(self) -> bool:
        return self.publish_state in (PublishState.QUEUED, PublishState.RUNNING)

    @property
    def publish_stalled(self) -> bool:
        """Queued or running, but without a heartbeat for TIDBOK_PUBLISH_STALE_SECONDS: its
        worker is gone; the sweep or a scheduler resumes it (R-OPS-3)."""
        if not self.publish_in_progress:
            return False
        stale_after = dt.timedelta(seconds=settings.TIDBOK_PUBLISH_STALE_SECONDS)
        return self.publish_heartbeat_at is None or self.publish_heartbeat_at < timezone.now() - stale_after


class SlotStatus(models.TextChoices):
    FREE = "free", _("Free")
    HELD = "held", _("Held")
    BOOKED = "booked", _("Booked")
    # R-WAIT-3: held for one resident on the waitlist while the offer runs; off the web.
    OFFERED = "offered", _("Offered to the waitlist")


class Slot(models.Model):
    """One bookable interval. ``status``, ``is_published`` and ``is_blocked`` are kept in step
    with bookings, holds and blocks inside the same transactions, so that "is this time
    offered?" is one partial-index lookup (R-VIS-2, R-PUB)."""

    # No index of their own for clinic and resource: slot_clinic_start_idx and the unique
    # (resource, start) begin with them and serve every lookup by either, and each index is
    # one more insert for every slot a publish makes.
    # Nor a key each: on PostgreSQL one composite key, (resource_id, clinic_id) → the resource's
    # (id, clinic_id) (slot_resource_clinic_fk, migration 0008), checks that the resource exists,
    # that the clinic exists (the resource's own key) and that the two agree, with one lookup per
    # slot where two keys took two and left the agreement unchecked.
    clinic = models.ForeignKey(
        "clinics.Clinic", on_delete=models.CASCADE, related_name="slots", db_index=False, db_constraint=False
    )
    resource = models.ForeignKey(
        "clinics.Resource", on_delete=models.CASCADE, related_name="slots", db_index=False, db_constraint=False
    )
    appointment_type = models.ForeignKey("clinics.AppointmentType", on_delete=models.PROTECT, related_name="slots")
    schedule = models.ForeignKey(Schedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="slots")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(_("status"), max_length=10, choices=SlotStatus.choices, default=SlotStatus.FREE)
    # Appearing on the web is done by a worker (R-PUB-3); disappearing clears this at once.
    is_published = models.BooleanField(_("published"), default=False)
    is_blocked = models.BooleanField(_("blocked"), default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="slot_end_after_start"),
            models.UniqueConstraint(fields=["resource", "start"], name="slot_unique_resource_start"),
        ]
        indexes = [
            # The residents' hot read: free, published, unblocked times of a type at a clinic.
            models.Index(
                fields=["clinic", "appointment_type", "start"],
                name="slot_offered_idx",
                condition=Q(status="free", is_published=True, is_blocked=False),
            ),
            # Rebooking candidates: same resource and type (R-BOOK-7).
            models.Index(
                fields=["resource", "appointment_type", "start"],
                name="slot_offered_resource_idx",
                condition=Q(status="free", is_published=True, is_blocked=False),
            ),
            # The publisher's queue: free times not yet on the web.
            models.Index(
                fields=["start"],
                name="slot_pending_publish_idx",
                condition=Q(status="free", is_published=False, is_blocked=False),
            ),
            models.Index(fields=["clinic", "start"], name="slot_clinic_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.start:%Y-%m-%d %H:%M}"


class Block(models.Model):
    """A spärr: nothing on the resource may be booked in [start, end) (R-PUB-2)."""

    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="blocks")
    resource = models.ForeignKey("clinics.Resource", on_delete=models.CASCADE, related_name="blocks")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("block")
        verbose_name_plural = _("blocks")
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="block_end_after_start")]
        indexes = [models.Index(fields=["resource", "start", "end"])]

    def __str__(self) -> str:
        return f"{self.resource} {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M}"


class HoldState(models.TextChoices):
    ACTIVE = "active", _("Active")
    CONVERTED = "converted", _("Became a booking")
    RELEASED = "released", _("Released")


class Hold(models.Model):
    """A time set aside for one resident while they confirm (R-BOOK-3)."""

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="holds")
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="holds")
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=HoldState.choices, default=HoldState.ACTIVE)
    # A rebooking hold remembers the booking it would replace.
    rebook_of = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        constraints = [
            models.UniqueConstraint(fields=["slot"], condition=Q(state="active"), name="hold_one_active_per_slot"),
        ]
        indexes = [models.Index(fields=["expires_at"], condition=Q(state="active"), name="hold_active_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.slot} held for {self.resident} until {self.expires_at:%H:%M:%S}"
