"""The waitlist (R-BOOK-6, R-BOOK-9, R-WAIT-1, R-WAIT-3); the staff pages' and API's
booking for a resident, from the waitlist or by personnummer."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import user_has_clinic_role
from accounts.services import audit_record, resident_get_or_create, resident_lock
from clinics.models import AppointmentType, Clinic
from clinics.selectors import type_bookable_by
from core.errors import BookingError, ErrorCode, PermissionDeniedError, ValidationFailed
from schedules.models import Slot
from schedules.selectors import LOCAL_TZ

from ..models import (
    Booking,
    PartOfDay,
    WaitlistEntry,
    WaitlistStatus,
)
from .attorney import attorney_waitlist_message
from .common import SCHEDULER_ROLES, _acting
from .staff import booking_create_for_resident
from .waitlist_offers import waitlist_offer_withdraw_for_entry

# How far ahead a resident may ask for a time: the longest a type shows times ahead (R-VIS-1).
WAITLIST_MAX_DAYS_AHEAD = 365
PRIORITY_RANGE = (-9, 9)

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
    booking = booking_create_for_resident(
        actor=actor, resident=entry.resident, slot_id=slot_id, waitlist_entry=entry, now=now
    )
    # R-WAIT-3: booked by the clinic, the entry leaves the waitlist, so a time offered to it goes on.
    waitlist_offer_withdraw_for_entry(entry_id=entry.pk, now=now or timezone.now())
    return booking


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


# --- Residents on the waitlist (R-WAIT-1) -------------------------------------------------------


@transaction.atomic
def waitlist_join(
    *,
    resident: User,
    appointment_type: AppointmentType,
    earliest_date: dt.date | None = None,
    latest_date: dt.date | None = None,
    weekdays: list[int] | None = None,
    part_of_day: str = "",
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> WaitlistEntry:
    """R-WAIT-1: a resident puts themselves on the waitlist of a type the clinic opened to them
    and that they may book (R-VIS-2, R-CASE-3), with the dates, weekdays and time of day that suit
    them. One waiting entry per type: joining again changes the wishes and keeps the place.
    ``actor``: a guardian or attorney doing it for the resident (R-GUARD-4, R-POA-1), checked under
    the resident's lock and recorded on the entry."""
    now = now or timezone.now()
    clinic = appointment_type.clinic
    resident_lock(resident=resident)
    acting = _acting(actor=actor, patient=resident, clinic_id=clinic.pk, now=now)
    if not appointment_type.waitlist_for_residents or not type_bookable_by(
        appointment_type=appointment_type, clinic=clinic, resident=resident
    ):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    today = timezone.localtime(now, LOCAL_TZ).date()
    last_day = today + dt.timedelta(days=WAITLIST_MAX_DAYS_AHEAD)
    errors: dict[str, list] = {}
    if earliest_date is not None and not today <= earliest_date <= last_day:
        errors["earliest_date"] = [_("Choose a date from today and at most a year ahead.")]
    if latest_date is not None and not today <= latest_date <= last_day:
        errors["latest_date"] = [_("Choose a date from today and at most a year ahead.")]
    elif earliest_date is not None and latest_date is not None and latest_date < earliest_date:
        errors["latest_date"] = [_("The latest date must be the same as or after the earliest date.")]
    days = sorted(set(weekdays or []))
    if any(day not in range(1, 8) for day in days):
        errors["weekdays"] = [_("Choose weekdays from the list.")]
    if part_of_day not in ("", *PartOfDay.values):
        errors["part_of_day"] = [_("Choose a time of day from the list.")]
    if errors:
        raise ValidationFailed(errors)
    wishes = {"earliest_date": earliest_date, "latest_date": latest_date, "weekdays": days, "part_of_day": part_of_day}
    entry = (
        WaitlistEntry.objects.select_for_update()
        .filter(resident=resident, appointment_type=appointment_type, status=WaitlistStatus.WAITING)
        .first()
    )
    if entry is not None:
        for field, value in wishes.items():
            setattr(entry, field, value)
        entry.save(update_fields=[*wishes, "updated_at"])
    else:
        entry = WaitlistEntry.objects.create(
            clinic=clinic,
            resident=resident,
            appointment_type=appointment_type,
            by_resident=True,
            created_by=acting.actor,
            acting_as=acting.acting_as,
            **wishes,
        )
    attorney_waitlist_message(acting=acting, entry=entry, joined=True)
    return entry


@transaction.atomic
def waitlist_leave(*, resident: User, entry_id: int, actor: User | None = None, now: dt.datetime | None = None) -> None:
    """R-WAIT-1: the resident (or a guardian or attorney for them, recorded as ``removed_by``)
    takes them off the waitlist; a time offered to them goes on to the next."""
    now = now or timezone.now()
    entry = (
        WaitlistEntry.objects.select_related("clinic", "appointment_type")
        .filter(pk=entry_id, resident=resident, status=WaitlistStatus.WAITING)
        .first()
    )
    if entry is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    resident_lock(resident=resident)
    acting = _acting(actor=actor, patient=resident, clinic_id=entry.clinic_id, now=now)
    waitlist_offer_withdraw_for_entry(entry_id=entry.pk, now=now)
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        status=WaitlistStatus.REMOVED, removed_by=acting.actor, updated_at=now
    )
    attorney_waitlist_message(acting=acting, entry=entry, joined=False)


@transaction.atomic
def waitlist_entry_set_priority(*, actor: User, entry_id: int, priority: int) -> WaitlistEntry:
    """R-WAIT-3: staff put an entry ahead of (or behind) first come, first served; audited (R-LOG-4)."""
    entry = WaitlistEntry.objects.select_related("clinic", "resident").filter(pk=entry_id).first()
    if entry is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    if not user_has_clinic_role(user=actor, clinic=entry.clinic, roles=SCHEDULER_ROLES):
        raise PermissionDeniedError()
    low, high = PRIORITY_RANGE
    if not low <= priority <= high:
        raise ValidationFailed(
            {"priority": [_("Enter a priority from %(low)s to %(high)s.") % {"low": low, "high": high}]}
        )
    entry.priority = priority
    entry.save(update_fields=["priority", "updated_at"])
    audit_record(
        actor=actor,
        action="waitlist.priority",
        clinic=entry.clinic,
        resident=entry.resident,
        obj=entry,
        detail=str(priority),
    )
    return entry
