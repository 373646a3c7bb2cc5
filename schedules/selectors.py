"""Which times a resident is offered (R-VIS-1, R-VIS-2), and the timebook schedulers work in."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import Count, DateTimeField, ExpressionWrapper, F, Q, QuerySet, Value
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.selectors import user_has_clinic_role
from accounts.services import audit_record
from clinics.models import AppointmentType, CaseKind, CaseType, Clinic, Resource
from clinics.policy import booking_notice_start, too_late_to_book_message
from clinics.selectors import (
    TypeAccess,
    case_type_for,
    proxy_types_in_regions,
    type_access,
    type_bookable_by,
    visibility_cutoff,
)
from core.errors import BookingError, ErrorCode, PermissionDeniedError
from core.localtime import LOCAL_TZ, local_midnight

from .models import Block, Hold, HoldState, Schedule, Slot, SlotStatus

_ISO_WEEK = re.compile(r"^(?P<year>[0-9]{4})-?W(?P<week>[0-9]{1,2})$", re.IGNORECASE)


# A slot offered on the web (R-VIS-2, R-PUB-3): free, published, not blocked. The portal's free
# times and the FHIR feed's "free" slots both filter with this.
OFFERED_SLOT_Q = Q(status=SlotStatus.FREE, is_published=True, is_blocked=False)

OUTSIDE_BASIS_PERIOD = _(
    "This time is outside the days your booking basis or summons covers. Choose a time inside them."
)


def may_book_type(*, clinic: Clinic, appointment_type: AppointmentType, resident: User) -> bool:
    """R-VIS-2's gate for one resident: a type of this clinic they may book on the web."""
    return type_bookable_by(appointment_type=appointment_type, clinic=clinic, resident=resident)


def clamp_to_basis(*, access: TypeAccess, lower: dt.datetime, upper: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Narrow a window of free times to the visit days the resident's booking bases allow (R-TYPE-4,
    open summons); unchanged when no basis is needed."""
    first, last = access.bounds()
    if first is not None:
        lower = max(lower, local_midnight(first))
    if last is not None:
        upper = min(upper, local_midnight(last + dt.timedelta(days=1)))
    return lower, upper


def free_times_gate(*, clinic_id: int, type_id: int) -> tuple[AppointmentType, CaseType | None] | None:
    """The clinic's side of R-VIS-2's gate for one type, as the free-times cache keeps it: the
    type with its clinic and region, and the clinic's BOOK case type (sharing that clinic); None
    when the clinic has no such type. One query for the type, one for the case type."""
    appointment_type = (
        AppointmentType.objects.select_related("clinic__region").filter(pk=type_id, clinic_id=clinic_id).first()
    )
    if appointment_type is None:
        return None
    return appointment_type, case_type_for(clinic=appointment_type.clinic, kind=CaseKind.BOOK)


def free_slots_between(
    *,
    clinic: Clinic,
    appointment_type: AppointmentType,
    lower: dt.datetime,
    upper: dt.datetime,
    resource: Resource | None = None,
) -> QuerySet[Slot]:
    """Free, published, unblocked slots starting inside (lower, upper): one query on the
    partial index ``slot_offered_idx``. The same for every resident who passes the gate."""
    slots = Slot.objects.filter(
        OFFERED_SLOT_Q, clinic=clinic, appointment_type=appointment_type, start__gt=lower, start__lt=upper
    )
    if resource is not None:
        slots = slots.filter(resource=resource)
    return slots.select_related("resource").order_by("start", "resource__name")


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
    """R-VIS-2: free, published, unblocked, future, inside the window, of a type the resident
    may book."""
    now = now or timezone.now()
    access = type_access(appointment_type=appointment_type, clinic=clinic, resident=resident)
    if not access.allowed:
        return Slot.objects.none()
    # R-POL-1: times inside the type's minimum notice are not offered.
    earliest = booking_notice_start(appointment_type=appointment_type, now=now)
    lower = max(earliest, start_from) if start_from else earliest
    upper = visibility_cutoff(appointment_type=appointment_type, now=now)
    if until is not None:
        upper = min(upper, until)
    lower, upper = clamp_to_basis(access=access, lower=lower, upper=upper)
    return free_slots_between(
        clinic=clinic, appointment_type=appointment_type, lower=lower, upper=upper, resource=resource
    )


def nearest_offered_slots(
    *, clinic: Clinic, appointment_type: AppointmentType, resident: User, wanted: dt.datetime, n: int = 5
) -> list[Slot]:
    """The ``n`` free times of the type offered to the resident (R-VIS-2) nearest to ``wanted``,
    before or after it, in time order: what to offer when a chosen time was just taken."""
    offered = offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident)
    before = list(offered.filter(start__lt=wanted).order_by("-start")[:n])
    after = list(offered.filter(start__gte=wanted).order_by("start")[:n])
    nearest = sorted([*before, *after], key=lambda s: abs(s.start - wanted))[:n]
    return sorted(nearest, key=lambda s: (s.start, s.pk))


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


def check_booking_notice(*, slot: Slot, now: dt.datetime) -> None:
    """R-POL-1: a resident books on the web only a time that starts after the type's notice."""
    if slot.start <= booking_notice_start(appointment_type=slot.appointment_type, now=now):
        raise BookingError(
            ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT,
            too_late_to_book_message(appointment_type=slot.appointment_type, clinic=slot.clinic),
        )


