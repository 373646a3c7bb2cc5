"""What the booking services share: the locks, the insert the database guards (R-BOOK-1, R-BOOK-2)
and the web booking log's rows (R-LOG-1, R-BOOK-8)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, connections, router, transaction
from django.db.models import BooleanField, Case, Exists, ExpressionWrapper, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.acting import Acting, acting_check
from accounts.models import Role, User
from clinics.models import CaseKind, CaseType, Clinic
from clinics.selectors import case_type_for
from clinics.video import meeting_url_from_template
from core import dates, metrics
from core.errors import BookingError, ErrorCode
from schedules.models import Hold, HoldState, Slot, SlotStatus
from schedules.selectors import LOCAL_TZ
from schedules.services import slot_free, times_changed_later

from ..models import (
    WEB_SERVICE_NAME,
    Booking,
    BookingStatus,
    Channel,
    LogStatus,
    WebBookingLogEntry,
)
from ..selectors import is_late_change, late_fee_text
from .statements import (
    _ONE_AT_A_TIME,
    _booking_fields,
    _booking_insert_sql,
    _refusing_booking_sql,
)

SCHEDULER_ROLES = (Role.SCHEDULER,)

# --- Locks and the insert that the database guards (R-BOOK-1, R-BOOK-2) -----------------------


def _lock_slots(slot_ids: list[int]) -> dict[int, Slot]:
    slots = (
        Slot.objects.select_for_update(of=("self",))
        .select_related("clinic__region", "appointment_type", "resource")
        .filter(pk__in=slot_ids)
        .order_by("pk")
    )
    found = {slot.pk: slot for slot in slots}
    if len(found) != len(set(slot_ids)):
        raise BookingError(ErrorCode.NOT_FOUND)
    return found


def _check_no_overlap(
    *, resident: User, slot: Slot, ignore: Booking | None = None, one_at_a_time_now: dt.datetime | None = None
) -> None:
    """R-BOOK-2: the resident has no other active booking at the same time. With
    ``one_at_a_time_now`` the clinic's one-booking-at-a-time rule is asked in the same query
    (:func:`_check_one_booking_at_a_time`); an overlap is still the refusal given first."""
    overlap = Q(start__lt=slot.end, end__gt=slot.start)
    wanted = overlap if one_at_a_time_now is None else overlap | _one_at_a_time_q(slot=slot, now=one_at_a_time_now)
    bookings = Booking.objects.filter(wanted, resident=resident, status=BookingStatus.ACTIVE)
    if ignore is not None:
        bookings = bookings.exclude(pk=ignore.pk)
    if one_at_a_time_now is None:
        if bookings.exists():
            raise BookingError(ErrorCode.USER_IS_ALREADY_OCCUPIED)
        return
    if connection.vendor == "postgresql":
        limited = _limits_one_at_a_time(slot.clinic)
        found = _first_refusing_booking(resident=resident, slot=slot, now=one_at_a_time_now if limited else None)
    else:
        found = _first_refusing_booking_orm(bookings=bookings, overlap=overlap)
    _raise_refusal(slot=slot, found=found)


def _first_refusing_booking_orm(*, bookings: QuerySet[Booking], overlap: Q) -> tuple[dt.datetime, str, bool] | None:
    """:func:`_first_refusing_booking` through the ORM: SQLite (``make run``) reads datetimes
    back as text, which the written-out statement would compare wrongly."""
    found = (
        bookings.select_related("appointment_type")
        .annotate(overlaps=ExpressionWrapper(overlap, output_field=BooleanField()))
        .order_by("-overlaps", "start")
        .first()
    )
    return None if found is None else (found.start, found.appointment_type.web_name, bool(found.overlaps))


def _limits_one_at_a_time(clinic: Clinic) -> bool:
    case_type = case_type_for(clinic=clinic, kind=CaseKind.BOOK)
    return case_type is not None and case_type.one_booking_at_a_time


def _first_refusing_booking(
    *, resident: User, slot: Slot, now: dt.datetime | None
) -> tuple[dt.datetime, str, bool] | None:
    """The resident's active booking that overlaps ``slot`` (R-BOOK-2), else, with ``now``, one
    that counts under the one-booking-at-a-time rule (:func:`_one_at_a_time_q`, the clinic's case
    type already asked): its start, its type's web name and whether it overlaps. The statement
    is written out, not built by the ORM, as every web booking asks it and the ORM's building
    cost more than the query (the rule's own tests pin both refusals and their order)."""
    query = _refusing_booking_sql(f"OR ({_ONE_AT_A_TIME})" if now is not None else "")
    with connection.cursor() as cursor:
        cursor.execute(query, _refusing_booking_params(resident=resident, slot=slot, now=now))
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], bool(row[2]))


