"""The waitlist (R-BOOK-6, R-BOOK-9); the staff pages' and API's
booking for a resident, from the waitlist or by personnummer."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import user_has_clinic_role
from accounts.services import audit_record, resident_get_or_create
from clinics.models import AppointmentType, Clinic
from core.errors import BookingError, ErrorCode, PermissionDeniedError, ValidationFailed
from schedules.models import Slot

from ..models import (
    Booking,
    WaitlistEntry,
    WaitlistStatus,
)
from .common import SCHEDULER_ROLES
from .staff import booking_create_for_resident

# --- The waitlist -----------------------------------------------------------


@transaction.atomic
def waitlist_add(
    *,
    actor: User,
    clinic: Clinic,
    resident: User | None = None,
    personnummer: str = "",
    appointment_type: AppointmentType | None = None,
    note: str = "",
) -> WaitlistEntry:
    """Put a resident on the clinic's waitlist, on the audit log in the same transaction (R-LOG-4).
    Given a personnummer, a resident who has never logged in is created with the entry (R-SEC-3)."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=SCHEDULER_ROLES):
        raise PermissionDeniedError()
    if appointment_type is not None and appointment_type.clinic_id != clinic.pk:
        raise ValidationFailed({"appointment_type": [_("Choose an appointment type of this clinic.")]})
    if resident is None:
        resident, _created = resident_get_or_create(personnummer=personnummer)
    entry = WaitlistEntry.objects.create(
        clinic=clinic, resident=resident, appointment_type=appointment_type, note=note[:500]
    )
    audit_record(actor=actor, action="waitlist.add", clinic=clinic, resident=resident, obj=entry)
    return entry


@transaction.atomic
def waitlist_book(*, actor: User, entry_id: int, slot_id: int, now: dt.datetime | None = None) -> Booking:
    entry = WaitlistEntry.objects.select_for_update().select_related("resident").filter(pk=entry_id).first()
    if entry is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    if entry.status != WaitlistStatus.WAITING:
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED, _("This person is no longer on the waitlist."))
    slot_clinic_id = Slot.objects.filter(pk=slot_id).values_list("clinic_id", flat=True).first()
    if slot_clinic_id != entry.clinic_id:
        raise BookingError(ErrorCode.NOT_FOUND)
    return booking_create_for_resident(
        actor=actor, resident=entry.resident, slot_id=slot_id, waitlist_entry=entry, now=now
    )


@transaction.atomic
def booking_book_for_resident(
    *,
    actor: User,
    slot_id: int,
    personnummer: str = "",
    waitlist_entry_id: int | None = None,
    now: dt.datetime | None = None,
) -> Booking:
    """The staff booking pages and API book here: from a waitlist entry, or for the resident
    with this personnummer. A resident who has never logged in is created in the booking's
    transaction, so a refused booking leaves no new resident row behind (R-SEC-3, R-BOOK-9)."""
    if waitlist_entry_id is not None:
        return waitlist_book(actor=actor, entry_id=waitlist_entry_id, slot_id=slot_id, now=now)
    resident, _created = resident_get_or_create(personnummer=personnummer)
    return booking_create_for_resident(actor=actor, resident=resident, slot_id=slot_id, now=now)