def booking_notice_q(*, now: dt.datetime) -> Q:
    """R-POL-1 as a filter on slots, each against its own type's notice: as :func:`check_booking_notice`,
    a slot starts after ``now`` plus its type's minimum notice."""
    earliest = ExpressionWrapper(
        Value(now.astimezone(dt.UTC)) + F("appointment_type__booking_notice_hours") * dt.timedelta(hours=1),
        output_field=DateTimeField(),
    )
    return Q(start__gt=earliest)


def slot_check_offered(*, slot: Slot, resident: User, now: dt.datetime, own_hold: Hold | None = None) -> TypeAccess:
    """The same conditions as :func:`offered_slots`, for one (locked) slot, raising the error
    a resident should see. A slot held by ``own_hold`` counts as free for its holder. Returns
    what the booking rests on (a booking basis or not)."""
    if slot.start <= now:
        raise BookingError(ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED)
    check_booking_notice(slot=slot, now=now)
    access = type_access(appointment_type=slot.appointment_type, clinic=slot.clinic, resident=resident)
    if not access.allowed:
        if slot.appointment_type.requires_booking_basis and not slot.appointment_type.hidden_for_patient:
            raise BookingError(ErrorCode.BOOKING_BASIS_REQUIRED)
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    if not access.covers(timezone.localtime(slot.start, LOCAL_TZ).date()):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED, OUTSIDE_BASIS_PERIOD)
    if slot.start >= visibility_cutoff(appointment_type=slot.appointment_type, now=now):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    slot_check_free(slot=slot, resident=resident, now=now, own_hold=own_hold)
    return access


def slot_check_free(
    *, slot: Slot, resident: User, now: dt.datetime, own_hold: Hold | None = None, require_published: bool = True
) -> None:
    """Free, published and unblocked, or held by this resident (R-VIS-2, R-BOOK-3). Clinic staff
    book from the authoritative timebook and need not wait for the publisher."""
    # R-WAIT-3: a time offered to the waitlist is the offered resident's alone until the offer ends.
    if slot.is_blocked or slot.status in (SlotStatus.BOOKED, SlotStatus.OFFERED):
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


# --- The clinic's timebook as schedulers see it (R-SCHED-2, R-BOOK-4, R-LOG-4) ------------------


class TimebookState(StrEnum):
    FREE = "free"
    HELD = "held"
    OFFERED = "offered"
    BOOKED = "booked"
    BLOCKED = "blocked"


TIMEBOOK_STATE_LABELS = {
    TimebookState.FREE: _("Free"),
    TimebookState.HELD: _("Held"),
    TimebookState.OFFERED: _("Offered to the waitlist"),
    TimebookState.BOOKED: _("Booked"),
    TimebookState.BLOCKED: _("Blocked"),
}


