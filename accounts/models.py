from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .personnummer import format_personnummer


class User(AbstractUser):
    """One model for residents and staff.

    A resident is identified by a normalised personnummer/samordningsnummer (R-AUTH-4) and
    logs in through eID; staff log in with email, password and a second factor (R-AUTH-2)
    and act through memberships.
    """

    personnummer = models.CharField(_("personal identity number"), max_length=12, unique=True, null=True, blank=True)
    # Län code (two digits, e.g. "01" Stockholm) from the population register: decides
    # whether a case type activated for "the clinic's region" admits the resident (R-CASE-2).
    home_region_code = models.CharField(_("home region code"), max_length=2, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(personnummer__isnull=True) | Q(personnummer__regex=r"^[0-9]{12}$"),
                name="user_personnummer_12_digits",
            ),
        ]

    @property
    def is_resident(self) -> bool:
        return bool(self.personnummer)

    @property
    def personnummer_display(self) -> str:
        return format_personnummer(self.personnummer) if self.personnummer else ""

    def __str__(self) -> str:
        name = self.get_full_name()
        if self.personnummer:
            return f"{name} ({self.personnummer_display})" if name else self.personnummer_display
        return name or self.email or self.username


class UserSession(AbstractBaseSession):
    """A session with the signed-in user beside its data (accounts.sessions): each request reads
    the session, its user and whether they are staff in one query, and logging someone out
    everywhere deletes their rows by this column. No foreign key in the database: a session
    saved by a request still running when its user was deleted points at nobody, and reads as
    signed out (the ORM still deletes a deleted user's sessions)."""

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls) -> type:
        from .sessions import SessionStore

        return SessionStore


class Role(models.TextChoices):
    LOCAL_ADMIN = "local_admin", _("Local admin")
    SCHEDULER = "scheduler", _("Scheduler")
    SUPPORT = "support", _("Support")
    REGION_IT = "region_it", _("Region IT admin")
    PROXY_BOOKER = "proxy_booker", _("Proxy booker")


# Region IT admins and proxy bookers act across a region; every other role is per clinic.
REGION_ROLES = (Role.REGION_IT, Role.PROXY_BOOKER)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    clinic = models.ForeignKey(
        "clinics.Clinic",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
    )
    region = models.ForeignKey(
        "clinics.Region",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
    )
    # The unit a proxy booker books from ("1177 Vårdguiden på telefon"), shown with the booking (R-BOOK-4).
    unit_name = models.CharField(_("unit"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        role__in=[r.value for r in REGION_ROLES],
                        clinic__isnull=True,
                        region__isnull=False,
                    )
                    | (~Q(role__in=[r.value for r in REGION_ROLES]) & Q(clinic__isnull=False, region__isnull=True))
                ),
                name="membership_scope_matches_role",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "clinic"],
                condition=Q(clinic__isnull=False),
                name="membership_unique_clinic",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "region"],
                condition=Q(region__isnull=False),
                name="membership_unique_region",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.clinic or self.region}"


class AuditEvent(models.Model):
    """Security audit log (R-LOG-4): staff access to a resident's data. Never purged with the
    31-day web booking log; kept at least ``TIDBOK_AUDIT_RETENTION_DAYS`` (R-SEC-7)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="audit_events")
    # The roles the actor held where they acted, as they were then (R-SEC-7: who, in which role).
    role = models.CharField(_("role"), max_length=100, blank=True)
    action = models.CharField(_("action"), max_length=64)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, null=True, blank=True)
    # An event at no clinic (a resident seen in the Django admin) still belongs to a region, so
    # that region IT there sees it on the audit page and in the export (R-SEC-1, R-SEC-7).
    region = models.ForeignKey(
        "clinics.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    unit_name = models.CharField(_("unit"), max_length=200, blank=True)
    resident = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events_about"
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["resident", "created_at"]),
            models.Index(fields=["clinic", "created_at"]),
            models.Index(fields=["region", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action}"


class ContactDetails(models.Model):
    """How a resident wants to be told about their bookings (R-NOTE-1).

    ``email`` and ``mobile`` hold only verified addresses: an address the resident typed waits in
    ``email_pending`` / ``mobile_pending`` until the signed link or the one-time code proves it is
    theirs, so nothing can be sent to an unverified address, whatever reads these fields. A new
    request makes a new ``…_nonce``, which the link and the code are made from: an older link or
    code stops working."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="contact")
    email = models.EmailField(_("e-mail address"), blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    email_pending = models.EmailField(blank=True)
    email_nonce = models.CharField(max_length=32, blank=True)
    mobile = models.CharField(_("mobile number"), max_length=16, blank=True)
    mobile_verified_at = models.DateTimeField(null=True, blank=True)
    mobile_pending = models.CharField(max_length=16, blank=True)
    mobile_nonce = models.CharField(max_length=32, blank=True)
    mobile_code_sent_at = models.DateTimeField(null=True, blank=True)
    mobile_code_attempts = models.PositiveSmallIntegerField(default=0)
    reminders_by_email = models.BooleanField(_("reminders by e-mail"), default=True)
    reminders_by_sms = models.BooleanField(_("reminders by text message"), default=True)
    language = models.CharField(_("language"), max_length=8, default="sv")

    class Meta:
        verbose_name = _("contact details")
        verbose_name_plural = _("contact details")

    def __str__(self) -> str:
        return f"contact details #{self.pk}"


class ActingAs(models.TextChoices):
    """Whose right someone uses when they act for another resident (R-GUARD-4, R-POA-1)."""

    SELF = "", _("themselves")
    GUARDIAN = "guardian", _("guardian")
    ATTORNEY = "attorney", _("attorney")


class Custody(models.Model):
    """A guardian's custody (vårdnad) of a child, as the population register said at the guardian's
    last login (R-GUARD-1). Never typed in by anyone: :func:`accounts.services.custody_refresh`
    replaces a guardian's rows with the register's answer. Whether the guardian may act for the
    child now (the regional age limit, R-GUARD-3) is decided on every request from the birth date."""

    guardian = models.ForeignKey(User, on_delete=models.CASCADE, related_name="custodies")
    child = models.ForeignKey(User, on_delete=models.CASCADE, related_name="guardians")
    child_birth_date = models.DateField(_("birth date"))
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("custody")
        verbose_name_plural = _("custodies")
        constraints = [models.UniqueConstraint(fields=["guardian", "child"], name="custody_unique_guardian_child")]

    def __str__(self) -> str:
        return f"custody #{self.pk}"


class PowerOfAttorney(models.Model):
    """Fullmakt (R-POA-1): the grantor lets the grantee see, book, cancel and rebook for them — at
    every clinic or only the chosen ones — until ``valid_until`` (inclusive, local date). It counts
    only once the grantee has accepted and until either of them ends it."""

    grantor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="attorneys_given")
    grantee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="attorneys_held")
    all_clinics = models.BooleanField(_("at every clinic"), default=True)
    clinics = models.ManyToManyField("clinics.Clinic", blank=True, related_name="+", verbose_name=_("clinics"))
    valid_until = models.DateField(_("valid until"))
    created_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("power of attorney")
        verbose_name_plural = _("powers of attorney")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(grantor=models.F("grantee")), name="poa_not_to_oneself"),
        ]
        indexes = [models.Index(fields=["grantee", "ended_at"]), models.Index(fields=["grantor", "ended_at"])]

    def __str__(self) -> str:
        return f"power of attorney #{self.pk}"
