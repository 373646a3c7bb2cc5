from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import ActingAs
from clinics.selectors import OPEN_SUMMONS_KIND
from clinics.video import MEETING_URL_MAX_LENGTH
from schedules.models import WEEKDAY_NAMES


class Channel(models.TextChoices):
    WEB = "web", _("Web booking service")
    STAFF = "staff", _("Clinic staff")
    PROXY = "proxy", _("Proxy booking")


# What staff see as "changed by" for a resident's own change on the web (R-BOOK-4).
WEB_SERVICE_NAME = "Webbtidbok"


# R-GUARD-4, R-POA-1: how staff read who changed a booking for the patient, by what was done.
_ACTING_LABELS = {
    ("booked", ActingAs.GUARDIAN): _("Booked by guardian %(name)s"),
    ("booked", ActingAs.ATTORNEY): _("Booked by attorney %(name)s"),
    ("rebooked", ActingAs.GUARDIAN): _("Rebooked by guardian %(name)s"),
    ("rebooked", ActingAs.ATTORNEY): _("Rebooked by attorney %(name)s"),
    ("cancelled", ActingAs.GUARDIAN): _("Cancelled by guardian %(name)s"),
    ("cancelled", ActingAs.ATTORNEY): _("Cancelled by attorney %(name)s"),
}


def acting_display(acting_as: str, actor, status: str = "booked") -> str:
    """ "Bokad av vårdnadshavare Anna Andersson": the actor by name, never by personnummer."""
    label = _ACTING_LABELS.get((status, ActingAs(acting_as)))
    if label is None or actor is None:
        return ""
    # Never the username: a resident's is made of their personnummer.
    return label % {"name": actor.get_full_name() or _("a resident")}


class BookingStatus(models.TextChoices):
    ACTIVE = "active", _("Booked")
    CANCELLED = "cancelled", _("Cancelled")
    REBOOKED = "rebooked", _("Moved to another time")


def new_calendar_uid() -> str:
    return f"{uuid.uuid4()}@tidbok"


