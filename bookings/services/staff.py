"""Clinic staff and proxy bookers book for a resident (R-BOOK-4, R-BOOK-9, R-TYPE-6)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import proxy_membership, user_has_clinic_role
from accounts.services import audit_record, resident_get_or_create, resident_lock
from clinics.models import Clinic
from clinics.selectors import PROXY_TYPE_Q, q_matches
from core.errors import BookingError, ErrorCode, PermissionDeniedError, ValidationFailed
from schedules.models import Hold, HoldState, Slot
from schedules.selectors import check_booking_notice, slot_check_free

from ..models import (
    Booking,
    Channel,
    LogStatus,
    MessageKind,
    WaitlistEntry,
    WaitlistStatus,
)
from .comment import validate_patient_comment
from .common import SCHEDULER_ROLES, _check_no_overlap, _insert_booking, _lock_slots, _log
from .inbox import _send_booking_message
from .notify import NotifiedBy

# --- Clinic staff and proxy bookers (R-BOOK-4, R-BOOK-9, R-TYPE-6) ------------------------------


def _slot_clinic(slot_id: int) -> Clinic:
    slot = Slot.objects.select_related("clinic").filter(pk=slot_id).first()
    if slot is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    return slot.clinic


def _staff_slot(*, resident: User, slot_id: int, now: dt.datetime) -> Slot:
    resident_lock(resident=resident)
    slot = _lock_slots([slot_id])[slot_id]
    if slot.start <= now:
        raise BookingError(ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED)
    slot_check_free(slot=slot, resident=resident, now=now, require_published=False)
    _check_no_overlap(resident=resident, slot=slot)
    Hold.objects.filter(slot=slot, state=HoldState.ACTIVE).update(state=HoldState.RELEASED)
    return slot


@transaction.atomic
def booking_create_for_resident(
    *,
    actor: User,
    resident: User,
    slot_id: int,
    waitlist_entry: WaitlistEntry | None = None,
    now: dt.datetime | None = None,
) -> Booking:
    """A scheduler books a time for a resident: relation and summons follow (R-REL-1, R-BOOK-9),
    and the booking is on the audit log in the same transaction (R-LOG-4): there is no booking
    made for a resident without the record of who made it, whichever page or API asked."""
    now = now or timezone.now()
    if not resident.is_resident:
        raise ValidationFailed({"resident": [_("Choose a resident by personal identity number.")]})
    clinic = _slot_clinic(slot_id)
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=SCHEDULER_ROLES):
        raise PermissionDeniedError()
    slot = _staff_slot(resident=resident, slot_id=slot_id, now=now)
    booking = _insert_booking(
        slot=slot, resident=resident, channel=Channel.STAFF, created_by=actor, waitlist_entry=waitlist_entry
    )
    if waitlist_entry is not None:
        WaitlistEntry.objects.filter(pk=waitlist_entry.pk).update(status=WaitlistStatus.BOOKED)
    _send_booking_message(booking=booking, kind=MessageKind.SUMMONS)
    audit_record(actor=actor, action="booking.create_for_resident", clinic=clinic, resident=resident, obj=booking)
    return booking


@transaction.atomic
def booking_create_by_proxy(
    *,
    actor: User,
    slot_id: int,
    resident: User | None = None,
    personnummer: str = "",
    phone: str = "",
    reason: str = "",
    now: dt.datetime | None = None,
) -> Booking:
    """A proxy booker (1177's telephone service, an emergency department) books a time of a proxy
    type for a resident (R-TYPE-6): only a type proxy bookers may book (``PROXY_TYPE_Q``), in a
    region they book in, and not inside the type's minimum notice (R-POL-1). As a staff booking,
    the resident gets a summons and with it a clinic relation (R-BOOK-9, R-REL-1); as a change on
    the resident's behalf, the web booking log has a row with the proxy channel and the booker's
    unit (R-LOG-1, R-BOOK-4); the booking is on the audit log with that unit in the same
    transaction (R-LOG-4). Given a personnummer, a resident who has never logged in is created
    with the booking (R-SEC-3). Where the clinic asks for a phone number and reason (R-TYPE-7), so
    does a proxy booking."""
    now = now or timezone.now()
    clinic = _slot_clinic(slot_id)
    membership = proxy_membership(user=actor, clinic=clinic)
    if membership is None:
        raise PermissionDeniedError()
    if resident is None:
        resident, _created = resident_get_or_create(personnummer=personnummer)
    if not resident.is_resident:
        raise ValidationFailed({"resident": [_("Choose a resident by personal identity number.")]})
    slot = _staff_slot(resident=resident, slot_id=slot_id, now=now)
    if not q_matches(PROXY_TYPE_Q, slot.appointment_type):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    # R-POL-1: unlike the clinic's own staff, a proxy booker is bound by the type's minimum notice.
    check_booking_notice(slot=slot, now=now)
    phone, reason = validate_patient_comment(slot.clinic, phone, reason, on_behalf=True)
    booking = _insert_booking(
        slot=slot,
        resident=resident,
        channel=Channel.PROXY,
        created_by=actor,
        proxy_unit=membership.unit_name,
        patient_phone=phone,
        patient_reason=reason,
    )
    _send_booking_message(booking=booking, kind=MessageKind.SUMMONS, by=NotifiedBy.PROXY)
    _log(
        status=LogStatus.BOOKED,
        changed_at=now,
        channel=Channel.PROXY,
        previous=None,
        new=booking,
        proxy_unit=membership.unit_name,
    )
    audit_record(
        actor=actor,
        action="booking.create_by_proxy",
        clinic=clinic,
        resident=resident,
        obj=booking,
        unit_name=membership.unit_name,
    )
    return booking
