"""What clinic staff read when they book or look at a booking for a resident (R-ACL-1, R-LOG-4)."""

from __future__ import annotations

from accounts.models import Role, User
from accounts.selectors import resident_for_personnummer
from accounts.services import audit_record
from clinics.selectors import clinics_for_staff
from core.errors import BookingError, ErrorCode

from .models import Booking


def booking_for_staff(*, actor: User, booking_id: int) -> Booking:
    """A booking as clinic staff see it in the timebook, with "changed by" (R-BOOK-4). Only for
    staff of the booking's clinic (R-ACL-1); every read is audited (R-LOG-4)."""
    clinics = clinics_for_staff(user=actor, roles=(Role.SCHEDULER, Role.SUPPORT, Role.LOCAL_ADMIN))
    booking = (
        Booking.objects.filter(pk=booking_id, clinic__in=clinics)
        .select_related("clinic", "resident", "appointment_type", "resource", "created_by")
        .first()
    )
    if booking is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    audit_record(actor=actor, action="booking.read", clinic=booking.clinic, resident=booking.resident, obj=booking)
    return booking


# --- The web booking log as support staff read it (R-LOG-2, R-LOG-4) ----------------------------


def resident_for_staff_booking(
    *, actor: User, clinic, personnummer: str, detail: str = "book for resident"
) -> User | None:
    """The resident a scheduler is about to book for, found by personnummer; the lookup is
    audited (R-LOG-4). A resident who has never logged in has no data to read yet: nothing to
    audit, and nothing is created by this read (R-SEC-3)."""
    resident = resident_for_personnummer(personnummer=personnummer)
    if resident is not None:
        audit_record(actor=actor, action="resident.lookup", clinic=clinic, resident=resident, detail=detail)
    return resident
