"""A synthetic region in the bench database, built with set-based SQL in seconds.

The three big tables (slots, bookings, the web booking log) are filled by ``INSERT … SELECT``
over ``generate_series`` with their secondary indexes, foreign keys and exclusion constraints
dropped, then rebuilt in one pass each: row-by-row index and constraint upkeep is what makes
naive loading slow. Everything dropped is recreated from PostgreSQL's own definitions, so the
schema afterwards is exactly what the migrations made (and the foreign keys are validated).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from accounts.models import Membership, Role, User
from bookings.services import web_log_partitions_ensure
from clinics.models import AppointmentType, Area, Audience, CaseKind, CaseType, Clinic, Region, Resource
from fhir import bulk

BIG_TABLES = ("accounts_user", "schedules_slot", "bookings_booking", "bookings_webbookinglogentry")
LOCAL_TZ = "Europe/Stockholm"
BENCH_PASSWORD = "!bench-unusable"


@dataclass(frozen=True)
class Shape:
    """The size of the region: ``scale`` 1 is 100 clinics × 10 resources × 60 days × 24 slots."""

    scale: float
    resources_per_clinic: int = 10
    days: int = 60
    slots_per_day: int = 24
    slot_minutes: int = 20
    booked_share: float = 1 / 3
    log_days: int = 365  # the web booking log's span, evenly filled with log_rows

    @property
    def clinics(self) -> int:
        return max(1, round(100 * self.scale))

    @property
    def slots(self) -> int:
        return self.clinics * self.resources_per_clinic * self.days * self.slots_per_day

    @property
    def log_rows(self) -> int:
        # A year of web bookings; about 1 M rows fall outside the 31-day retention at scale 1.
        return round(1_100_000 * self.scale)

    @property
    def history_residents(self) -> int:
        return max(1_000, round(20_000 * self.scale))


@dataclass
class Timings:
    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        yield
        self.steps[name] = time.perf_counter() - began

    @property
    def total(self) -> float:
        return sum(self.steps.values())


def _definitions(table: str) -> tuple[list[str], list[str]]:
    """DDL to recreate the table's non-primary-key constraints and its other indexes."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = %s::regclass AND contype IN ('f', 'u', 'x')
            """,
            [table],
        )
        constraints = [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}' for name, ddl in cursor.fetchall()]
        cursor.execute(
            """
            SELECT indexdef FROM pg_indexes i
            WHERE tablename = %s AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.conrelid = %s::regclass
            )
            """,
            [table, table],
        )
        # A partitioned table's index is listed "ON ONLY" the parent: made so, it would be on no
        # partition (and invalid). Made on the whole table, each partition gets its own, as the
        # migrations left them.
        indexes = [row[0].replace(" ON ONLY ", " ON ", 1) for row in cursor.fetchall()]
    return constraints, indexes


Definitions = dict[str, tuple[list[str], list[str]]]


def _strip(tables: tuple[str, ...]) -> Definitions:
    """Drop the tables' secondary indexes and constraints; return the DDL that recreates them."""
    saved = {table: _definitions(table) for table in tables}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('f', 'u', 'x')",
                [table],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            cursor.execute(
                """
                SELECT indexname FROM pg_indexes WHERE tablename = %s
                AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)
                """,
                [table, table],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
    return saved


def _restore(saved: Definitions) -> None:
    """Rebuild on two connections at once: the slots' exclusion constraint alone takes most of
    the time (its build checks every row against the index), the rest fits beside it."""
    slots = {t: d for t, d in saved.items() if t == "schedules_slot"}
    others = {t: d for t, d in saved.items() if t != "schedules_slot"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(_rebuild, slots), pool.submit(_rebuild, others)]:
            done.result()


def _rebuild(saved: Definitions) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            # Foreign keys last: each is then checked with one join instead of a trigger per row.
            for constraints, indexes in saved.values():
                for ddl in indexes:
                    cursor.execute(ddl)
                for ddl in sorted(constraints, key=lambda d: " FOREIGN KEY " in d):
                    cursor.execute(ddl)
    finally:
        connection.close()  # this thread's own connection


def _region(shape: Shape) -> tuple[Region, User]:
    region = Region.objects.create(name="Region Bänk", code="99")
    clinics = Clinic.objects.bulk_create(
        Clinic(
            hsa_id=f"SE-BENCH-{c:04d}",
            name=f"Vårdcentralen Bänk {c}",
            town=f"Ort {c % 40}",
            phone="0771-11 22 33",
            region=region,
        )
        for c in range(shape.clinics)
    )
    CaseType.objects.bulk_create(
        CaseType(
            clinic=clinic,
            kind=kind,
            is_active=True,
            conditions_text="Boka en tid direkt.",
            audience=Audience.ALL,
            area=Area.COUNTRY,
        )
        for clinic in clinics
        for kind in CaseKind
    )
    AppointmentType.objects.bulk_create(
        AppointmentType(
            clinic=clinic,
            internal_name="Besök DSK",
            web_name="Besök hos distriktssköterska",
            bookable_on_web=True,
            cancellable_on_web=True,
            reschedulable_on_web=True,
            visibility_days=shape.days,
            duration_minutes=shape.slot_minutes,
        )
        for clinic in clinics
    )
    Resource.objects.bulk_create(
        Resource(clinic=clinic, name=f"Distriktssköterska {r}")
        for clinic in clinics
        for r in range(shape.resources_per_clinic)
    )
    scheduler = User.objects.create_user(username="bench-scheduler", email="schemalaggare@bench.test")
    Membership.objects.bulk_create(Membership(user=scheduler, role=Role.SCHEDULER, clinic=c) for c in clinics)
    return region, scheduler


def residents_insert(first: int, count: int, region_code: str = "99") -> None:
    """Residents ``bench-<n>`` for n in [first, first + count), with unique personnummer."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
                                       is_staff, is_active, date_joined, personnummer, home_region_code, phone)
            SELECT %s, false, 'bench-' || n, 'Invånare', n::text, '', false, true, now(),
                   '1990' || lpad(n::text, 8, '0'), %s, ''
            FROM generate_series(%s, %s) n
            """,
            [BENCH_PASSWORD, region_code, first, first + count - 1],
        )