def _refusing_booking_params(*, resident: User, slot: Slot, now: dt.datetime | None) -> dict[str, Any]:
    return {
        "start": slot.start,
        "end": slot.end,
        "resident": resident.pk,
        "active": BookingStatus.ACTIVE.value,
        "clinic": slot.clinic_id,
        "now": now,
    }


def _raise_refusal(*, slot: Slot, found: tuple[dt.datetime, str, bool] | None) -> None:
    """The refusal of :func:`_first_refusing_booking`'s find: an overlap first (R-BOOK-2)."""
    if found is None:
        return
    start, type_name, overlaps = found
    if overlaps:
        raise BookingError(ErrorCode.USER_IS_ALREADY_OCCUPIED)
    raise _one_at_a_time_refusal(slot=slot, type_name=type_name, start=start)


def _one_at_a_time_q(*, slot: Slot, now: dt.datetime) -> Q:
    """The resident's bookings that refuse another at ``slot``'s clinic under "one active booking
    at a time per resident" (none where the clinic's BOOK case type does not say so)."""
    limits = CaseType.objects.filter(clinic=slot.clinic, kind=CaseKind.BOOK, one_booking_at_a_time=True)
    return Q(
        Exists(limits),
        clinic=slot.clinic,
        start__gt=now,
        appointment_type__hidden_for_patient=False,
        booking_basis__isnull=True,
    )


def _check_one_booking_at_a_time(*, resident: User, slot: Slot, now: dt.datetime) -> None:
    """When the clinic's BOOK case type says "one active booking at a time per resident", a
    resident who already has a time there that has not started cannot book another on the web;
    the refusal names that time. Taken under the resident lock, so two parallel bookings of two
    different times see each other. Bookings of hidden types do not count: the resident cannot
    see them (R-TYPE-2), so the refusal could not name them. A booking on a booking basis or an
    open summons is neither counted nor checked (callers skip the check for one): the basis is
    the clinic's own permission for that booking (R-TYPE-4), and it limits the bookings itself."""
    existing = (
        Booking.objects.select_related("appointment_type")
        .filter(_one_at_a_time_q(slot=slot, now=now), resident=resident, status=BookingStatus.ACTIVE)
        .order_by("start")
        .first()
    )
    if existing is not None:
        raise _one_at_a_time_refusal(slot=slot, type_name=existing.appointment_type.web_name, start=existing.start)


def _one_at_a_time_refusal(*, slot: Slot, type_name: str, start: dt.datetime) -> BookingError:
    return BookingError(
        ErrorCode.ONE_BOOKING_AT_A_TIME,
        _(
            "You already have a booked time at %(clinic)s: %(type)s, %(when)s. The clinic lets you "
            "book one time at a time. Cancel or rebook that time if you need another."
        )
        % {
            "clinic": slot.clinic.name,
            "type": type_name,
            "when": dates.when(start),
        },
    )


def _meeting_url(slot: Slot, kept: str) -> str:
    """A video visit's link: the one the booking keeps (a rebooking's), else a new room of its own
    from the clinic's template ("" when the clinic has none: staff then set it by hand). Every
    channel books through ``_insert_booking``, so web, staff, proxy, API and FHIR bookings all get it."""
    if not slot.appointment_type.is_video_visit:
        return ""
    return kept or meeting_url_from_template(slot.clinic.meeting_url_template)