@dataclass(frozen=True)
class TimebookEntry:
    slot: Slot
    booking: Any  # bookings.models.Booking | None: the slot's active booking

    @property
    def state(self) -> TimebookState:
        # A booked time inside a block stays booked (staff decide whether to cancel it).
        if self.slot.status == SlotStatus.BOOKED:
            return TimebookState.BOOKED
        if self.slot.is_blocked:
            return TimebookState.BLOCKED
        if self.slot.status == SlotStatus.HELD:
            return TimebookState.HELD
        if self.slot.status == SlotStatus.OFFERED:
            return TimebookState.OFFERED
        return TimebookState.FREE

    @property
    def state_label(self) -> str:
        return str(TIMEBOOK_STATE_LABELS[self.state])

    @property
    def awaiting_publish(self) -> bool:
        """Free but not yet on the web: the publisher has not reached it (R-PUB-3)."""
        return self.state == TimebookState.FREE and not self.slot.is_published and self.slot.start > timezone.now()


@dataclass(frozen=True)
class TimebookDay:
    date: dt.date
    entries: list[TimebookEntry]


@dataclass(frozen=True)
class TimebookWeek:
    monday: dt.date
    days: list[TimebookDay]
    blocks: list[Block]

    @property
    def iso(self) -> str:
        return iso_week(self.monday)

    @property
    def previous(self) -> str:
        return iso_week(self.monday - dt.timedelta(days=7))

    @property
    def next(self) -> str:
        return iso_week(self.monday + dt.timedelta(days=7))

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def booking_count(self) -> int:
        return sum(1 for day in self.days for entry in day.entries if entry.booking is not None)


@dataclass(frozen=True)
class TimebookRow:
    """The times starting at one moment of a day: one cell per resource of the grid, each a list
    (times may overlap on one resource when a schedule and a single time meet)."""

    start: dt.time
    cells: list[list[TimebookEntry]]


@dataclass(frozen=True)
class TimebookGridDay:
    date: dt.date
    rows: list[TimebookRow]


@dataclass(frozen=True)
class TimebookGrid:
    """The timebook as a grid: resources as columns, start times as rows, grouped by day."""

    resources: list[Resource]
    days: list[TimebookGridDay]

    @property
    def slot_count(self) -> int:
        return sum(len(cell) for day in self.days for row in day.rows for cell in row.cells)


def timebook_grid(days: list[TimebookDay]) -> TimebookGrid:
    """Lay out timebook days as a grid. Only resources with a time in these days get a column, so
    a clinic's many idle resources do not widen it."""
    resources = sorted(
        {entry.slot.resource_id: entry.slot.resource for day in days for entry in day.entries}.values(),
        key=lambda resource: (resource.name, resource.pk),
    )
    column = {resource.pk: index for index, resource in enumerate(resources)}
    grid_days = []
    for day in days:
        rows: dict[dt.time, list[list[TimebookEntry]]] = {}
        for entry in day.entries:
            start = timezone.localtime(entry.slot.start, LOCAL_TZ).time()
            cells = rows.setdefault(start, [[] for _resource in resources])
            cells[column[entry.slot.resource_id]].append(entry)
        grid_days.append(
            TimebookGridDay(date=day.date, rows=[TimebookRow(start, cells) for start, cells in sorted(rows.items())])
        )
    return TimebookGrid(resources=resources, days=grid_days)


def iso_week(day: dt.date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_iso_week(value: str) -> dt.date | None:
    """The Monday of an ISO week written ``YYYY-Www``, or None if that is no week."""
    match = _ISO_WEEK.match((value or "").strip())
    if not match:
        return None
    try:
        return dt.date.fromisocalendar(int(match["year"]), int(match["week"]), 1)
    except ValueError:
        return None


def _require_scheduler_read(actor: User, clinic: Clinic) -> None:
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=(Role.SCHEDULER,)):
        raise PermissionDeniedError()


