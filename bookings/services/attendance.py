"""Reception marks whether a resident came (R-ATT-1): arrived, arrived late or did not come."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import user_has_clinic_role
from accounts.services import audit_record
from core.errors import BookingError, ErrorCode, PermissionDeniedError, ValidationFailed
from core.localtime import LOCAL_TZ

from ..models import Attendance, AttendanceState, Booking, BookingStatus
from .common import SCHEDULER_ROLES


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, LOCAL_TZ).date()


def _locked_booking(*, actor: User, booking_id: int) -> Booking:
    """The booking, locked so that a mark and an undo of it from two desks happen one after the other
    and the audit log tells them in that order (tests/bookings/test_attendance_concurrency.py); only
    reception (schedulers) of its clinic may mark it (R-ACL-1)."""
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("clinic", "resident")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    if not user_has_clinic_role(user=actor, clinic=booking.clinic, roles=SCHEDULER_ROLES):
        raise PermissionDeniedError()
    return booking


def _check_same_day(mark: Attendance | None, today: dt.date) -> None:
    if mark is not None and _local_day(mark.marked_at) != today:
        raise BookingError(
            ErrorCode.APPOINTMENT_IS_NOT_ALLOWED,
            _("The mark was made on an earlier day and can no longer be changed or undone."),
        )


@transaction.atomic
def attendance_mark(*, actor: User, booking_id: int, state: str, now: dt.datetime | None = None) -> Attendance:
    """R-ATT-1: mark a booked visit of today or an earlier day. "Did not come" only once the time has
    started. A mark made today may be changed today; the change is on the audit log (R-LOG-4)."""
    now = now or timezone.now()
    if state not in AttendanceState.values:
        raise ValidationFailed({"state": [_("Choose arrived, arrived late or did not come.")]})
    booking = _locked_booking(actor=actor, booking_id=booking_id)
    if booking.status != BookingStatus.ACTIVE:
        raise BookingError(
            ErrorCode.APPOINTMENT_IS_NOT_ALLOWED,
            _("Only a booked time can be marked; this one was cancelled or moved."),
        )
    today = _local_day(now)
    if _local_day(booking.start) > today:
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED, _("A visit can be marked on its day, not before."))
    if state == AttendanceState.NO_SHOW and booking.start > now:
        raise BookingError(
            ErrorCode.APPOINTMENT_IS_NOT_ALLOWED, _("A resident can be marked as not come once the time has started.")
        )
    current = Attendance.objects.filter(booking=booking).first()
    _check_same_day(current, today)
    mark, _created = Attendance.objects.update_or_create(
        booking=booking, defaults={"state": state, "marked_at": now, "marked_by": actor}
    )
    audit_record(
        actor=actor,
        action="attendance.mark",
        clinic=booking.clinic,
        resident=booking.resident,
        obj=booking,
        detail=state,
    )
    return mark


@transaction.atomic
def attendance_undo(*, actor: User, booking_id: int, now: dt.datetime | None = None) -> None:
    """R-ATT-1: take back a mark made today; on the audit log with the mark it removed."""
    now = now or timezone.now()
    booking = _locked_booking(actor=actor, booking_id=booking_id)
    current = Attendance.objects.filter(booking=booking).first()
    if current is None:
        raise BookingError(ErrorCode.NOT_FOUND, _("The visit has no mark to undo."))
    _check_same_day(current, _local_day(now))
    current.delete()
    audit_record(
        actor=actor,
        action="attendance.undo",
        clinic=booking.clinic,
        resident=booking.resident,
        obj=booking,
        detail=current.state,
    )
