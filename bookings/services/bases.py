"""Booking bases (bokningsunderlag) and open summons (öppen kallelse), as clinic staff issue
and revoke them (R-TYPE-4, R-REL-1, R-BOOK-9, R-LOG-4).

A basis lets one resident book one appointment type of the clinic, for visits from its first to
its last valid day, as many times as it allows; booking consumes a use and cancelling gives it
back. An open summons is a one-use basis sent to the resident's inbox: it also opens a type the
resident is not otherwise offered (``clinics.selectors.type_access``), and like every summons
it creates the clinic relation. Each change is on the audit log in its own transaction."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.selectors import user_has_clinic_role
from accounts.services import audit_record, resident_get_or_create, resident_lock
from clinics.models import AppointmentType, Clinic
from clinics.selectors import SUMMONS_TYPE_Q, q_matches
from core import dates
from core.errors import BookingError, ErrorCode, PermissionDeniedError, ValidationFailed

from ..models import BasisKind, Booking, BookingBasis, BookingStatus, MessageKind
from .common import SCHEDULER_ROLES
from .inbox import inbox_message_send

# Who issues and revokes bases and sends open summons: schedulers and local admins (region IT
# counts as local admin in its region).
BASIS_ISSUER_ROLES = (*SCHEDULER_ROLES, Role.LOCAL_ADMIN)
MAX_BOOKINGS_ALLOWED = 20
NOTE_MAX_LENGTH = 500


def _require_issuer(actor: User, clinic: Clinic) -> None:
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=BASIS_ISSUER_ROLES):
        raise PermissionDeniedError()


def _validate(
    *,
    clinic: Clinic,
    appointment_type: AppointmentType,
    valid_from: dt.date | None,
    valid_until: dt.date | None,
    max_bookings: int,
    note: str,
    today: dt.date,
) -> str:
    errors: dict[str, list] = {}
    if appointment_type.clinic_id != clinic.pk:
        errors["appointment_type"] = [_("Choose an appointment type of this clinic.")]
    elif not q_matches(SUMMONS_TYPE_Q, appointment_type):
        # Hidden and proxy types and types without a web name cannot be booked by a resident.
        errors["appointment_type"] = [
            _("Residents cannot book this type on the web: it is hidden, a proxy type or has no web name.")
        ]
    if valid_until is not None and valid_until < today:
        errors["valid_until"] = [_("The last valid day cannot be in the past.")]
    elif valid_from is not None and valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = [_("The last valid day cannot be before the first.")]
    if not 1 <= max_bookings <= MAX_BOOKINGS_ALLOWED:
        errors["max_bookings"] = [
            _("Allow between 1 and %(max)d bookings.") % {"max": MAX_BOOKINGS_ALLOWED},
        ]
    note = note.strip()
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = [_("Keep the note to at most %(max)d characters.") % {"max": NOTE_MAX_LENGTH}]
    if errors:
        raise ValidationFailed(errors)
    return note


def _resident(resident: User | None, personnummer: str) -> User:
    if resident is None:
        # A resident who has never logged in is created with the basis, in its transaction (R-SEC-3).
        resident, _created = resident_get_or_create(personnummer=personnummer)
    if not resident.is_resident:
        raise ValidationFailed({"personnummer": [_("Choose a resident by personal identity number.")]})
    return resident


@transaction.atomic
def booking_basis_issue(
    *,
    actor: User,
    appointment_type: AppointmentType,
    clinic: Clinic | None = None,
    resident: User | None = None,
    personnummer: str = "",
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    max_bookings: int = 1,
    note: str = "",
) -> BookingBasis:
    """Issue a booking basis (R-TYPE-4): the resident may book ``appointment_type`` for visits
    from ``valid_from`` to ``valid_until`` (either open), ``max_bookings`` times. The note is
    internal: the resident never sees it. Audited in the same transaction (R-LOG-4)."""
    clinic = clinic or appointment_type.clinic
    _require_issuer(actor, clinic)
    note = _validate(
        clinic=clinic,
        appointment_type=appointment_type,
        valid_from=valid_from,
        valid_until=valid_until,
        max_bookings=max_bookings,
        note=note,
        today=timezone.localdate(),
    )
    resident = _resident(resident, personnummer)
    basis = BookingBasis.objects.create(
        clinic=clinic,
        resident=resident,
        appointment_type=appointment_type,
        kind=BasisKind.BASIS,
        valid_from=valid_from,
        valid_until=valid_until,
        max_bookings=max_bookings,
        note=note,
        issued_by=actor,
    )
    audit_record(actor=actor, action="booking_basis.issue", clinic=clinic, resident=resident, obj=basis)
    return basis


@transaction.atomic
def booking_basis_revoke(
    *, actor: User, clinic: Clinic, basis_id: int, now: dt.datetime | None = None
) -> tuple[BookingBasis, int]:
    """Revoke a basis or open summons of this clinic: no new booking rests on it. Bookings already
    made on it stay booked (the resident may still cancel or rebook them); their number is
    returned so the page can say so. Another clinic's basis is "not found" (R-ACL-1)."""
    _require_issuer(actor, clinic)
    resident_id = BookingBasis.objects.filter(pk=basis_id, clinic=clinic).values_list("resident_id", flat=True).first()
    if resident_id is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    # The lock order of every booking change: the resident first, then the basis. A booking on
    # this basis holds the resident while it waits for the basis; taking the basis first here
    # would deadlock with it (the audit row's key on the resident waits for the booking).
    resident_lock(resident=User(pk=resident_id))
    basis = BookingBasis.objects.select_for_update().select_related("resident", "appointment_type").get(pk=basis_id)
    if basis.revoked_at is not None:
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED, _("This booking basis is already revoked."))
    basis.revoked_at = now or timezone.now()
    basis.revoked_by = actor
    basis.save(update_fields=["revoked_at", "revoked_by"])
    kept = Booking.objects.filter(booking_basis=basis, status=BookingStatus.ACTIVE).count()
    audit_record(
        actor=actor,
        action="booking_basis.revoke",
        clinic=clinic,
        resident=basis.resident,
        obj=basis,
        detail=f"active bookings kept={kept}",
    )
    return basis, kept