# The timebook shows each slot's booking. Bookings sit above schedules (a booking points at its
# slot), so they are read through the slot's reverse relation ``bookings``, never by importing them.
_SLOT_BOOKINGS = (
    "bookings__resident",
    "bookings__created_by",
    "bookings__appointment_type",
    # Reception's mark on the visit (R-ATT-1), shown and set in the day view.
    "bookings__attendance",
)


def _active_bookings(slots: list[Slot]) -> dict[int, Any]:
    """The active booking of each slot that has one (at most one: a partial unique constraint),
    from the prefetched ``bookings``; cancelled and moved ones stay in the slot's history. In
    booking order, the order their reads are audited in."""
    active = [(slot.pk, booking) for slot in slots for booking in slot.bookings.all() if booking.is_active]
    return dict(sorted(active, key=lambda pair: pair[1].pk))


def timebook_week(
    *,
    actor: User,
    clinic: Clinic,
    monday: dt.date,
    resource: Resource | None = None,
    only_day: dt.date | None = None,
) -> TimebookWeek:
    """A week of the clinic's timebook (or one resource's, or one day of it): every slot, free,
    held, booked or blocked, with its active booking and "changed by" (R-BOOK-4), and the blocks.
    Showing a booking shows a resident's data, so each one shown, and only those, is written to
    the audit log (R-LOG-4)."""
    _require_scheduler_read(actor, clinic)
    first, count = (only_day, 1) if only_day is not None else (monday, 7)
    start, end = local_midnight(first), local_midnight(first + dt.timedelta(days=count))
    week_slots = Slot.objects.filter(clinic=clinic, start__gte=start, start__lt=end)
    blocks = Block.objects.filter(clinic=clinic, start__lt=end, end__gt=start)
    if resource is not None:
        week_slots, blocks = week_slots.filter(resource=resource), blocks.filter(resource=resource)
    slots = list(
        week_slots.select_related("resource", "appointment_type")
        .prefetch_related(*_SLOT_BOOKINGS)
        .order_by("start", "resource__name")
    )
    bookings = _active_bookings(slots)
    by_day: dict[dt.date, list[TimebookEntry]] = {first + dt.timedelta(days=n): [] for n in range(count)}
    for slot in slots:
        by_day[timezone.localtime(slot.start, LOCAL_TZ).date()].append(TimebookEntry(slot, bookings.get(slot.pk)))
    for booking in bookings.values():
        audit_record(
            actor=actor,
            action="timebook.read",
            clinic=clinic,
            resident=booking.resident,
            obj=booking,
            detail=f"timebook day {only_day.isoformat()}" if only_day else f"timebook week {iso_week(monday)}",
        )
    return TimebookWeek(
        monday=monday,
        days=[TimebookDay(date=day, entries=entries) for day, entries in by_day.items()],
        blocks=list(blocks.select_related("resource").order_by("start", "resource__name")),
    )


def free_slots_for_staff(
    *,
    clinic: Clinic,
    appointment_type: AppointmentType | None = None,
    day: dt.date | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Slot]:
    """Times a scheduler may book for a resident: free, not blocked, in the future. Staff book
    from the authoritative timebook, so a time need not be on the web yet (R-PUB-3)."""
    now = now or timezone.now()
    slots = Slot.objects.filter(clinic=clinic, status=SlotStatus.FREE, is_blocked=False, start__gt=now)
    if appointment_type is not None:
        slots = slots.filter(appointment_type=appointment_type)
    if day is not None:
        slots = slots.filter(start__gte=local_midnight(day), start__lt=local_midnight(day + dt.timedelta(days=1)))
    return slots.select_related("resource", "appointment_type").order_by("start", "resource__name")


# --- Proxy bookers' free times (R-TYPE-6) ---------------------------------------------------------


