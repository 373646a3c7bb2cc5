"""What a resident's web booking reads and writes beside the booking itself: its first read (the
resident's and the slot's locks), the booking basis it consumes with the overlap and
one-at-a-time checks, and the rows it leaves (the clinic relation, the web log row). On
PostgreSQL each part is one statement (:mod:`.statements`); elsewhere the queries they stand for."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.acting import Acting
from accounts.models import User
from accounts.services import resident_lock
from clinics.models import AppointmentType, CaseType, Clinic, Region, RelationSource, Resource
from clinics.selectors import OPEN_SUMMONS_KIND, TypeAccess, case_types_keep, case_types_read
from clinics.services import relation_add, relation_add_statement
from core.errors import BookingError, ErrorCode
from schedules.models import Slot
from schedules.selectors import LOCAL_TZ

from ..basis_selectors import usable_basis
from ..models import Booking, BookingBasis, Channel, LogStatus, WebBookingLogEntry
from .attorney import attorney_action_message
from .common import (
    AlsoWritten,
    _check_no_overlap,
    _limits_one_at_a_time,
    _lock_slots,
    _log,
    _log_fields,
    _raise_refusal,
    _refusing_booking_params,
)
from .notify import NotificationKind, NotifiedBy, notification_record
from .statements import _basis_and_refusing_sql, _from_row, _log_insert_fields, _log_insert_sql, _resident_and_slot_sql


def _lock_resident_and_slot(*, resident: User, slot_id: int) -> Slot:
    """:func:`accounts.services.resident_lock`, then :func:`_lock_slots` of the one slot, with the
    clinic's case types kept on its clinic (:func:`clinics.selectors.case_types_keep`, until
    ``case_types_forget``): what a web booking reads first. On PostgreSQL one statement
    (:func:`_resident_and_slot_sql`), elsewhere three."""
    if connection.vendor != "postgresql":
        resident_lock(resident=resident)
        slot = _lock_slots([slot_id])[slot_id]
        case_types_read(clinic=slot.clinic)
        return slot
    with connection.cursor() as cursor:
        cursor.execute(_resident_and_slot_sql(), {"resident": resident.pk, "slot": slot_id})
        rows = cursor.fetchall()
    if not rows:
        raise BookingError(ErrorCode.NOT_FOUND)
    db = connection.alias
    slot, at = _from_row(Slot, rows[0], 0, db)
    clinic, at = _from_row(Clinic, rows[0], at, db)
    clinic.region, at = _from_row(Region, rows[0], at, db)
    slot.resource, at = _from_row(Resource, rows[0], at, db)
    slot.appointment_type, at = _from_row(AppointmentType, rows[0], at, db)
    slot.clinic = clinic
    # The LEFT JOIN gives one row per case type, or one row of NULLs for a clinic without any.
    case_types = [_from_row(CaseType, row, at, db)[0] for row in rows if row[at] is not None]
    case_types_keep(clinic=clinic, case_types=case_types)
    return slot


def _locked_basis_and_refusing_booking(
    *, resident: User, slot: Slot, kind: str | None, on_day: dt.date, now: dt.datetime
) -> tuple[BookingBasis | None, tuple[dt.datetime, str, bool] | None]:
    """PostgreSQL only: :func:`bookings.basis_selectors.usable_basis` of ``kind`` covering
    ``on_day``, row-locked (one revoked or used up since the statement began is passed over), and
    :func:`_first_refusing_booking`, where the one-booking-at-a-time rule counts only for a
    booking without that basis: both in one statement, as a web booking asks both, after the
    resident's lock (so in a statement of their own, which sees what the lock waited for)."""
    limited = _limits_one_at_a_time(slot.clinic)
    params = _refusing_booking_params(resident=resident, slot=slot, now=now)
    params.update(type=slot.appointment_type_id, kind=kind, day=on_day, today=timezone.localdate())
    with connection.cursor() as cursor:
        cursor.execute(_basis_and_refusing_sql(with_kind=kind is not None, limited=limited), params)
        row = cursor.fetchone()
    basis_end = len(BookingBasis._meta.concrete_fields)
    basis = None if row[0] is None else _from_row(BookingBasis, row, 0, connection.alias)[0]
    start, type_name, overlaps = row[basis_end:]
    return basis, (None if start is None else (start, type_name, bool(overlaps)))


def _basis_used(basis: BookingBasis | None, *, now: dt.datetime) -> list[AlsoWritten]:
    """The booking basis' use by the booking (R-TYPE-4): used up at its last allowed booking."""
    if basis is None:
        return []
    basis.uses += 1
    if basis.uses >= basis.max_bookings:
        basis.consumed_at = now
    return [
        AlsoWritten(
            cte=f'UPDATE "{BookingBasis._meta.db_table}" SET uses = %s, consumed_at = %s WHERE id = %s',
            params=[basis.uses, basis.consumed_at, basis.pk],
            write=lambda _booking: basis.save(update_fields=["uses", "consumed_at"]),
        )
    ]