class Booking(models.Model):
    # A slot may be deleted once it is free again (R-SCHED-2); the booking keeps its own copy.
    slot = models.ForeignKey("schedules.Slot", on_delete=models.SET_NULL, null=True, related_name="bookings")
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    # Copied from the slot: the overlap rule (R-BOOK-2) and viewing window (R-BOOK-5) read them
    # without a join, and the log keeps what was booked even if a slot's type changes later.
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="bookings")
    appointment_type = models.ForeignKey("clinics.AppointmentType", on_delete=models.PROTECT, related_name="bookings")
    resource = models.ForeignKey("clinics.Resource", on_delete=models.PROTECT, related_name="bookings")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=BookingStatus.choices, default=BookingStatus.ACTIVE)
    # R-BOOK-4: who made it and through which channel.
    channel = models.CharField(max_length=10, choices=Channel.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="bookings_made",
        null=True,
        blank=True,
    )
    proxy_unit = models.CharField(max_length=200, blank=True)
    # R-GUARD-4, R-POA-1: a web booking made by someone acting for the patient (``resident``):
    # ``created_by`` is that guardian or attorney, this says which.
    acting_as = models.CharField(
        max_length=10, choices=ActingAs.choices, default=ActingAs.SELF, db_default=ActingAs.SELF, blank=True
    )
    # R-TYPE-7
    patient_phone = models.CharField(_("phone"), max_length=32, blank=True)
    patient_reason = models.CharField(_("reason"), max_length=500, blank=True)
    booking_basis = models.ForeignKey(
        "BookingBasis", on_delete=models.SET_NULL, null=True, blank=True, related_name="bookings"
    )
    waitlist_entry = models.ForeignKey(
        "WaitlistEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="bookings"
    )
    rebooked_from = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rebooked_to"
    )
    # R-NOTE-5: the calendar event's UID for the booking's whole life. A rebooking is a new row,
    # so the new row takes the old one's UID with a higher SEQUENCE; a cancellation raises the
    # SEQUENCE too. Calendars then move or remove the event instead of keeping a stale copy.
    calendar_uid = models.CharField(max_length=100, default=new_calendar_uid, editable=False)
    calendar_sequence = models.PositiveIntegerField(default=0, editable=False)
    # Where a web booking from outside came from: the SMART Scheduling Links deep link's
    # ``source`` (the slot finder) and ``booking-referral`` (its own reference) parameters.
    referral_source = models.CharField(max_length=100, blank=True)
    booking_referral = models.CharField(max_length=200, blank=True)
    # A video visit's link (clinics.video): the resident's secret, shown only to them (in the join
    # window, bookings.video) and to the clinic's staff; never in messages, logs or the FHIR feed.
    meeting_url = models.CharField(_("meeting link"), max_length=MEETING_URL_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["start"]
        constraints = [
            # R-BOOK-1: the database is the last word on "one active booking per slot".
            models.UniqueConstraint(fields=["slot"], condition=Q(status="active"), name="booking_one_active_per_slot"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="booking_end_after_start"),
            models.CheckConstraint(
                condition=Q(status="active", ended_at__isnull=True) | (~Q(status="active") & Q(ended_at__isnull=False)),
                name="booking_ended_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(
                fields=["resident", "start"],
                condition=Q(status="active"),
                name="booking_resident_active_idx",
            ),
            models.Index(fields=["clinic", "start"]),
        ]

    def __str__(self) -> str:
        return f"{self.resident} {self.start:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status == BookingStatus.ACTIVE

    @property
    def changed_by_display(self) -> str:
        """What staff see in "changed by" (R-BOOK-4): for a booking a guardian or attorney made for
        the patient, who (by name, never by personnummer) and as what (R-GUARD-4, R-POA-1)."""
        if self.channel == Channel.WEB:
            if self.acting_as and self.created_by is not None:
                return f"{WEB_SERVICE_NAME} – {acting_display(self.acting_as, self.created_by)}"
            return WEB_SERVICE_NAME
        if self.channel == Channel.PROXY:
            return f"{self.created_by} ({self.proxy_unit})" if self.proxy_unit else str(self.created_by)
        if self.created_by is None:
            return ""
        return f"{self.created_by.get_full_name() or self.created_by.email} (id {self.created_by.pk})"


class BasisKind(models.TextChoices):
    BASIS = "basis", _("Booking basis")
    # Öppen kallelse: the clinic invites the resident to book within a period; one use (guide 001).
    OPEN_SUMMONS = OPEN_SUMMONS_KIND, _("Open summons")


class BasisState(models.TextChoices):
    ACTIVE = "active", _("Active")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class BookingBasis(models.Model):
    """Bokningsunderlag: permission for one resident to book one appointment type (R-TYPE-4), for
    visits from ``valid_from`` to ``valid_until``, ``max_bookings`` times. An open summons is a
    one-use basis that also opens a type the resident is not otherwise offered."""

    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="booking_bases")
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="booking_bases")
    appointment_type = models.ForeignKey("clinics.AppointmentType", on_delete=models.CASCADE, related_name="bases")
    kind = models.CharField(_("kind"), max_length=20, choices=BasisKind.choices, default=BasisKind.BASIS)
    note = models.CharField(_("note"), max_length=500, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    max_bookings = models.PositiveSmallIntegerField(_("bookings allowed"), default=1)
    # Active bookings made on it: a booking adds one, a cancellation gives it back (R-TYPE-4).
    uses = models.PositiveSmallIntegerField(default=0)
    # Null while a booking is still allowed; set when the last allowed booking is made, cleared
    # again on cancellation. The usable-basis rule filters on it without comparing two columns.
    consumed_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Revoking stops new bookings; bookings already made stay (R-TYPE-4).
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("booking basis")
        verbose_name_plural = _("booking bases")
        constraints = [
            models.CheckConstraint(condition=Q(max_bookings__gte=1), name="basis_allows_a_booking"),
            models.CheckConstraint(condition=Q(uses__lte=F("max_bookings")), name="basis_uses_within_allowed"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="basis_period_in_order",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="basis_clinic_newest_idx")]

    def __str__(self) -> str:
        return f"{self.resident}: {self.appointment_type.internal_name}"

    @property
    def is_open_summons(self) -> bool:
        return self.kind == BasisKind.OPEN_SUMMONS

    @property
    def state(self) -> BasisState:
        """As ``bookings.basis_selectors._basis_state_q`` filters: revoked, else used up, else past its
        last day, else active."""
        if self.revoked_at is not None:
            return BasisState.REVOKED
        if self.consumed_at is not None:
            return BasisState.USED
        if self.valid_until is not None and self.valid_until < timezone.localdate():
            return BasisState.EXPIRED
        return BasisState.ACTIVE

    @property
    def bookings_left(self) -> int:
        return max(self.max_bookings - self.uses, 0)


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    BOOKED = "booked", _("Booked")
    REMOVED = "removed", _("Removed")


class PartOfDay(models.TextChoices):
    MORNING = "morning", _("Morning (before 12)")
    AFTERNOON = "afternoon", _("Afternoon (from 12)")


class WaitlistEntry(models.Model):
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="waitlist")
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries")
    appointment_type = models.ForeignKey(
        "clinics.AppointmentType",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    # R-WAIT-1: what times suit a resident who joined on the web (empty: any). Staff entries leave
    # them empty and are offered any time of their type.
    by_resident = models.BooleanField(default=False)
    earliest_date = models.DateField(_("earliest date"), null=True, blank=True)
    latest_date = models.DateField(_("latest date"), null=True, blank=True)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)  # ISO numbers, Monday = 1
    part_of_day = models.CharField(_("time of day"), max_length=10, choices=PartOfDay.choices, blank=True, default="")
    # R-WAIT-3: offers go by priority (staff set it; higher first), then first come, first served.
    priority = models.SmallIntegerField(_("priority"), default=0)
    # R-GUARD-4, R-POA-1: a guardian or attorney who put the resident in the queue on the web, or
    # took them out of it, is recorded as for a booking (``acting_as`` says which they were).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    acting_as = models.CharField(
        max_length=10, choices=ActingAs.choices, default=ActingAs.SELF, db_default=ActingAs.SELF, blank=True
    )
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(earliest_date__isnull=True)
                | Q(latest_date__isnull=True)
                | Q(latest_date__gte=F("earliest_date")),
                name="waitlist_dates_in_order",
            ),
        ]
        indexes = [models.Index(fields=["appointment_type", "status"], name="waitlist_type_status_idx")]

    def __str__(self) -> str:
        return f"{self.clinic}: {self.resident} ({self.get_status_display()})"

    @property
    def weekday_names(self) -> list[str]:
        return [str(WEEKDAY_NAMES[day - 1]) for day in sorted(self.weekdays) if 1 <= day <= 7]