def proxy_free_slots(
    *,
    region_ids: list[int],
    town: str = "",
    clinic: Clinic | None = None,
    type_name: str = "",
    day: dt.date | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Slot]:
    """Free times proxy bookers of these regions may book: of a proxy type they may book
    (:data:`clinics.selectors.PROXY_TYPE_Q`), free, not blocked, after the type's minimum notice
    (R-POL-1: they book into the clinic's web timebook for the resident, and the clinic set the
    notice to be able to prepare); by town, clinic, the type's web name and day. Like clinic staff
    they book from the authoritative timebook, so a time need not be on the web yet (R-PUB-3); the
    booking checks the same rules again."""
    now = now or timezone.now()
    types = proxy_types_in_regions(region_ids=region_ids)
    if town:
        types = types.filter(clinic__town=town)
    if clinic is not None:
        types = types.filter(clinic=clinic)
    if type_name:
        types = types.filter(web_name=type_name)
    slots = Slot.objects.filter(
        booking_notice_q(now=now),
        appointment_type__in=types.values("pk"),
        status=SlotStatus.FREE,
        is_blocked=False,
        start__gt=now,
    )
    if day is not None:
        slots = slots.filter(start__gte=local_midnight(day), start__lt=local_midnight(day + dt.timedelta(days=1)))
    return slots.select_related("clinic", "resource", "appointment_type").order_by("start", "clinic__name", "pk")


def proxy_free_days(*, slots: QuerySet[Slot], limit: int) -> list[tuple[dt.date, int]]:
    """The first ``limit`` local dates with free times among ``slots``, and how many on each:
    the proxy booker chooses a day first, then a time (as residents do)."""
    rows = (
        slots.order_by()
        .annotate(day=TruncDate("start", tzinfo=LOCAL_TZ))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")[:limit]
    )
    return [(row["day"], row["n"]) for row in rows]


@dataclass(frozen=True)
class ScheduleCounts:
    free: int
    held: int
    booked: int
    blocked: int

    @property
    def total(self) -> int:
        return self.free + self.held + self.booked + self.blocked


def schedule_slot_counts(*, schedule: Schedule) -> ScheduleCounts:
    """How many of the schedule's slots are free, held, booked and blocked (one query)."""
    counts = Slot.objects.filter(schedule=schedule).aggregate(
        booked=Count("id", filter=Q(status=SlotStatus.BOOKED)),
        blocked=Count("id", filter=Q(is_blocked=True) & ~Q(status=SlotStatus.BOOKED)),
        held=Count("id", filter=Q(status__in=[SlotStatus.HELD, SlotStatus.OFFERED], is_blocked=False)),
        free=Count("id", filter=Q(status=SlotStatus.FREE, is_blocked=False)),
    )
    return ScheduleCounts(**counts)


def schedules_for_clinic(*, clinic: Clinic) -> QuerySet[Schedule]:
    return (
        Schedule.objects.filter(clinic=clinic)
        .select_related("resource", "appointment_type")
        .order_by("-created_at", "-pk")
    )


def timebook_entries(
    *, actor: User, clinic: Clinic, date_from: dt.date, date_to: dt.date, resource: Resource | None = None
) -> list[TimebookEntry]:
    """The timebook between two local dates (both included) for the staff API: every slot with
    its active booking, like :func:`timebook_week`. Each booking shown is audited (R-LOG-4)."""
    _require_scheduler_read(actor, clinic)
    start, end = local_midnight(date_from), local_midnight(date_to + dt.timedelta(days=1))
    period_slots = Slot.objects.filter(clinic=clinic, start__gte=start, start__lt=end)
    if resource is not None:
        period_slots = period_slots.filter(resource=resource)
    slots = list(
        period_slots.select_related("resource", "appointment_type")
        .prefetch_related(*_SLOT_BOOKINGS)
        .order_by("start", "resource__name", "pk")
    )
    bookings = _active_bookings(slots)
    for booking in bookings.values():
        audit_record(
            actor=actor,
            action="timebook.read",
            clinic=clinic,
            resident=booking.resident,
            obj=booking,
            detail=f"timebook {date_from.isoformat()}..{date_to.isoformat()}",
        )
    return [TimebookEntry(slot, bookings.get(slot.pk)) for slot in slots]
