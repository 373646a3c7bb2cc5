from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _

from .video import MEETING_TEMPLATE_MAX_LENGTH, validate_meeting_url_template

WEB_INFO_MAX_LENGTH = 300
DEFAULT_VISIBILITY_DAYS = 61  # empty = "60 days ahead" (R-VIS-1): today + 60 is the last day shown
PROXY_MARKER = "Ombud"


class Region(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    # Län code, matched against a resident's home_region_code (R-CASE-2).
    code = models.CharField(_("code"), max_length=2, unique=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Clinic(models.Model):
    hsa_id = models.CharField(_("HSA-id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="clinics")
    street_address = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    town = models.CharField(_("town"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    opening_hours = models.TextField(_("opening hours"), blank=True)
    # WGS 84, for the FHIR Location's position: slot finders sort by distance.
    latitude = models.DecimalField(_("latitude"), max_digits=8, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    # R-CLINIC-2: what the clinic's timebook (journal system) can do over the national platform.
    supports_booking = models.BooleanField(_("timebook supports booking"), default=True)
    supports_rebooking = models.BooleanField(_("timebook supports rebooking"), default=True)
    supports_cancellation = models.BooleanField(_("timebook supports cancellation"), default=True)
    # R-TYPE-7: ask for phone number and reason when booking on the web.
    patient_comment_on_web = models.BooleanField(_("patient comment on web"), default=False)
    # R-NOTE-2: reminders before a visit, this many hours ahead (0: none), and optionally a second.
    reminder_hours = models.PositiveSmallIntegerField(_("reminder, hours before the visit"), default=24)
    second_reminder_hours = models.PositiveSmallIntegerField(
        _("second reminder, hours before the visit"), null=True, blank=True
    )
    # Video visits: the region's meeting service address with "{room}" where each booking's own
    # unguessable room id goes (checked by clinics.video.validate_meeting_url_template). Empty:
    # staff give each video booking its link by hand.
    meeting_url_template = models.CharField(
        _("meeting link template"),
        max_length=MEETING_TEMPLATE_MAX_LENGTH,
        blank=True,
        validators=[validate_meeting_url_template],
    )

    class Meta:
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")
        ordering = ["name"]
        indexes = [models.Index(fields=["town"])]

    def __str__(self) -> str:
        return self.name


class CaseKind(models.TextChoices):
    BOOK = "book", _("Book a time directly")
    MANAGE = "manage", _("See booked time, cancel or rebook directly")


class Audience(models.TextChoices):
    ALL = "all", _("For all residents")
    RELATED = "related", _("Only residents with a relation to the clinic")


class Area(models.TextChoices):
    COUNTRY = "country", _("The whole country")
    REGION = "region", _("The clinic's region")


class CaseType(models.Model):
    """One of a clinic's two e-services (R-CASE-1)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="case_types")
    kind = models.CharField(_("kind"), max_length=10, choices=CaseKind.choices)
    # Bullet points, one per line; shown to the resident before the flow starts.
    conditions_text = models.TextField(_("conditions text"), blank=True)
    is_active = models.BooleanField(_("active"), default=False)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices, default=Audience.ALL)
    area = models.CharField(_("geographic area"), max_length=10, choices=Area.choices, default=Area.COUNTRY)
    # BOOK only: a resident with an active booking at the clinic may not book another on the web
    # until it is over, cancelled or rebooked (a promise many clinics make in their conditions).
    one_booking_at_a_time = models.BooleanField(_("one active booking at a time per resident"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case type")
        verbose_name_plural = _("case types")
        constraints = [models.UniqueConstraint(fields=["clinic", "kind"], name="casetype_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.clinic}: {self.get_kind_display()}"

    @property
    def conditions_bullets(self) -> list[str]:
        return [line.strip().lstrip("•*-").strip() for line in self.conditions_text.splitlines() if line.strip()]


class DeadlineUnit(models.TextChoices):
    HOURS = "hours", _("Hours")
    WORKING_DAYS = "working_days", _("Working days")


MAX_NOTICE_HOURS = 720
MAX_DEADLINE_HOURS = 720
MAX_DEADLINE_WORKING_DAYS = 30
FEE_TEXT_MAX_LENGTH = 200


class FreedTimes(models.TextChoices):
    """What happens to a freed time of the type (R-WAIT-2)."""

    PUBLISH = "publish", _("Publish to everyone at once")
    WAITLIST = "waitlist", _("Offer to the waitlist first")


DEFAULT_OFFER_MINUTES = 15
MIN_OFFER_MINUTES, MAX_OFFER_MINUTES = 1, 1440


class AppointmentType(models.Model):
    """A tidstyp (R-TYPE-1…7, R-VIS-1, R-WAIT-1, R-WAIT-2)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="appointment_types")
    internal_name = models.CharField(_("name in the timebook"), max_length=100)
    web_name = models.CharField(_("name on the web"), max_length=100, blank=True)
    web_info = models.TextField(_("information text for the web"), max_length=WEB_INFO_MAX_LENGTH, blank=True)
    bookable_on_web = models.BooleanField(_("bookable on the web"), default=False)
    cancellable_on_web = models.BooleanField(_("cancellable on the web"), default=False)
    reschedulable_on_web = models.BooleanField(_("reschedulable on the web"), default=False)
    hidden_for_patient = models.BooleanField(_("hidden for patient"), default=False)
    visibility_days = models.PositiveSmallIntegerField(_("days shown ahead"), null=True, blank=True)
    requires_booking_basis = models.BooleanField(_("requires booking basis"), default=False)
    duration_minutes = models.PositiveSmallIntegerField(_("default length (minutes)"), default=20)
    # R-NOTE-2: e-mails and text messages about a discreet type name only the clinic, never the type.
    discreet = models.BooleanField(_("discreet in messages"), default=False)
    # R-POL-1: residents book at least this many hours ahead (0: until the time starts), and
    # cancel or rebook on the web until this many hours or working days before the visit.
    booking_notice_hours = models.PositiveSmallIntegerField(_("minimum notice for booking (hours)"), default=0)
    change_deadline = models.PositiveSmallIntegerField(_("deadline for changes on the web"), default=0)
    change_deadline_unit = models.CharField(
        _("unit of the deadline"), max_length=12, choices=DeadlineUnit.choices, default=DeadlineUnit.HOURS
    )
    # R-POL-2: shown before a resident confirms a late change (R-BOOK-8) and kept on its log row.
    late_fee_text = models.CharField(_("fee text for late changes"), max_length=FEE_TEXT_MAX_LENGTH, blank=True)
    # A visit over video: its bookings carry a meeting link the resident joins from the booking page.
    is_video_visit = models.BooleanField(_("video visit"), default=False)
    # R-WAIT-1…3: residents may join the type's waitlist from the booking flow; a freed time is
    # offered to it first, held for each resident offered for this many minutes.
    waitlist_for_residents = models.BooleanField(_("residents may join the waitlist"), default=False)
    freed_times = models.CharField(
        _("freed times"), max_length=10, choices=FreedTimes.choices, default=FreedTimes.PUBLISH
    )
    offer_minutes = models.PositiveSmallIntegerField(_("offer held (minutes)"), default=DEFAULT_OFFER_MINUTES)

    class Meta:
        verbose_name = _("appointment type")
        verbose_name_plural = _("appointment types")
        ordering = ["clinic", "internal_name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "internal_name"], name="appointmenttype_unique_name"),
            # R-TYPE-2: hidden excludes the three web flags.
            models.CheckConstraint(
                condition=Q(hidden_for_patient=False)
                | Q(bookable_on_web=False, cancellable_on_web=False, reschedulable_on_web=False),
                name="appointmenttype_hidden_clears_flags",
            ),
            # R-TYPE-5: no web booking without a web name.
            models.CheckConstraint(
                condition=Q(bookable_on_web=False) | ~Q(web_name=""),
                name="appointmenttype_bookable_needs_web_name",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("web_info"), WEB_INFO_MAX_LENGTH),
                name="appointmenttype_web_info_max_300",
            ),
            models.CheckConstraint(
                condition=Q(visibility_days__isnull=True) | Q(visibility_days__gte=1),
                name="appointmenttype_visibility_days_positive",
            ),
            models.CheckConstraint(
                condition=Q(offer_minutes__gte=MIN_OFFER_MINUTES, offer_minutes__lte=MAX_OFFER_MINUTES),
                name="appointmenttype_offer_minutes_range",
            ),
            # R-TYPE-6: a proxy type has all three web flags.
            models.CheckConstraint(
                condition=~Q(internal_name__contains=PROXY_MARKER)
                | Q(bookable_on_web=True, cancellable_on_web=True, reschedulable_on_web=True),
                name="appointmenttype_proxy_has_all_flags",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.internal_name} ({self.clinic})"

    @property
    def is_proxy(self) -> bool:
        return PROXY_MARKER in self.internal_name

    @property
    def effective_visibility_days(self) -> int:
        return self.visibility_days or DEFAULT_VISIBILITY_DAYS


class ResourceKind(models.TextChoices):
    PRACTITIONER = "practitioner", _("Named practitioner")
    POSITION = "position", _("Position")


class Resource(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="resources")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ResourceKind.choices, default=ResourceKind.POSITION)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["clinic", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="resource_unique_name"),
            # What a slot's one key to its resource and clinic refers to: the pair, so the
            # database checks both, and that they agree, in one lookup per slot (see Slot).
            models.UniqueConstraint(fields=["id", "clinic"], name="resource_unique_id_clinic"),
        ]

    def __str__(self) -> str:
        return self.name


def _new_token() -> str:
    return secrets.token_urlsafe(9)


class DirectLink(models.Model):
    """A link a clinic puts on its own web site that starts a case type's flow (R-CLINIC-1)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="direct_links")
    kind = models.CharField(_("case type"), max_length=10, choices=CaseKind.choices)
    token = models.CharField(max_length=32, unique=True, default=_new_token, editable=False)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("direct link")
        verbose_name_plural = _("direct links")

    def __str__(self) -> str:
        return f"{self.clinic}: {self.get_kind_display()} ({self.token})"


class RelationSource(models.TextChoices):
    START_PAGE = "start_page", _("Added to start page")
    COMMUNICATION = "communication", _("Approved for communication")
    SUMMONS = "summons", _("Summons")
    BOOKING = "booking", _("Booked a time")
    DIRECT_LINK = "direct_link", _("Logged in through a direct link")
    CONTACT_CARD = "contact_card", _("Logged in through the contact card")


class ClinicRelation(models.Model):
    """Mottagningsrelation (R-REL). Active while the clinic is on the resident's start page
    or the resident is approved for communication there."""

    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinic_relations")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="relations")
    on_start_page = models.BooleanField(default=False)
    approved_for_communication = models.BooleanField(default=False)
    source = models.CharField(max_length=20, choices=RelationSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("clinic relation")
        verbose_name_plural = _("clinic relations")
        constraints = [models.UniqueConstraint(fields=["resident", "clinic"], name="relation_unique")]

    def __str__(self) -> str:
        return f"{self.resident} — {self.clinic}"

    @property
    def is_active(self) -> bool:
        return self.on_start_page or self.approved_for_communication


ACTIVE_RELATION = Q(on_start_page=True) | Q(approved_for_communication=True)
