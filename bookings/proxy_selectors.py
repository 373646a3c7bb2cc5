"""What proxy bookers see (R-TYPE-6, R-BOOK-4, R-LOG-4): 1177's telephone service and emergency
departments booking for a resident in a clinic's web timebook."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.selectors import proxy_memberships, resident_for_personnummer
from accounts.services import audit_record
from clinics.models import PROXY_MARKER
from clinics.policy import change_deadline, too_late_to_change_message
from clinics.selectors import PROXY_CANCEL_TYPE_Q, q_matches
from core.errors import BookingError, ErrorCode, PermissionDeniedError

from .models import Booking, BookingStatus
from .selectors import VIEW_AFTER_START, late_fee_text


def proxy_region_ids(*, actor: User) -> list[int]:
    """The regions the actor books in as a proxy booker; refused for anyone else (R-ACL-1)."""
    region_ids = [membership.region_id for membership in proxy_memberships(user=actor) if membership.region_id]
    if not region_ids:
        raise PermissionDeniedError()
    return region_ids


def _proxy_bookings(*, region_ids: list[int], now: dt.datetime) -> QuerySet[Booking]:
    """Active bookings of proxy types at clinics of these regions, until two hours after their
    start (as the resident sees them, R-BOOK-5): the bookings a proxy booker may see."""
    return Booking.objects.filter(
        status=BookingStatus.ACTIVE,
        clinic__region_id__in=region_ids,
        appointment_type__internal_name__contains=PROXY_MARKER,
        start__gt=now - VIEW_AFTER_START,
    ).select_related("clinic", "appointment_type", "resource", "resident", "created_by")


@dataclass(frozen=True)
class ProxyResidentRead:
    """A resident as a proxy booker finds them: None when the personnummer has never logged in
    or been booked for (booking creates them), and their bookings of proxy types in the region."""

    resident: User | None
    bookings: list[Booking]


def resident_for_proxy(*, actor: User, personnummer: str, now: dt.datetime | None = None) -> ProxyResidentRead:
    """A proxy booker looks a resident up by normalised personnummer (R-TYPE-6). The read is one
    audit event per region the booker acts in, with the unit they act for (R-LOG-4); a number
    nobody has is no one's data, and nothing is created by the read (R-SEC-3)."""
    now = now or timezone.now()
    memberships = [m for m in proxy_memberships(user=actor) if m.region_id]
    if not memberships:
        raise PermissionDeniedError()
    resident = resident_for_personnummer(personnummer=personnummer)
    if resident is None:
        return ProxyResidentRead(resident=None, bookings=[])
    bookings = list(
        _proxy_bookings(region_ids=[m.region_id for m in memberships if m.region_id], now=now)
        .filter(resident=resident)
        .order_by("start", "pk")
    )
    with transaction.atomic():
        for membership in memberships:
            audit_record(
                actor=actor,
                action="proxy.resident_read",
                resident=resident,
                region_id=membership.region_id,
                unit_name=membership.unit_name,
                detail=f"proxy bookings shown: {len(bookings)}",
            )
    return ProxyResidentRead(resident=resident, bookings=bookings)


def booking_for_proxy(*, actor: User, booking_id: int, now: dt.datetime | None = None) -> Booking:
    """One booking a proxy booker may see (:func:`_proxy_bookings`); anything else is "not found"
    (R-ACL-1). The read is audited with the booker's unit (R-LOG-4)."""
    now = now or timezone.now()
    booking = _proxy_bookings(region_ids=proxy_region_ids(actor=actor), now=now).filter(pk=booking_id).first()
    if booking is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    membership = next(m for m in proxy_memberships(user=actor) if m.region_id == booking.clinic.region_id)
    audit_record(
        actor=actor,
        action="booking.read",
        clinic=booking.clinic,
        resident=booking.resident,
        obj=booking,
        unit_name=membership.unit_name,
    )
    return booking


def proxy_cancel_refusal(*, booking: Booking, now: dt.datetime) -> ErrorCode | None:
    """R-TYPE-6: a proxy booker may cancel an active booking of a proxy type that is cancellable,
    at a clinic whose timebook supports cancelling (R-CLINIC-2), before it starts and, as on the
    web, before the type's deadline for changes (R-POL-1): they change the clinic's web timebook
    on the resident's behalf, so past the deadline it is the clinic's own staff who may."""
    if booking.status != BookingStatus.ACTIVE:
        return ErrorCode.NOT_FOUND
    if not q_matches(PROXY_CANCEL_TYPE_Q, booking.appointment_type):
        return ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    if booking.start <= now:
        return ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    if now >= change_deadline(appointment_type=booking.appointment_type, start=booking.start):
        return ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    return None


@dataclass(frozen=True)
class ProxyCancelRead:
    """What a proxy booker is told about cancelling a booking now (R-TYPE-6, R-POL-1, R-POL-2)."""

    refusal: ErrorCode | None
    # R-POL-1: the last moment the web takes the cancellation.
    change_deadline: dt.datetime
    # Past the deadline (before the start): until when the web took changes and the clinic's phone.
    too_late_message: str
    # R-POL-2: the clinic's fee text, shown before a late cancellation is confirmed ("" otherwise).
    late_fee_text: str

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def proxy_cancel_read(*, booking: Booking, now: dt.datetime) -> ProxyCancelRead:
    refusal = proxy_cancel_refusal(booking=booking, now=now)
    deadline = change_deadline(appointment_type=booking.appointment_type, start=booking.start)
    too_late = refusal == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT and booking.start > now
    return ProxyCancelRead(
        refusal=refusal,
        change_deadline=deadline,
        too_late_message=too_late_to_change_message(clinic=booking.clinic, deadline=deadline) if too_late else "",
        late_fee_text=late_fee_text(booking=booking, changed_at=now) if refusal is None else "",
    )