@transaction.atomic
def open_summons_send(
    *,
    actor: User,
    clinic: Clinic,
    appointment_type: AppointmentType,
    valid_from: dt.date,
    valid_until: dt.date,
    resident: User | None = None,
    personnummer: str = "",
    note: str = "",
) -> BookingBasis:
    """Öppen kallelse: invite the resident to book ``appointment_type`` for a visit between
    ``valid_from`` and ``valid_until`` without choosing a time. It is a one-use booking basis
    that opens the type even when it is not otherwise offered to the resident; the invitation
    lands in the inbox with a "Boka tid" link and creates the clinic relation (R-REL-1, guide
    001). The note is internal. Audited in the same transaction (R-LOG-4)."""
    _require_issuer(actor, clinic)
    note = _validate(
        clinic=clinic,
        appointment_type=appointment_type,
        valid_from=valid_from,
        valid_until=valid_until,
        max_bookings=1,
        note=note,
        today=timezone.localdate(),
    )
    resident = _resident(resident, personnummer)
    basis = BookingBasis.objects.create(
        clinic=clinic,
        resident=resident,
        appointment_type=appointment_type,
        kind=BasisKind.OPEN_SUMMONS,
        valid_from=valid_from,
        valid_until=valid_until,
        max_bookings=1,
        note=note,
        issued_by=actor,
    )
    # The inbox speaks the service's language, as every summons does; the type by its web name
    # only (R-TYPE-1).
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "what": appointment_type.web_name,
            "clinic": clinic.name,
            "first": dates.when(valid_from, "date"),
            "last": dates.when(valid_until, "date"),
        }
        subject = gettext("Book a time: %(what)s") % values
        body = (
            gettext(
                "%(clinic)s invites you to book a time for %(what)s between %(first)s and %(last)s. "
                "Choose a time that suits you with the link below. If no time suits you, call the clinic."
            )
            % values
        )
    inbox_message_send(
        resident=resident,
        clinic=clinic,
        kind=MessageKind.OPEN_SUMMONS,
        subject=subject,
        body=body,
        booking_basis=basis,
    )
    audit_record(actor=actor, action="open_summons.send", clinic=clinic, resident=resident, obj=basis)
    return basis
