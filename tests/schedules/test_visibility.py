"""R-VIS-1 (visibility window) and R-VIS-2 (which slots a resident is offered)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from accounts.models import User
from bookings.services import booking_create
from clinics.models import AppointmentType, Area, Audience, CaseKind, CaseType, Clinic
from core.errors import DomainError, ErrorCode
from schedules.models import Hold, Slot, SlotStatus
from schedules.selectors import LOCAL_TZ, offered_slots, slot_check_offered, visibility_cutoff
from schedules.services import block_create, hold_create

from ..factories import AppointmentTypeFactory, ClinicFactory, SlotFactory

DEFAULT_DAYS_AHEAD = 60  # R-VIS-1: empty means "60 days ahead"


def local(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=LOCAL_TZ)


def offered_ids(*, clinic, appointment_type, resident, now=None) -> set[int]:
    return set(
        offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident, now=now).values_list(
            "pk", flat=True
        )
    )


def fresh(slot: Slot) -> Slot:
    return Slot.objects.select_related("clinic__region", "appointment_type", "resource").get(pk=slot.pk)


def check_code(*, slot: Slot, resident, now: dt.datetime) -> ErrorCode | None:
    """The ErrorCode slot_check_offered raises, or None when the slot is offered."""
    try:
        slot_check_offered(slot=fresh(slot), resident=resident, now=now)
    except DomainError as exc:
        return exc.code
    return None


# --- R-VIS-1: window boundaries at local midnight ---------------------------------------------

# A slot day chosen so that the 15-day and the default window both span the spring-forward
# change (last Sunday of March 2027): a cutoff computed as "now + N × 24 h" would be an hour off.
SLOT_DAY = dt.date(2027, 4, 5)


def first_visible_day(day: dt.date, visibility_days: int | None) -> dt.date:
    """R-VIS-1: a slot on day D is visible from midnight of D − (N − 1); empty = today + 60 is shown."""
    days_before = visibility_days - 1 if visibility_days else DEFAULT_DAYS_AHEAD
    return day - dt.timedelta(days=days_before)


@pytest.mark.parametrize("visibility_days", [1, 2, 15, None], ids=["N=1", "N=2", "N=15", "empty"])
def test_visibility_cutoff_moves_by_one_local_day_at_stockholm_midnight(visibility_days, clinic):
    appointment_type = AppointmentTypeFactory(clinic=clinic, visibility_days=visibility_days)
    midnight = local(first_visible_day(SLOT_DAY, visibility_days), dt.time(0))
    just_before = midnight - dt.timedelta(seconds=1)
    assert just_before.astimezone(LOCAL_TZ).time() == dt.time(23, 59, 59)

    before = visibility_cutoff(appointment_type=appointment_type, now=just_before)
    after = visibility_cutoff(appointment_type=appointment_type, now=midnight)

    # Before midnight the slot day is still outside; from midnight the whole slot day is inside.
    assert before == local(SLOT_DAY, dt.time(0))
    assert after == local(SLOT_DAY + dt.timedelta(days=1), dt.time(0))
    # The cutoff is a Stockholm midnight, whatever the UTC offset of that date.
    assert after.astimezone(LOCAL_TZ).time() == dt.time(0)
    assert before.astimezone(LOCAL_TZ).time() == dt.time(0)


@pytest.mark.parametrize("visibility_days", [1, 2, 15, None], ids=["N=1", "N=2", "N=15", "empty"])
def test_slots_of_a_day_are_offered_from_local_midnight_of_first_visible_day(
    visibility_days, clinic, resource, resident
):
    appointment_type = AppointmentTypeFactory(clinic=clinic, visibility_days=visibility_days)
    early = SlotFactory(appointment_type=appointment_type, resource=resource, start=local(SLOT_DAY, dt.time(0, 10)))
    late = SlotFactory(appointment_type=appointment_type, resource=resource, start=local(SLOT_DAY, dt.time(23, 40)))
    next_day = SlotFactory(
        appointment_type=appointment_type,
        resource=resource,
        start=local(SLOT_DAY + dt.timedelta(days=1), dt.time(0)),
    )
    midnight = local(first_visible_day(SLOT_DAY, visibility_days), dt.time(0))
    just_before = midnight - dt.timedelta(seconds=1)

    seen_before = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident, now=just_before)
    seen_after = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident, now=midnight)

    assert seen_before & {early.pk, late.pk, next_day.pk} == set()
    assert seen_after & {early.pk, late.pk, next_day.pk} == {early.pk, late.pk}
    # slot_check_offered draws the same line.
    assert check_code(slot=late, resident=resident, now=just_before) == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert check_code(slot=late, resident=resident, now=midnight) is None
    assert check_code(slot=next_day, resident=resident, now=midnight) == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED


def test_empty_window_shows_up_to_and_including_today_plus_sixty(clinic, resource, resident):
    appointment_type = AppointmentTypeFactory(clinic=clinic, visibility_days=None)
    now = local(dt.date(2027, 1, 20), dt.time(12, 0))
    today = now.date()
    last_shown = SlotFactory(
        appointment_type=appointment_type,
        resource=resource,
        start=local(today + dt.timedelta(days=DEFAULT_DAYS_AHEAD), dt.time(23, 0)),
    )
    first_hidden = SlotFactory(
        appointment_type=appointment_type,
        resource=resource,
        start=local(today + dt.timedelta(days=DEFAULT_DAYS_AHEAD + 1), dt.time(0)),
    )

    seen = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident, now=now)

    assert last_shown.pk in seen
    assert first_hidden.pk not in seen


def test_n_equals_one_shows_only_the_rest_of_today(clinic, resource, resident):
    appointment_type = AppointmentTypeFactory(clinic=clinic, visibility_days=1)
    now = local(dt.date(2027, 6, 1), dt.time(9, 0))
    later_today = SlotFactory(appointment_type=appointment_type, resource=resource, start=now + dt.timedelta(hours=3))
    tomorrow_morning = SlotFactory(
        appointment_type=appointment_type, resource=resource, start=local(dt.date(2027, 6, 2), dt.time(0, 20))
    )

    seen = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident, now=now)

    assert seen == {later_today.pk}
    assert tomorrow_morning.pk not in seen


# --- R-VIS-2: each condition on its own -------------------------------------------------------


@dataclass
class Ctx:
    clinic: Clinic
    appointment_type: AppointmentType
    slot: Slot
    resident: User
    other_resident: User
    scheduler: User
    now: dt.datetime


def _book_case(ctx: Ctx, **fields) -> None:
    CaseType.objects.filter(clinic=ctx.clinic, kind=CaseKind.BOOK).update(**fields)


def _update_type(ctx: Ctx, **fields) -> None:
    AppointmentType.objects.filter(pk=ctx.appointment_type.pk).update(**fields)


def _update_slot(ctx: Ctx, **fields) -> None:
    Slot.objects.filter(pk=ctx.slot.pk).update(**fields)


def _book_case_inactive(ctx: Ctx) -> None:
    _book_case(ctx, is_active=False)


def _book_case_for_related_only(ctx: Ctx) -> None:
    _book_case(ctx, audience=Audience.RELATED)


def _book_case_for_region_only(ctx: Ctx) -> None:
    ctx.resident.home_region_code = "03"
    ctx.resident.save(update_fields=["home_region_code"])
    assert ctx.clinic.region.code != "03"
    _book_case(ctx, area=Area.REGION)


def _type_not_bookable(ctx: Ctx) -> None:
    _update_type(ctx, bookable_on_web=False)


def _type_hidden(ctx: Ctx) -> None:
    _update_type(
        ctx, hidden_for_patient=True, bookable_on_web=False, cancellable_on_web=False, reschedulable_on_web=False
    )


def _type_needs_basis(ctx: Ctx) -> None:
    _update_type(ctx, requires_booking_basis=True)


def _slot_booked(ctx: Ctx) -> None:
    booking_create(resident=ctx.other_resident, slot_id=ctx.slot.pk, now=ctx.now)


def _slot_held_by_someone_else(ctx: Ctx) -> None:
    hold_create(resident=ctx.other_resident, slot_id=ctx.slot.pk, now=ctx.now)


def _slot_unpublished(ctx: Ctx) -> None:
    _update_slot(ctx, is_published=False, published_at=None)


def _slot_blocked(ctx: Ctx) -> None:
    block_create(actor=ctx.scheduler, resource=ctx.slot.resource, start=ctx.slot.start, end=ctx.slot.end)


def _slot_in_the_past(ctx: Ctx) -> None:
    start = ctx.now - dt.timedelta(hours=2)
    _update_slot(ctx, start=start, end=start + dt.timedelta(minutes=20))


def _slot_starting_right_now(ctx: Ctx) -> None:
    _update_slot(ctx, start=ctx.now, end=ctx.now + dt.timedelta(minutes=20))


def _slot_outside_window(ctx: Ctx) -> None:
    # Tomorrow is outside a window of one day (N = 1: only today).
    _update_type(ctx, visibility_days=1)


def _slot_beyond_default_window(ctx: Ctx) -> None:
    start = local(timezone.localtime(ctx.now, LOCAL_TZ).date() + dt.timedelta(days=DEFAULT_DAYS_AHEAD + 1), dt.time(8))
    _update_slot(ctx, start=start, end=start + dt.timedelta(minutes=20))


def _clinic_cannot_book(ctx: Ctx) -> None:
    Clinic.objects.filter(pk=ctx.clinic.pk).update(supports_booking=False)


CONDITIONS: list[tuple[str, Callable[[Ctx], None], ErrorCode]] = [
    ("book-case-type-inactive", _book_case_inactive, ErrorCode.APPOINTMENT_IS_NOT_ALLOWED),
    ("book-case-type-for-related-residents-only", _book_case_for_related_only, ErrorCode.APPOINTMENT_IS_NOT_ALLOWED),
    ("book-case-type-for-clinic-region-only", _book_case_for_region_only, ErrorCode.APPOINTMENT_IS_NOT_ALLOWED),
    ("type-not-bookable", _type_not_bookable, ErrorCode.APPOINTMENT_IS_NOT_ALLOWED),
    ("type-hidden", _type_hidden, ErrorCode.APPOINTMENT_IS_NOT_ALLOWED),
    ("type-needs-booking-basis", _type_needs_basis, ErrorCode.BOOKING_BASIS_REQUIRED),
    ("slot-booked", _slot_booked, ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED),
    ("slot-held-by-someone-else", _slot_held_by_someone_else, ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED),
    ("slot-unpublished", _slot_unpublished, ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED),
    ("slot-blocked", _slot_blocked, ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED),
    ("slot-in-the-past", _slot_in_the_past, ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED),
    ("slot-starting-right-now", _slot_starting_right_now, ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED),
    ("slot-outside-window", _slot_outside_window, ErrorCode.APPOINTMENT_IS_NOT_ALLOWED),
    ("slot-beyond-default-window", _slot_beyond_default_window, ErrorCode.APPOINTMENT_IS_NOT_ALLOWED),
    ("clinic-timebook-cannot-book", _clinic_cannot_book, ErrorCode.APPOINTMENT_IS_NOT_ALLOWED),
]


@pytest.mark.parametrize(("change", "expected_code"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS])
def test_each_condition_alone_takes_the_slot_off_offer_with_matching_error(
    change, expected_code, clinic, appointment_type, resource, resident, other_resident, scheduler
):
    now = timezone.now()
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    ctx = Ctx(clinic, appointment_type, slot, resident, other_resident, scheduler, now)
    # Everything holds to begin with.
    assert offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident, now=now) == {slot.pk}
    assert check_code(slot=slot, resident=resident, now=now) is None

    change(ctx)

    clinic.refresh_from_db()
    appointment_type.refresh_from_db()
    resident.refresh_from_db()
    assert offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident, now=now) == set()
    assert check_code(slot=slot, resident=resident, now=now) == expected_code


def test_resident_with_a_relation_is_admitted_when_book_is_for_related_residents_only(
    clinic, appointment_type, resident, other_resident
):
    from clinics.models import ClinicRelation, RelationSource

    now = timezone.now()
    slot = SlotFactory(appointment_type=appointment_type)
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(audience=Audience.RELATED)
    ClinicRelation.objects.create(
        resident=resident, clinic=clinic, on_start_page=True, source=RelationSource.START_PAGE
    )

    assert offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident, now=now) == {slot.pk}
    assert check_code(slot=slot, resident=resident, now=now) is None
    assert offered_ids(clinic=clinic, appointment_type=appointment_type, resident=other_resident, now=now) == set()
    assert check_code(slot=slot, resident=other_resident, now=now) == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED


def test_a_time_that_has_passed_is_never_offered_even_inside_the_window(clinic, appointment_type, resident):
    slot = SlotFactory(appointment_type=appointment_type)

    at_start = offered_ids(clinic=clinic, appointment_type=appointment_type, resident=resident, now=slot.start)
    a_second_before = offered_ids(
        clinic=clinic, appointment_type=appointment_type, resident=resident, now=slot.start - dt.timedelta(seconds=1)
    )

    assert slot.pk not in at_start
    assert slot.pk in a_second_before


# --- offered_slots and slot_check_offered agree ------------------------------------------------

STATUSES = ("free", "held-by-other", "booked")
TIMINGS = ("past", "inside-window", "beyond-window")


def test_offered_slots_and_slot_check_offered_agree_across_a_grid_of_states(db, resident, other_resident):
    now = timezone.now()
    today = timezone.localtime(now, LOCAL_TZ).date()
    starts = {
        "past": now - dt.timedelta(hours=3),
        "inside-window": local(today + dt.timedelta(days=2), dt.time(10)),
        "beyond-window": local(today + dt.timedelta(days=DEFAULT_DAYS_AHEAD + 5), dt.time(10)),
    }
    open_clinic = ClinicFactory()
    closed_clinic = ClinicFactory(case_types=[CaseKind.MANAGE])  # BOOK not active
    cases = []
    for clinic in (open_clinic, closed_clinic):
        bookable = AppointmentTypeFactory(clinic=clinic)
        not_bookable = AppointmentTypeFactory(clinic=clinic, bookable_on_web=False)
        for appointment_type, status, published, blocked, timing in itertools.product(
            (bookable, not_bookable), STATUSES, (True, False), (True, False), TIMINGS
        ):
            slot = SlotFactory(
                appointment_type=appointment_type,
                start=starts[timing],
                status=SlotStatus.HELD if status == "held-by-other" else SlotStatus(status),
                is_published=published,
                is_blocked=blocked,
            )
            if status == "held-by-other":
                Hold.objects.create(slot=slot, resident=other_resident, expires_at=now + dt.timedelta(minutes=5))
            spec_says_offered = (
                clinic == open_clinic
                and appointment_type == bookable
                and status == "free"
                and published
                and not blocked
                and timing == "inside-window"
            )
            cases.append((clinic, appointment_type, slot, spec_says_offered))

    offered_by_type: dict[int, set[int]] = {}
    for clinic, appointment_type, _slot, _expected in cases:
        if appointment_type.pk not in offered_by_type:
            offered_by_type[appointment_type.pk] = offered_ids(
                clinic=clinic, appointment_type=appointment_type, resident=resident, now=now
            )

    disagreements = []
    for _clinic, appointment_type, slot, spec_says_offered in cases:
        in_list = slot.pk in offered_by_type[appointment_type.pk]
        check_passes = check_code(slot=slot, resident=resident, now=now) is None
        if not (in_list == check_passes == spec_says_offered):
            disagreements.append((slot.pk, slot.status, slot.is_published, slot.is_blocked, in_list, check_passes))

    assert disagreements == []
    # The grid really contains both offered and refused slots.
    assert sum(expected for *_rest, expected in cases) == 1  # open clinic, bookable, free, published, unblocked, inside
    assert len(cases) == 2 * 2 * len(STATUSES) * 2 * 2 * len(TIMINGS)


def test_a_slot_held_by_the_resident_themself_is_not_refused_as_held_by_someone_else(
    clinic, appointment_type, resident, other_resident
):
    now = timezone.now()
    slot = SlotFactory(appointment_type=appointment_type)
    hold_create(resident=resident, slot_id=slot.pk, now=now)

    assert check_code(slot=slot, resident=resident, now=now) is None
    assert check_code(slot=slot, resident=other_resident, now=now) == ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED
    assert slot.pk not in offered_ids(
        clinic=clinic, appointment_type=appointment_type, resident=other_resident, now=now
    )