def _slots(shape: Shape) -> None:
    """Every resource gets ``slots_per_day`` back-to-back slots from 07:00 local time, every day
    from tomorrow; a third are booked (and so not on the web), the rest free and published.
    Rows go in in random order, as publishing over months would leave them: the exclusion
    constraint's GiST index then builds three times faster than over start-ordered rows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            """
            INSERT INTO schedules_slot (clinic_id, resource_id, appointment_type_id, start, "end", status,
                                        is_published, is_blocked, published_at, created_at)
            SELECT r.clinic_id, r.id, t.id, s.start, s.start + make_interval(mins => %(minutes)s),
                   CASE WHEN s.booked THEN 'booked' ELSE 'free' END, NOT s.booked, false,
                   CASE WHEN s.booked THEN NULL ELSE now() END, now()
            FROM clinics_resource r
            JOIN clinics_appointmenttype t ON t.clinic_id = r.clinic_id
            CROSS JOIN LATERAL (
                SELECT ((current_date + d) + time '07:00' + n * make_interval(mins => %(minutes)s))
                           AT TIME ZONE %(tz)s AS start,
                       random() < %(booked)s AS booked
                FROM generate_series(1, %(days)s) d, generate_series(0, %(per_day)s - 1) n
            ) s
            ORDER BY random()
            """,
            {
                "minutes": shape.slot_minutes,
                "tz": LOCAL_TZ,
                "booked": shape.booked_share,
                "days": shape.days,
                "per_day": shape.slots_per_day,
            },
        )


def _bookings(shape: Shape, first_resident: int) -> None:
    """One active web booking per booked slot. Residents are dealt out in slot order, so a
    resident's next booking is thousands of slots later and never overlaps the previous one."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO bookings_booking (start, "end", status, channel, proxy_unit, patient_phone, patient_reason,
                                          calendar_uid, calendar_sequence, referral_source, booking_referral,
                                          meeting_url, created_at, appointment_type_id, clinic_id, created_by_id,
                                          resident_id, resource_id, slot_id)
            SELECT s.start, s."end", 'active', 'web', '', '', '', gen_random_uuid()::text || '@tidbok', 0, '', '',
                   '', now() - interval '3 days',
                   s.appointment_type_id, s.clinic_id, u.id, u.id, s.resource_id, s.id
            FROM (
                SELECT *, mod(row_number() OVER (ORDER BY start, resource_id), %s) AS k
                FROM schedules_slot WHERE status = 'booked'
            ) s
            JOIN accounts_user u ON u.username = 'bench-' || (%s + s.k)
            ORDER BY random()
            """,
            [shape.history_residents, first_resident],
        )


def _web_log(shape: Shape, first_resident: int) -> None:
    """A year of the web booking log, evenly spread, mostly bookings and some cancellations, in
    its month and day partitions (made first: rows the default partition caught would be moved
    one month at a time)."""
    web_log_partitions_ensure(since=(timezone.now() - dt.timedelta(days=shape.log_days + 1)).date())
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), count(*) FROM clinics_clinic")
        first_clinic, clinics = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO bookings_webbookinglogentry (changed_at, status, previous_date, previous_start,
                previous_resource, previous_type, new_date, new_start, new_resource, new_type, channel,
                changed_by, is_late, late_fee_text, clinic_id, resident_id)
            SELECT at, CASE WHEN mod(n, 5) = 0 THEN 'cancelled' ELSE 'booked' END,
                   CASE WHEN mod(n, 5) = 0 THEN (at + interval '9 days')::date END,
                   CASE WHEN mod(n, 5) = 0 THEN time '09:20' END,
                   CASE WHEN mod(n, 5) = 0 THEN 'Distriktssköterska 3' ELSE '' END,
                   CASE WHEN mod(n, 5) = 0 THEN 'Besök DSK' ELSE '' END,
                   CASE WHEN mod(n, 5) <> 0 THEN (at + interval '9 days')::date END,
                   CASE WHEN mod(n, 5) <> 0 THEN time '09:20' END,
                   CASE WHEN mod(n, 5) <> 0 THEN 'Distriktssköterska 3' ELSE '' END,
                   CASE WHEN mod(n, 5) <> 0 THEN 'Besök DSK' ELSE '' END,
                   'web', '', mod(n, 17) = 0, '', %s + mod(n, %s), u.id
            FROM (
                SELECT n, now() - (n::float / %s) * %s * interval '1 day' AS at
                FROM generate_series(1, %s) n
            ) g
            JOIN accounts_user u ON u.username = 'bench-' || (%s + mod(n, %s))
            """,
            [
                first_clinic,
                clinics,
                shape.log_rows,
                shape.log_days,
                shape.log_rows,
                first_resident,
                shape.history_residents,
            ],
        )


