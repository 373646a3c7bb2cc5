"""Which times a resident is offered (R-VIS-1, R-VIS-2)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from clinics.models import AppointmentType, Clinic, Resource
from clinics.selectors import bookable_types
from tidbok.errors import BookingError, ErrorCode

from .models import Hold, HoldState, Slot, SlotStatus

LOCAL_TZ = ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=LOCAL_TZ)


def visibility_cutoff(*, appointment_type: AppointmentType, now: dt.datetime | None = None) -> dt.datetime:
    """R-VIS-1: a slot on local day D is visible from midnight of D − (N − 1); equivalently,
    today's residents see slots starting before midnight of today + N."""
    now = now or timezone.now()
    today = timezone.localtime(now, LOCAL_TZ).date()
    return local_midnight(today + dt.timedelta(days=appointment_type.effective_visibility_days))


def offered_slots(
    *,
    clinic: Clinic,
    appointment_type: AppointmentType,
    resident: User,
    resource: Resource | None = None,
    start_from: dt.datetime | None = None,
    until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Slot]:
    """R-VIS-2 as one query on the partial index ``slot_offered_idx``: free, published,
    unblocked, future, inside the window, of a type the resident may book."""
    now = now or timezone.now()
    if not bookable_types(clinic=clinic, resident=resident).filter(pk=appointment_type.pk).exists():
        return Slot.objects.none()
    lower = max(now, start_from) if start_from else now
    upper = visibility_cutoff(appointment_type=appointment_type, now=now)
    if until is not None:
        upper = min(upper, until)
    slots = Slot.objects.filter(
        clinic=clinic,
        appointment_type=appointment_type,
        status=SlotStatus.FREE,
        is_published=True,
        is_blocked=False,
        start__gt=lower,
        start__lt=upper,
    )
    if resource is not None:
        slots = slots.filter(resource=resource)
    return slots.select_related("resource").order_by("start", "resource__name")


def offered_days(
    *,
    clinic: Clinic,
    appointment_type: AppointmentType,
    resident: User,
    resource: Resource | None = None,
    start_from: dt.datetime | None = None,
    until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> dict[dt.date, int]:
    """Local dates with free times, and how many, for the booking calendar."""
    slots = offered_slots(
        clinic=clinic,
        appointment_type=appointment_type,
        resident=resident,
        resource=resource,
        start_from=start_from,
        until=until,
        now=now,
    )
    rows = (
        slots.order_by()
        .annotate(day=TruncDate("start", tzinfo=LOCAL_TZ))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    return {row["day"]: row["n"] for row in rows}


def slot_check_offered(*, slot: Slot, resident: User, now: dt.datetime, own_hold: Hold | None = None) -> None:
    """The same conditions as :func:`offered_slots`, for one (locked) slot, raising the error
    a resident should see. A slot held by ``own_hold`` counts as free for its holder."""
    if slot.start <= now:
        raise BookingError(ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED)
    if not bookable_types(clinic=slot.clinic, resident=resident).filter(pk=slot.appointment_type_id).exists():
        if slot.appointment_type.requires_booking_basis and not slot.appointment_type.hidden_for_patient:
            raise BookingError(ErrorCode.BOOKING_BASIS_REQUIRED)
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    if slot.start >= visibility_cutoff(appointment_type=slot.appointment_type, now=now):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    slot_check_free(slot=slot, resident=resident, now=now, own_hold=own_hold)


def slot_check_free(
    *, slot: Slot, resident: User, now: dt.datetime, own_hold: Hold | None = None, require_published: bool = True
) -> None:
    """Free, published and unblocked, or held by this resident (R-VIS-2, R-BOOK-3). Clinic staff
    book from the authoritative timebook and need not wait for the publisher."""
    if slot.is_blocked or slot.status == SlotStatus.BOOKED:
        raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED)
    if slot.status == SlotStatus.HELD:
        if own_hold is not None and own_hold.slot_id == slot.pk and own_hold.state == HoldState.ACTIVE:
            return
        active = Hold.objects.filter(slot=slot, state=HoldState.ACTIVE).first()
        # A hold that has run out but not yet been swept by the worker no longer counts.
        if active is None or (active.resident_id != resident.pk and active.expires_at > now):
            raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED)
        return
    if require_published and not slot.is_published:
        raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED)
