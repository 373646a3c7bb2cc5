"""The statements a web booking sends on PostgreSQL, written out and built once per process: on
this path the ORM's building of the queries they stand for cost more than the database's answer
(the booking's own tests pin what each statement does; :mod:`.common` and :mod:`.web_booking`
send them)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import models

from accounts.models import User
from clinics.models import AppointmentType, CaseType, Clinic, Region, Resource
from schedules.models import Hold, Slot

from ..models import Booking, BookingBasis, WebBookingLogEntry

_M = TypeVar("_M", bound=models.Model)

# The models whose rows a web booking's written-out reads return, and the aliases they have.
_SLOT_PARTS: tuple[tuple[type[models.Model], str], ...] = (
    (Slot, "s"),
    (Clinic, "c"),
    (Region, "r"),
    (Resource, "re"),
    (AppointmentType, "t"),
    (CaseType, "ct"),
)


@cache
def _resident_and_slot_sql() -> str:
    """The resident's row lock and the slot's, with the slot's clinic (and region), resource and
    type, and the clinic's case types (BOOK admits the booking, MANAGE gives the answer its
    actions), in one statement: built once, as the ORM's building of the three queries it stands
    for cost more than they did. The lock order stays resident, then slot (see ``resident_lock``):
    the slot's lock is taken on rows joined to the resident's MATERIALIZED CTE, so only after
    that CTE has locked the resident. The slot comes back as its row now is (a locked row is
    read again once the lock is had), the rest as at the statement's start."""
    columns = ", ".join(_columns(model, alias) for model, alias in _SLOT_PARTS)
    return f"""
        WITH resident AS MATERIALIZED (
            SELECT id FROM "{User._meta.db_table}" WHERE id = %(resident)s FOR UPDATE
        )
        SELECT {columns}
        FROM "{Slot._meta.db_table}" s
        JOIN "{Clinic._meta.db_table}" c ON c.id = s.clinic_id
        JOIN "{Region._meta.db_table}" r ON r.id = c.region_id
        JOIN "{Resource._meta.db_table}" re ON re.id = s.resource_id
        JOIN "{AppointmentType._meta.db_table}" t ON t.id = s.appointment_type_id
        CROSS JOIN resident
        LEFT JOIN "{CaseType._meta.db_table}" ct ON ct.clinic_id = s.clinic_id
        WHERE s.id = %(slot)s
        FOR UPDATE OF s
    """


def _columns(model: type[models.Model], alias: str) -> str:
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def _from_row(model: type[_M], row: Sequence[Any], at: int, db: str) -> tuple[_M, int]:
    """The instance of ``model`` whose columns (:func:`_columns`) start at ``row[at]``, and the
    index where the next model's start: none of these models' fields converts what the driver
    reads, so the row's values are the instance's as they are."""
    fields = model._meta.concrete_fields
    end = at + len(fields)
    return model.from_db(db, [field.attname for field in fields], row[at:end]), end


# :func:`_one_at_a_time_q` written out, for :func:`_refusing_booking_sql`.
_ONE_AT_A_TIME = (
    "NOT t.hidden_for_patient AND b.booking_basis_id IS NULL AND b.clinic_id = %(clinic)s AND b.start > %(now)s"
)


@cache
def _refusing_booking_sql(one_at_a_time: str) -> str:
    booking, appointment_type = Booking._meta.db_table, AppointmentType._meta.db_table
    return (
        f'SELECT b.start, t.web_name, (b.start < %(end)s AND b."end" > %(start)s) AS overlapping'
        f' FROM "{booking}" b JOIN "{appointment_type}" t ON t.id = b.appointment_type_id'
        f" WHERE b.resident_id = %(resident)s AND b.status = %(active)s"
        f' AND ((b.start < %(end)s AND b."end" > %(start)s) {one_at_a_time})'
        " ORDER BY overlapping DESC, b.start LIMIT 1"
    )


@cache
def _basis_and_refusing_sql(*, with_kind: bool, limited: bool) -> str:
    """The statement of :func:`_locked_basis_and_refusing_booking`, built once per variant:
    always one row, the basis' columns then the refusing booking's, NULL where there is none."""
    kind = "AND bb.kind = %(kind)s" if with_kind else ""
    one_at_a_time = f"OR (NOT EXISTS (SELECT FROM basis) AND {_ONE_AT_A_TIME})" if limited else ""
    return f"""
        WITH basis AS MATERIALIZED (
            SELECT {_columns(BookingBasis, "bb")} FROM "{BookingBasis._meta.db_table}" bb
            WHERE bb.resident_id = %(resident)s AND bb.appointment_type_id = %(type)s {kind}
              AND bb.consumed_at IS NULL AND bb.revoked_at IS NULL
              AND (bb.valid_until IS NULL OR bb.valid_until >= %(today)s)
              AND (bb.valid_from IS NULL OR bb.valid_from <= %(day)s)
              AND (bb.valid_until IS NULL OR bb.valid_until >= %(day)s)
            ORDER BY bb.valid_until ASC NULLS LAST, bb.created_at, bb.id
            LIMIT 1
            FOR UPDATE
        ), refusing AS ({_refusing_booking_sql(one_at_a_time)})
        SELECT basis.*, refusing.* FROM (VALUES (1)) AS one (x) LEFT JOIN basis ON true LEFT JOIN refusing ON true
    """


@cache
def _booking_fields() -> list[models.Field[Any, Any]]:
    return [field for field in Booking._meta.concrete_fields if not field.primary_key]


@cache
def _booking_insert_sql() -> str:
    """The INSERT of a booking and the UPDATEs of its slot and holds, as :func:`_save_with_updates`
    sends them: written out once, as the ORM's building of the three cost more than the statement."""
    columns = ", ".join(f'"{field.column}"' for field in _booking_fields())
    values = ", ".join(["%s"] * len(_booking_fields()))
    return f"""
        WITH booked AS (
            INSERT INTO "{Booking._meta.db_table}" ({columns}) VALUES ({values}) RETURNING id
        ), slot_booked AS (
            UPDATE "{Slot._meta.db_table}" SET status = %s, is_published = false, published_at = NULL WHERE id = %s
        ), holds_ended AS (
            UPDATE "{Hold._meta.db_table}" SET state = CASE WHEN resident_id = %s THEN %s ELSE %s END
            WHERE slot_id = %s AND state = %s
        )"""


@cache
def _log_insert_fields() -> list[models.Field[Any, Any]]:
    return [f for f in WebBookingLogEntry._meta.concrete_fields if not f.primary_key and f.attname != "booking_id"]


@cache
def _log_insert_sql() -> str:
    """A web log row (:func:`.common._log`) as a CTE of :func:`_booking_insert_sql`'s statement,
    naming the booking that statement inserts."""
    columns = "".join(f'"{field.column}", ' for field in _log_insert_fields())
    values = "".join("%s, " for _field in _log_insert_fields())
    return f'INSERT INTO "{WebBookingLogEntry._meta.db_table}" ({columns}"booking_id") SELECT {values}id FROM booked'