def build(shape: Shape) -> Timings:
    """Fill the (freshly migrated, empty) bench database. Returns how long each step took."""
    timings = Timings()
    with timings.step("clinics, types, resources"):
        _region(shape)
    saved = _strip(BIG_TABLES)
    with timings.step("residents"):
        residents_insert(1, shape.history_residents)
    with timings.step("slots"):
        _slots(shape)
    with timings.step("bookings"):
        _bookings(shape, first_resident=1)
    with timings.step("web log"):
        _web_log(shape, first_resident=1)
    with timings.step("indexes and constraints"):
        _restore(saved)
    with timings.step("analyze"), connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # In production the bulk files are current before a rush: the rush's refreshes are then
    # incremental, and only those belong in the HTTP phases' numbers.
    with timings.step("FHIR bulk files"):
        bulk.refresh()
    return timings


def next_resident_number() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_user WHERE username LIKE 'bench-%%'")
        return cursor.fetchone()[0] + 1


def free_slots(count: int) -> list[int]:
    """Free, published slots inside the types' visibility window, in random order, to book."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id FROM schedules_slot
            WHERE status = 'free' AND is_published AND NOT is_blocked
              AND start > now() + interval '1 day' AND start < now() + interval '55 days'
            ORDER BY random() LIMIT %s
            """,
            [count],
        )
        return [row[0] for row in cursor.fetchall()]


def clinic_types() -> list[tuple[int, int]]:
    return list(AppointmentType.objects.order_by("pk").values_list("clinic_id", "pk"))


def now_local() -> str:
    return timezone.localtime().isoformat(timespec="seconds")