def _web_booking_rows(
    *, resident: User, slot: Slot, booking: Booking, acting: Acting, now: dt.datetime
) -> list[AlsoWritten]:
    """The rows every booking a resident makes on the web writes with it: the clinic on the start
    page (R-REL-1, :func:`clinics.services.relation_add`) and the web log row (R-LOG-1)."""
    statement, params = relation_add_statement(
        resident_id=resident.pk, clinic_id=slot.clinic_id, source=RelationSource.BOOKING
    )
    relation = AlsoWritten(
        cte=statement,
        params=params,
        write=lambda _booking: relation_add(resident=resident, clinic=slot.clinic, source=RelationSource.BOOKING),
    )
    return [relation, _log_booked(booking=booking, changed_at=now, acting=acting)]


def _web_booking_recorded(*, resident: User, slot: Slot, booking: Booking, acting: Acting, now: dt.datetime) -> None:
    """What every booking a resident makes on the web leaves behind, in its transaction, for a
    booking inserted without :func:`_web_booking_rows`: those rows, and what
    :func:`_web_booking_told` sends."""
    for row in _web_booking_rows(resident=resident, slot=slot, booking=booking, acting=acting, now=now):
        row.write(booking)
    _web_booking_told(resident=resident, booking=booking, acting=acting)


def _web_booking_told(*, resident: User, booking: Booking, acting: Acting) -> None:
    """The grantor's message when an attorney booked (R-POA-1) and the confirmation (R-BOOK-9)."""
    attorney_action_message(acting=acting, booking=booking, status=LogStatus.BOOKED)
    notification_record(
        NotificationKind.BOOKED,
        resident_id=resident.pk,
        clinic_id=booking.clinic_id,
        booking=booking,
        by=NotifiedBy.RESIDENT,
    )


def _basis_and_check(*, resident: User, slot: Slot, access: TypeAccess, now: dt.datetime) -> BookingBasis | None:
    """The booking basis the booking consumes, locked (:func:`_basis_for`), then no overlap
    (R-BOOK-2) and, without a basis, one booking at a time, in one query
    (:func:`_check_no_overlap`). On PostgreSQL all of it in one statement, after the resident's
    lock (:func:`_locked_basis_and_refusing_booking`)."""
    if connection.vendor != "postgresql":
        basis = _basis_for(resident=resident, slot=slot, access=access)
        _check_no_overlap(resident=resident, slot=slot, one_at_a_time_now=now if basis is None else None)
        return basis
    basis, refusing = _locked_basis_and_refusing_booking(
        resident=resident,
        slot=slot,
        kind=_basis_kind(access),
        on_day=timezone.localtime(slot.start, LOCAL_TZ).date(),
        now=now,
    )
    if basis is None and access.needs_basis:
        raise BookingError(ErrorCode.BOOKING_BASIS_REQUIRED)
    _raise_refusal(slot=slot, found=refusing)
    return basis


def _basis_kind(access: TypeAccess) -> str | None:
    """The kind of basis the booking rests on: the one the type needs (None: any) — an open
    summons when only a summons opens the type —, else an open summons it fulfils."""
    return access.basis_kind if access.needs_basis else OPEN_SUMMONS_KIND


def _basis_for(*, resident: User, slot: Slot, access: TypeAccess) -> BookingBasis | None:
    """The booking basis the booking consumes (R-TYPE-4), locked: the one the type needs — an
    open summons when only a summons opens the type — covering the visit's day. A type offered
    without one still fulfils an open summons for it, so the invitation is not left open."""
    day = timezone.localtime(slot.start, LOCAL_TZ).date()
    basis = usable_basis(
        resident=resident, appointment_type_id=slot.appointment_type_id, on_day=day, kind=_basis_kind(access)
    )
    if basis is not None:
        # Revoked or used up by a staff member since it was read: the row lock settles it.
        basis = BookingBasis.objects.select_for_update().get(pk=basis.pk)
        if basis.revoked_at is not None or basis.consumed_at is not None:
            basis = None
    if basis is None and access.needs_basis:
        raise BookingError(ErrorCode.BOOKING_BASIS_REQUIRED)
    return basis


def _log_booked(*, booking: Booking, changed_at: dt.datetime, acting: Acting) -> AlsoWritten:
    """The log row (:func:`_log`) of a new web booking, written with the booking
    (:func:`_insert_booking`'s ``also``) and naming it by its new id."""
    kwargs: dict[str, Any] = {
        "status": LogStatus.BOOKED,
        "changed_at": changed_at,
        "channel": Channel.WEB,
        "previous": None,
        "new": booking,
        "proxy_unit": "",
        "acting": acting,
    }
    entry = WebBookingLogEntry(**_log_fields(**kwargs))
    params = [field.get_db_prep_save(getattr(entry, field.attname), connection) for field in _log_insert_fields()]
    return AlsoWritten(cte=_log_insert_sql(), params=params, write=lambda saved: _log(**kwargs))