class OfferState(models.TextChoices):
    ACTIVE = "active", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Booked")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class WaitlistOffer(models.Model):
    """A freed time held for one waiting resident until they answer or time runs out (R-WAIT-3).

    The token is the offer's address in the link sent to the resident: random, never the
    personnummer, and worth nothing without logging in as that resident."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    slot = models.ForeignKey("schedules.Slot", on_delete=models.CASCADE, related_name="waitlist_offers")
    token = models.CharField(max_length=43, unique=True)
    state = models.CharField(max_length=10, choices=OfferState.choices, default=OfferState.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    # When the slot was freed (the start of the chain of offers): how long residents wait for an offer.
    freed_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # R-GUARD-4, R-POA-1: who said no for the resident, when a guardian or attorney did.
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    booking = models.ForeignKey(Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("waitlist offer")
        verbose_name_plural = _("waitlist offers")
        constraints = [
            # The database keeps a time offered to one resident at a time, and a resident offered one
            # time at a time (R-WAIT-3, R-WAIT-4).
            models.UniqueConstraint(fields=["slot"], condition=Q(state="active"), name="offer_one_active_per_slot"),
            models.UniqueConstraint(fields=["entry"], condition=Q(state="active"), name="offer_one_active_per_entry"),
        ]
        indexes = [models.Index(fields=["expires_at"], condition=Q(state="active"), name="offer_active_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.slot} offered to {self.entry.resident} ({self.get_state_display()})"

    # The resident and clinic the admin's audit records for a page showing this offer (R-LOG-4).
    @property
    def resident_id(self) -> int:
        return self.entry.resident_id

    @property
    def clinic_id(self) -> int:
        return self.entry.clinic_id


class MessageKind(models.TextChoices):
    SUMMONS = "summons", _("Summons")
    OPEN_SUMMONS = "open_summons", _("Open summons")
    CANCELLATION = "cancellation", _("Cancellation")
    INFO = "info", _("Message")
    # R-POA-1: a power of attorney offered, accepted or ended, and what an attorney did; no clinic
    # sends these.
    POWER_OF_ATTORNEY = "attorney", _("Power of attorney")


class NotifyState(models.TextChoices):
    """Where the "you have a new message" e-mail is (R-OPS-2): claimed before it is sent, so a
    claim that never completed (a killed worker) is seen, and sent again after a timeout."""

    PENDING = "pending", _("Not sent yet")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")


class InboxMessage(models.Model):
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox")
    # Empty only for Tidbok's own messages about a power of attorney (R-POA-1).
    clinic = models.ForeignKey(
        "clinics.Clinic", on_delete=models.CASCADE, related_name="messages", null=True, blank=True
    )
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    booking = models.ForeignKey(Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    # An open summons: the message's "Boka tid" starts booking on it.
    booking_basis = models.ForeignKey(
        BookingBasis, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set by the notification worker once the "you have a new message" e-mail is sent.
    notified_at = models.DateTimeField(null=True, blank=True)
    # R-OPS-2: pending → sending (claimed at, by a claim token) → sent.
    notify_state = models.CharField(max_length=10, choices=NotifyState.choices, default=NotifyState.PENDING)
    notify_claimed_at = models.DateTimeField(null=True, blank=True)
    notify_claim = models.UUIDField(null=True, blank=True)

    class Meta:
        verbose_name = _("inbox message")
        verbose_name_plural = _("inbox messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["resident", "-created_at"]),
            # The notification sweep reads only the messages whose e-mail is not sent yet.
            models.Index(
                fields=["notify_state", "notify_claimed_at"],
                condition=~Q(notify_state="sent"),
                name="inbox_notify_unsent",
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class LogStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    REBOOKED = "rebooked", _("Rebooked")
    CANCELLED = "cancelled", _("Cancelled")


class WebBookingLogEntry(models.Model):
    """Logg för webbtidbok (R-LOG-1): one row per change a resident or proxy made, kept 31 days.

    Previous and new values are stored as text so the row still reads right after slots,
    resources or types change.
    """

    changed_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=LogStatus.choices)
    # No foreign-key constraints in the database (db_constraint=False), only Django's on_delete:
    # on PostgreSQL the log is partitioned by day (R-LOG-3), and with constraints every partition
    # made or taken off would lock the tables they point at, bookings among them, against writes.
    # Indexes only where a read needs one (db_index=False elsewhere): every index is one more for
    # each log row a booking writes, and files of every day partition a purge drops. The support
    # log reads by clinic and time (the index in Meta, which also serves the clinic alone), a
    # personnummer search by resident; bookings, bases and actors are never looked up here (a
    # deletion setting them to NULL, which the app never makes, scans the 31 days instead).
    clinic = models.ForeignKey(
        "clinics.Clinic", on_delete=models.CASCADE, related_name="web_log", db_constraint=False, db_index=False
    )
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    booking = models.ForeignKey(
        Booking,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    booking_basis = models.ForeignKey(
        BookingBasis,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    previous_date = models.DateField(null=True, blank=True)
    previous_start = models.TimeField(null=True, blank=True)
    previous_resource = models.CharField(max_length=100, blank=True)
    previous_type = models.CharField(max_length=100, blank=True)
    new_date = models.DateField(null=True, blank=True)
    new_start = models.TimeField(null=True, blank=True)
    new_resource = models.CharField(max_length=100, blank=True)
    new_type = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # "Ändrad av" (R-LOG-1, R-BOOK-4): the web booking service, or the unit a proxy booker
    # acted for ("1177 Vårdguiden på telefon"), as it was named then.
    changed_by = models.CharField(_("changed by"), max_length=200, blank=True)
    # R-GUARD-4, R-POA-1: the guardian or attorney who made the change for the resident (the patient).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # as the log's other keys: the partitioned table holds no constraints
        db_index=False,
    )
    acting_as = models.CharField(
        max_length=10, choices=ActingAs.choices, default=ActingAs.SELF, db_default=ActingAs.SELF, blank=True
    )
    is_late = models.BooleanField(_("late (billable)"), default=False)
    # R-POL-2: the clinic's fee text the resident was shown before confirming a late change.
    late_fee_text = models.CharField(_("fee text shown"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("web booking log entry")
        verbose_name_plural = _("web booking log")
        ordering = ["-changed_at"]
        indexes = [models.Index(fields=["clinic", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.changed_at:%Y-%m-%d %H:%M} {self.get_status_display()} {self.resident}"

    @property
    def acting_display(self) -> str:
        """R-GUARD-4, R-POA-1: the guardian or attorney who made this change, for staff."""
        return acting_display(self.acting_as, self.actor, self.status) if self.acting_as else ""


class AttendanceState(models.TextChoices):
    ARRIVED = "arrived", _("Arrived")
    LATE = "late", _("Arrived late")
    NO_SHOW = "no_show", _("Did not come")


class Attendance(models.Model):
    """Reception's mark on a booking (R-ATT-1): arrived, late or did not come. One per booking; a
    mark may be changed or undone on the day it was made, and is final after that."""

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, primary_key=True, related_name="attendance")
    state = models.CharField(_("attendance"), max_length=10, choices=AttendanceState.choices)
    marked_at = models.DateTimeField()
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.get_state_display()}"

    # The resident and clinic the admin's audit records for a page showing this mark (R-LOG-4).
    @property
    def resident_id(self) -> int:
        return self.booking.resident_id

    @property
    def clinic_id(self) -> int:
        return self.booking.clinic_id


class CalendarFeed(models.Model):
    """A resident's private calendar feed (R-NOTE-5). The secret token is in the feed's address
    and nowhere else: only its SHA-256 is stored, so a copy of the database cannot read anyone's
    calendar. Regenerating replaces the hash (the old address stops working); revoking deletes it."""

    resident = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    # A guardian or attorney who made the address for the resident: the feed answers only while
    # they may still act for them (R-GUARD-2, R-POA-1). Empty: the resident's own.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.resident} ({self.created_at:%Y-%m-%d})"