@dataclass(frozen=True)
class AlsoWritten:
    """A row a booking's insert writes with it: on PostgreSQL in the insert's own statement, as a
    data-modifying CTE (``cte`` with its ``params``, ``%s`` placeholders) that may name the new
    booking's id as ``booked.id``; elsewhere ``write`` writes it, given the saved booking."""

    cte: str
    params: Sequence[Any]
    write: Callable[[Booking], object]


def _insert_booking(
    *,
    slot: Slot,
    resident: User,
    meeting_url: str = "",
    release_others_holds: bool = False,
    also: Callable[[Booking], Sequence[AlsoWritten]] | None = None,
    **fields: Any,
) -> Booking:
    """The booking of ``slot``; its active holds are converted, or with ``release_others_holds``
    only the resident's own, and anyone else's (one that ran out without being swept) released,
    in the same statement, as are the rows ``also`` gives for the (yet unsaved) booking."""
    # The slot's clinic, type and resource came with its row lock: the booking reuses them, so
    # neither the log row nor the answer loads them again.
    booking = Booking(
        slot=slot,
        resident=resident,
        clinic=slot.clinic,
        appointment_type=slot.appointment_type,
        resource=slot.resource,
        start=slot.start,
        end=slot.end,
        meeting_url=_meeting_url(slot, meeting_url),
        **fields,
    )
    others_holds = HoldState.RELEASED if release_others_holds else HoldState.CONVERTED
    try:
        # No savepoint of its own: a refused insert ends the whole booking (every caller raises
        # the error out of its transaction), so the savepoint's two statements would buy nothing.
        with transaction.atomic(savepoint=False):
            _save_with_updates(booking, slot, others_holds=others_holds, also=also(booking) if also else ())
    except IntegrityError as exc:
        if "booking_resident_no_overlap" in str(exc):
            raise BookingError(ErrorCode.USER_IS_ALREADY_OCCUPIED) from exc
        raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED) from exc
    metrics.count_on_commit("tidbok_bookings", channel=str(booking.channel))
    times_changed_later([slot.clinic_id])
    return booking


def _save_with_updates(booking: Booking, slot: Slot, *, others_holds: HoldState, also: Sequence[AlsoWritten]) -> None:
    """Insert ``booking``, take its slot off the web as booked (R-PUB-2) and end the slot's active
    holds — the resident's converted, anyone else's ``others_holds`` —, and write ``also``: on
    PostgreSQL in one statement (:func:`_booking_insert_sql`, the UPDATEs and ``also`` as
    data-modifying CTEs beside the INSERT, all or nothing like the statements they stand for;
    none of them reads what another writes, ``also`` only the new id), elsewhere one by one."""
    db = booking._state.db or router.db_for_write(Booking)
    connection = connections[db]
    if connection.vendor != "postgresql":
        booking.save(using=db)
        Slot.objects.using(db).filter(pk=slot.pk).update(
            status=SlotStatus.BOOKED, is_published=False, published_at=None
        )
        Hold.objects.using(db).filter(slot=slot, state=HoldState.ACTIVE).update(
            state=Case(
                When(resident_id=booking.resident_id, then=Value(HoldState.CONVERTED)), default=Value(others_holds)
            )
        )
        for written in also:
            written.write(booking)
        return
    params = [field.get_db_prep_save(field.pre_save(booking, True), connection) for field in _booking_fields()]
    params += [SlotStatus.BOOKED.value, slot.pk]
    params += [
        booking.resident_id,
        HoldState.CONVERTED.value,
        others_holds.value,
        slot.pk,
        HoldState.ACTIVE.value,
    ]
    ctes = "".join(f", also_{n} AS ({written.cte})" for n, written in enumerate(also))
    for written in also:
        params.extend(written.params)
    with connection.cursor() as cursor:
        cursor.execute(f"{_booking_insert_sql()}{ctes} SELECT id FROM booked", params)
        booking.pk = cursor.fetchone()[0]
    booking._state.adding = False
    booking._state.db = db


def _free_slot(slot_id: int | None) -> None:
    if slot_id is not None:
        slot_free(slot_id=slot_id)


def _check_own_hold(
    *, hold: Hold | None, resident: User, slot: Slot, now: dt.datetime, rebook_of: Booking | None = None
) -> None:
    """The hold the resident confirms must still be theirs, on this slot, active, not run out
    (R-BOOK-3), and made for the same purpose: a new booking, or rebooking this booking."""
    if hold is None:
        return
    current = Hold.objects.filter(pk=hold.pk).values_list("resident_id", "slot_id", "state", "expires_at").first()
    if current is None or current[:3] != (resident.pk, slot.pk, HoldState.ACTIVE) or current[3] <= now:
        raise BookingError(ErrorCode.HOLD_EXPIRED)
    if hold.rebook_of_id != (rebook_of.pk if rebook_of is not None else None):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    hold.state = HoldState.ACTIVE


def _acting(*, actor: User | None, patient: User, clinic_id: int, now: dt.datetime) -> Acting:
    """Who acts for the patient in this change, checked under the patient's lock (R-GUARD-2,
    R-GUARD-3, R-POA-1): a power of attorney ended, or custody over, a moment ago refuses it here
    and nothing is written. No actor, or the patient, is the resident acting for themself."""
    if actor is None or actor.pk == patient.pk:
        return Acting(actor=patient, patient=patient)
    return acting_check(actor=actor, patient=patient, clinic_id=clinic_id, now=now)


# --- Web booking log (R-LOG-1, R-BOOK-8) ------------------------------------------------------


def _log_values(booking: Booking | None, prefix: str) -> dict[str, Any]:
    if booking is None:
        return {}
    local_start = timezone.localtime(booking.start, LOCAL_TZ)
    return {
        f"{prefix}_date": local_start.date(),
        f"{prefix}_start": local_start.time(),
        f"{prefix}_resource": booking.resource.name,
        f"{prefix}_type": booking.appointment_type.internal_name,
    }


def _log(
    *,
    status: LogStatus,
    changed_at: dt.datetime,
    channel: str,
    previous: Booking | None,
    new: Booking | None,
    proxy_unit: str = "",
    acting: Acting | None = None,
) -> WebBookingLogEntry:
    """One log row (R-LOG-1). "Changed by" is the web booking service for a resident's own change
    and the proxy booker's unit for a proxy's (R-BOOK-4); a guardian or attorney acting for the
    resident is the row's actor (R-GUARD-4, R-POA-1). A resident's or proxy booker's late change
    keeps the fee text they were shown before confirming it (R-POL-2)."""
    return WebBookingLogEntry.objects.create(
        **_log_fields(
            status=status,
            changed_at=changed_at,
            channel=channel,
            previous=previous,
            new=new,
            proxy_unit=proxy_unit,
            acting=acting,
        )
    )


def _log_fields(
    *,
    status: LogStatus,
    changed_at: dt.datetime,
    channel: str,
    previous: Booking | None,
    new: Booking | None,
    proxy_unit: str,
    acting: Acting | None,
) -> dict[str, Any]:
    current = new or previous
    assert current is not None
    fee_text = ""
    if channel in (Channel.WEB, Channel.PROXY) and previous is not None:
        fee_text = late_fee_text(booking=previous, changed_at=changed_at)
    return {
        "changed_at": changed_at,
        "status": status,
        "clinic_id": current.clinic_id,
        "resident_id": current.resident_id,
        "booking": current,
        "booking_basis_id": current.booking_basis_id,
        "channel": channel,
        "changed_by": proxy_unit if channel == Channel.PROXY else WEB_SERVICE_NAME,
        "actor": acting.actor if acting is not None and not acting.is_self else None,
        "acting_as": acting.acting_as if acting is not None else "",
        "is_late": previous is not None and is_late_change(previous_start=previous.start, changed_at=changed_at),
        "late_fee_text": fee_text,
        **_log_values(previous, "previous"),
        **_log_values(new, "new"),
    }
