"""R-SCHED-1 (slots from a weekly pattern in Stockholm local time, across DST) and
R-SCHED-2 (schedule changes never delete booked slots; only the clinic's schedulers)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict

import pytest
from django.utils import timezone

from bookings.models import BookingStatus
from bookings.services import booking_create
from clinics.models import AppointmentType
from core.errors import ErrorCode, PermissionDeniedError, ValidationFailed
from schedules.models import Block, Schedule, Slot, SlotStatus
from schedules.selectors import LOCAL_TZ, offered_slots
from schedules.services import (
    block_create,
    block_delete,
    schedule_create,
    schedule_publish,
    schedule_remove_type,
    schedule_slot_times,
    slot_add,
    slots_change_type,
)

from ..factories import AppointmentTypeFactory, ResourceFactory, SlotFactory, schedule_pattern, tomorrow_at

ONE_HOUR = dt.timedelta(hours=1)
EVERY_DAY = list(range(1, 8))


def last_sunday(year: int, month: int) -> dt.date:
    """EU summer time starts on the last Sunday of March and ends on the last Sunday of October."""
    day = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
    return day - dt.timedelta(days=day.isoweekday() % 7)


SPRING_FORWARD = last_sunday(2027, 3)
FALL_BACK = last_sunday(2027, 10)


@pytest.fixture
def before_2027(time_machine):
    """Freeze the clock before the 2027 DST changes, so those days are in the future."""
    time_machine.move_to(dt.datetime(2027, 1, 15, 12, 0, tzinfo=LOCAL_TZ), tick=False)


def create(scheduler, resource, appointment_type, **overrides) -> Schedule:
    """Every day from tomorrow for three days, 08:00–10:00 in 30-minute times, unless told otherwise."""
    return schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type, days=3, **overrides),
    )


def publish(scheduler, schedule, capture, **kwargs) -> int:
    with capture(execute=True):
        return schedule_publish(actor=scheduler, schedule=schedule, **kwargs)


def local_starts(schedule: Schedule) -> list[dt.datetime]:
    return [s.astimezone(LOCAL_TZ) for s in Slot.objects.filter(schedule=schedule).values_list("start", flat=True)]


def assert_no_overlap(slots: list[Slot]) -> None:
    ordered = sorted(slots, key=lambda s: s.start)
    for earlier, later in itertools.pairwise(ordered):
        assert earlier.end <= later.start, (earlier.start, earlier.end, later.start)


# --- R-SCHED-1: weekly pattern in Stockholm local time, across DST ---------------------------


def utc_offset(moment: dt.datetime) -> dt.timedelta:
    offset = moment.utcoffset()
    assert offset is not None, f"{moment} has no time zone"
    return offset


def test_dst_dates_are_the_last_sundays_of_march_and_october():
    """The test data: the clocks really change on these days."""
    assert SPRING_FORWARD.isoweekday() == 7 and SPRING_FORWARD.month == 3
    assert FALL_BACK.isoweekday() == 7 and FALL_BACK.month == 10
    before = dt.datetime.combine(SPRING_FORWARD - dt.timedelta(days=1), dt.time(12), tzinfo=LOCAL_TZ)
    after = dt.datetime.combine(SPRING_FORWARD, dt.time(12), tzinfo=LOCAL_TZ)
    assert utc_offset(after) - utc_offset(before) == ONE_HOUR


def one_by_one(schedule: Schedule) -> list[tuple[dt.datetime, dt.datetime]]:
    """The rule itself, each wall-clock time converted on its own: skipped in the spring gap,
    the first of the repeated autumn hour, and lengths in real minutes."""
    times = []
    length = dt.timedelta(minutes=schedule.slot_minutes)
    day = schedule.start_date
    while day <= schedule.end_date:
        wall = dt.datetime.combine(day, schedule.day_start)
        while day.isoweekday() in schedule.weekdays and wall + length <= dt.datetime.combine(day, schedule.day_end):
            start = wall.replace(tzinfo=LOCAL_TZ)
            if start.astimezone(dt.UTC).astimezone(LOCAL_TZ).replace(tzinfo=None) == wall:
                times.append((start, (start.astimezone(dt.UTC) + length).astimezone(LOCAL_TZ)))
            wall += length
        day += dt.timedelta(days=1)
    return times


@pytest.mark.parametrize(
    ("day_start", "day_end", "minutes", "weekdays"),
    [
        (dt.time(0), dt.time(23, 59), 20, EVERY_DAY),
        (dt.time(1, 30), dt.time(4), 25, EVERY_DAY),
        (dt.time(2, 10), dt.time(3, 5), 5, [7]),
        (dt.time(7), dt.time(15), 45, [1, 3, 7]),
    ],
)
def test_a_years_times_are_those_of_each_wall_clock_time_converted_on_its_own(day_start, day_end, minutes, weekdays):
    """The days without a clock change are made by addition: they agree with the rule, time for
    time and offset for offset, on every day of a year with both changes in it."""
    schedule = Schedule(
        weekdays=weekdays,
        start_date=dt.date(2027, 1, 1),
        end_date=dt.date(2027, 12, 31),
        day_start=day_start,
        day_end=day_end,
        slot_minutes=minutes,
    )

    times = list(schedule_slot_times(schedule))

    assert times == one_by_one(schedule)
    assert [(start.utcoffset(), end.utcoffset()) for start, end in times] == [
        (start.utcoffset(), end.utcoffset()) for start, end in one_by_one(schedule)
    ]


def test_times_already_begun_are_never_made(scheduler, resource, appointment_type, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    schedule = create(scheduler, resource, appointment_type, start_date=today, end_date=today + dt.timedelta(days=1))
    now = dt.datetime.combine(today, dt.time(9), tzinfo=LOCAL_TZ)

    created = publish(scheduler, schedule, django_capture_on_commit_callbacks, now=now)

    assert created == 1 + 4  # 09:30 today, then all of tomorrow's
    assert min(local_starts(schedule)) == dt.datetime.combine(today, dt.time(9, 30), tzinfo=LOCAL_TZ)


@pytest.mark.parametrize("change_day", [SPRING_FORWARD, FALL_BACK], ids=["spring-forward", "fall-back"])
def test_daily_morning_schedule_starts_at_eight_local_on_both_sides_of_a_dst_change(
    change_day, before_2027, scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    day_before, day_after = change_day - dt.timedelta(days=1), change_day + dt.timedelta(days=1)
    schedule = create(
        scheduler,
        resource,
        appointment_type,
        start_date=day_before,
        end_date=day_after,
        day_start=dt.time(8),
        day_end=dt.time(12),
        slot_minutes=60,
    )

    created = publish(scheduler, schedule, django_capture_on_commit_callbacks)

    slots = list(Slot.objects.filter(schedule=schedule).order_by("start"))
    assert created == len(slots) == 3 * 4
    by_day: dict[dt.date, list[dt.time]] = defaultdict(list)
    offsets: dict[dt.date, set[dt.timedelta]] = defaultdict(set)
    for slot in slots:
        start = slot.start.astimezone(LOCAL_TZ)
        by_day[start.date()].append(start.time())
        offsets[start.date()].add(utc_offset(start))
        assert slot.end - slot.start == ONE_HOUR
    expected_times = [dt.time(h) for h in (8, 9, 10, 11)]
    assert dict(by_day) == {day_before: expected_times, change_day: expected_times, day_after: expected_times}
    # Stockholm is UTC+1 in winter, UTC+2 in summer; the change has happened by 08:00 that day.
    winter, summer = dt.timedelta(hours=1), dt.timedelta(hours=2)
    if change_day == SPRING_FORWARD:
        assert offsets == {day_before: {winter}, change_day: {summer}, day_after: {summer}}
    else:
        assert offsets == {day_before: {summer}, change_day: {winter}, day_after: {winter}}
    # The first slot of each day is an hour apart in UTC terms from the one 24 h earlier.
    first = {day: min(s.start for s in slots if s.start.astimezone(LOCAL_TZ).date() == day) for day in by_day}
    shift = first[change_day] - first[day_before]
    assert shift == (dt.timedelta(hours=23) if change_day == SPRING_FORWARD else dt.timedelta(hours=25))
    assert first[day_after] - first[change_day] == dt.timedelta(hours=24)


def test_hour_that_does_not_exist_on_spring_forward_day_yields_no_slots(
    before_2027, scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    schedule = create(
        scheduler,
        resource,
        appointment_type,
        start_date=SPRING_FORWARD,
        end_date=SPRING_FORWARD,
        day_start=dt.time(2),
        day_end=dt.time(3),
        slot_minutes=30,
    )

    created = publish(scheduler, schedule, django_capture_on_commit_callbacks)

    assert created == 0
    assert not Slot.objects.filter(schedule=schedule).exists()


def test_slots_around_the_spring_gap_keep_their_real_length_and_do_not_overlap(
    before_2027, scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    schedule = create(
        scheduler,
        resource,
        appointment_type,
        start_date=SPRING_FORWARD,
        end_date=SPRING_FORWARD,
        day_start=dt.time(1),
        day_end=dt.time(4),
        slot_minutes=60,
    )

    publish(scheduler, schedule, django_capture_on_commit_callbacks)

    slots = list(Slot.objects.filter(schedule=schedule).order_by("start"))
    assert [s.start.astimezone(LOCAL_TZ).time() for s in slots] == [dt.time(1), dt.time(3)]
    assert all(s.end - s.start == ONE_HOUR for s in slots)
    assert_no_overlap(slots)


@pytest.mark.parametrize(
    ("day_start", "day_end", "minutes"),
    [(dt.time(2), dt.time(3), 30), (dt.time(1), dt.time(4), 60)],
    ids=["02-03", "01-04"],
)
def test_repeated_autumn_hour_gives_no_overlapping_or_duplicate_slots(
    day_start, day_end, minutes, before_2027, scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    schedule = create(
        scheduler,
        resource,
        appointment_type,
        start_date=FALL_BACK,
        end_date=FALL_BACK,
        day_start=day_start,
        day_end=day_end,
        slot_minutes=minutes,
    )

    created = publish(scheduler, schedule, django_capture_on_commit_callbacks)

    slots = list(Slot.objects.filter(schedule=schedule).order_by("start"))
    wall_times = [s.start.astimezone(LOCAL_TZ).replace(tzinfo=None) for s in slots]
    expected_count = (
        dt.datetime.combine(FALL_BACK, day_end) - dt.datetime.combine(FALL_BACK, day_start)
    ) // dt.timedelta(minutes=minutes)
    assert created == len(slots) == expected_count
    assert len(set(wall_times)) == len(wall_times)
    assert all(s.end - s.start == dt.timedelta(minutes=minutes) for s in slots)
    assert_no_overlap(slots)


def test_schedule_only_generates_slots_on_its_weekdays_and_dates(
    before_2027, scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    monday = dt.date(2027, 2, 1)
    assert monday.isoweekday() == 1
    schedule = create(
        scheduler,
        resource,
        appointment_type,
        weekdays=[1, 3],
        start_date=monday,
        end_date=monday + dt.timedelta(days=13),
        day_start=dt.time(9),
        day_end=dt.time(10),
        slot_minutes=20,
    )

    publish(scheduler, schedule, django_capture_on_commit_callbacks)

    starts = local_starts(schedule)
    assert {s.isoweekday() for s in starts} == {1, 3}
    assert len({s.date() for s in starts}) == 4
    assert len(starts) == 4 * 3
    assert all(monday <= s.date() <= monday + dt.timedelta(days=13) for s in starts)
    assert all(dt.time(9) <= s.time() < dt.time(10) for s in starts)


def test_schedule_publish_does_not_create_slots_in_the_past(
    time_machine, scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    now = dt.datetime(2027, 2, 3, 9, 0, tzinfo=LOCAL_TZ)
    time_machine.move_to(now, tick=False)
    schedule = create(
        scheduler,
        resource,
        appointment_type,
        start_date=now.date(),
        end_date=now.date(),
        day_start=dt.time(8),
        day_end=dt.time(11),
        slot_minutes=30,
    )

    created = publish(scheduler, schedule, django_capture_on_commit_callbacks, now=now)

    starts = local_starts(schedule)
    assert created == len(starts) == 3  # 09:30, 10:00, 10:30
    assert all(s > now for s in starts)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": [0]}, "weekdays"),
        ({"weekdays": [8]}, "weekdays"),
        ({"end_date_offset": -1}, "end_date"),
        ({"end_date_offset": 366}, "end_date"),
        ({"day_start": dt.time(10), "day_end": dt.time(10)}, "day_end"),
        ({"day_start": dt.time(11), "day_end": dt.time(10)}, "day_end"),
        ({"slot_minutes": 4}, "slot_minutes"),
        ({"slot_minutes": 481}, "slot_minutes"),
    ],
    ids=[
        "no-weekdays",
        "weekday-0",
        "weekday-8",
        "end-before-start",
        "longer-than-a-year",
        "end-equals-start-time",
        "end-before-start-time",
        "slot-too-short",
        "slot-too-long",
    ],
)
def test_schedule_create_rejects_invalid_input_with_field_errors(
    overrides, field, scheduler, resource, appointment_type
):
    overrides = dict(overrides)
    start_date = timezone.localdate() + dt.timedelta(days=1)
    if "end_date_offset" in overrides:
        overrides["end_date"] = start_date + dt.timedelta(days=overrides.pop("end_date_offset"))

    with pytest.raises(ValidationFailed) as excinfo:
        create(scheduler, resource, appointment_type, start_date=start_date, **overrides)

    assert excinfo.value.code == ErrorCode.INVALID_INPUT
    assert field in excinfo.value.field_errors
    assert not Schedule.objects.exists()


def test_schedule_create_accepts_the_limits(scheduler, resource, appointment_type):
    start_date = timezone.localdate() + dt.timedelta(days=1)

    schedule = create(
        scheduler,
        resource,
        appointment_type,
        weekdays=[7, 1, 1],
        start_date=start_date,
        end_date=start_date + dt.timedelta(days=365),
        slot_minutes=480,
        day_start=dt.time(0),
        day_end=dt.time(23, 59),
    )

    assert schedule.weekdays == [1, 7]
    assert create(scheduler, resource, appointment_type, slot_minutes=5).slot_minutes == 5


def test_schedule_create_rejects_a_type_of_another_clinic(scheduler, resource, other_clinic):
    foreign_type = AppointmentTypeFactory(clinic=other_clinic)

    with pytest.raises(ValidationFailed) as excinfo:
        create(scheduler, resource, foreign_type)

    assert "appointment_type" in excinfo.value.field_errors
    assert not Schedule.objects.exists()


def test_schedule_publish_twice_creates_no_duplicates(
    scheduler, clinic, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    schedule = create(scheduler, resource, appointment_type)
    first = publish(scheduler, schedule, django_capture_on_commit_callbacks)
    booked = Slot.objects.filter(schedule=schedule).earliest("start")
    booking = booking_create(resident=resident, slot_id=booked.pk)
    before = {(s.pk, s.start, s.status) for s in Slot.objects.filter(resource=resource)}

    second = publish(scheduler, schedule, django_capture_on_commit_callbacks)

    assert first > 0
    assert second == 0
    after = {(s.pk, s.start, s.status) for s in Slot.objects.filter(resource=resource)}
    assert after == before
    starts = list(Slot.objects.filter(resource=resource).values_list("start", flat=True))
    assert len(starts) == len(set(starts)) == first
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    booked.refresh_from_db()
    assert booked.status == SlotStatus.BOOKED and booked.is_published is False


def test_schedule_publish_keeps_an_existing_single_slot_at_the_same_time(
    scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    other_type = AppointmentTypeFactory(clinic=resource.clinic, internal_name="Vaccination", web_name="Vaccination")
    existing = SlotFactory(appointment_type=other_type, resource=resource, start=tomorrow_at(8), end=tomorrow_at(8, 30))
    schedule = create(scheduler, resource, appointment_type)

    created = publish(scheduler, schedule, django_capture_on_commit_callbacks)

    existing.refresh_from_db()
    assert existing.appointment_type_id == other_type.pk
    assert existing.schedule_id is None
    assert created == Slot.objects.filter(schedule=schedule).count()
    assert_no_overlap(list(Slot.objects.filter(resource=resource)))


def test_blocks_existing_at_publish_time_mark_the_covered_slots_blocked(
    scheduler, clinic, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    schedule = create(scheduler, resource, appointment_type)
    block_start = tomorrow_at(9)
    block = block_create(actor=scheduler, resource=resource, start=block_start, end=block_start + ONE_HOUR).block
    other_resource_block = block_create(
        actor=scheduler, resource=ResourceFactory(clinic=clinic), start=tomorrow_at(8), end=tomorrow_at(10)
    ).block

    publish(scheduler, schedule, django_capture_on_commit_callbacks)

    slots = list(Slot.objects.filter(schedule=schedule))
    blocked = {s.pk for s in slots if s.is_blocked}
    inside = {s.pk for s in slots if s.start < block.end and s.end > block.start}
    assert inside and blocked == inside
    offered = set(
        offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident).values_list("pk", flat=True)
    )
    assert offered == {s.pk for s in slots} - inside
    assert other_resource_block.resource_id != resource.pk


# --- R-SCHED-2: changes never delete booked slots; only this clinic's schedulers ---------------


def test_removing_the_type_from_a_schedule_never_deletes_booked_slots(
    scheduler, resource, appointment_type, resident, other_resident, django_capture_on_commit_callbacks
):
    schedule = create(scheduler, resource, appointment_type)
    publish(scheduler, schedule, django_capture_on_commit_callbacks)
    first, second = Slot.objects.filter(schedule=schedule).order_by("start")[:2]
    bookings = [
        booking_create(resident=resident, slot_id=first.pk),
        booking_create(resident=other_resident, slot_id=second.pk),
    ]

    schedule_remove_type(actor=scheduler, schedule=schedule)

    assert set(Slot.objects.filter(resource=resource).values_list("pk", flat=True)) == {first.pk, second.pk}
    for booking in bookings:
        booking.refresh_from_db()
        assert booking.status == BookingStatus.ACTIVE
        assert booking.slot_id in {first.pk, second.pk}


def test_slots_change_type_leaves_booked_slots_alone(scheduler, clinic, resource, appointment_type, resident):
    booked = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    free = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9))
    booking = booking_create(resident=resident, slot_id=booked.pk)
    new_type = AppointmentTypeFactory(clinic=clinic, internal_name="Telefonsamtal", web_name="Telefon")

    changed = slots_change_type(
        actor=scheduler, slots=Slot.objects.filter(pk__in=[booked.pk, free.pk]), appointment_type=new_type
    ).changed

    assert changed == 1
    booked.refresh_from_db()
    free.refresh_from_db()
    booking.refresh_from_db()
    assert booked.appointment_type_id == appointment_type.pk
    assert booked.status == SlotStatus.BOOKED
    assert booking.appointment_type_id == appointment_type.pk
    assert booking.status == BookingStatus.ACTIVE
    assert free.appointment_type_id == new_type.pk


def test_slots_change_type_rejects_a_type_of_another_clinic(scheduler, resource, appointment_type, other_clinic):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    foreign_type = AppointmentTypeFactory(clinic=other_clinic)

    with pytest.raises(ValidationFailed):
        slots_change_type(actor=scheduler, slots=Slot.objects.filter(pk=slot.pk), appointment_type=foreign_type)

    slot.refresh_from_db()
    assert slot.appointment_type_id == appointment_type.pk


def test_slot_add_rejects_an_overlapping_time_on_the_resource(scheduler, resource, appointment_type):
    SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8), end=tomorrow_at(8, 30))

    with pytest.raises(ValidationFailed) as excinfo:
        slot_add(
            actor=scheduler,
            resource=resource,
            appointment_type=appointment_type,
            start=tomorrow_at(8, 15),
            end=tomorrow_at(8, 45),
        )

    assert "start" in excinfo.value.field_errors
    assert Slot.objects.filter(resource=resource).count() == 1


def test_slot_add_rejects_a_time_in_the_past(scheduler, resource, appointment_type):
    start = timezone.now() - ONE_HOUR

    with pytest.raises(ValidationFailed) as excinfo:
        slot_add(
            actor=scheduler, resource=resource, appointment_type=appointment_type, start=start, end=start + ONE_HOUR
        )

    assert "start" in excinfo.value.field_errors
    assert not Slot.objects.exists()


def _attempt_schedule_create(ctx):
    create(ctx["actor"], ctx["resource"], ctx["appointment_type"])


def _attempt_schedule_publish(ctx):
    schedule_publish(actor=ctx["actor"], schedule=ctx["schedule"])


def _attempt_schedule_remove_type(ctx):
    schedule_remove_type(actor=ctx["actor"], schedule=ctx["schedule"])


def _attempt_slot_add(ctx):
    slot_add(
        actor=ctx["actor"],
        resource=ctx["resource"],
        appointment_type=ctx["appointment_type"],
        start=tomorrow_at(15),
        end=tomorrow_at(15, 30),
    )


def _attempt_slots_change_type(ctx):
    slots_change_type(
        actor=ctx["actor"], slots=Slot.objects.filter(pk=ctx["slot"].pk), appointment_type=ctx["other_type"]
    )


def _attempt_block_create(ctx):
    block_create(actor=ctx["actor"], resource=ctx["resource"], start=ctx["slot"].start, end=ctx["slot"].end)


def _attempt_block_delete(ctx):
    block_delete(actor=ctx["actor"], block=ctx["block"])


ATTEMPTS = [
    _attempt_schedule_create,
    _attempt_schedule_publish,
    _attempt_schedule_remove_type,
    _attempt_slot_add,
    _attempt_slots_change_type,
    _attempt_block_create,
    _attempt_block_delete,
]


def _state(clinic) -> dict:
    return {
        "schedules": sorted(Schedule.objects.filter(clinic=clinic).values_list("pk", "published_at", "removed_at")),
        "slots": sorted(
            Slot.objects.filter(clinic=clinic).values_list(
                "pk", "appointment_type_id", "status", "is_published", "is_blocked"
            )
        ),
        "blocks": sorted(Block.objects.filter(clinic=clinic).values_list("pk", flat=True)),
    }


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.__name__.removeprefix("_attempt_") for a in ATTEMPTS])
@pytest.mark.parametrize("who", ["other-clinic-scheduler", "resident"])
def test_only_the_clinics_schedulers_may_change_its_schedules(
    attempt, who, scheduler, other_scheduler, resident, clinic, resource, appointment_type
):
    schedule = create(scheduler, resource, appointment_type)
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(14))
    other_type = AppointmentType.objects.create(
        clinic=clinic, internal_name="Telefonsamtal", web_name="Telefon", bookable_on_web=True
    )
    block = block_create(actor=scheduler, resource=resource, start=tomorrow_at(18), end=tomorrow_at(19)).block
    before = _state(clinic)
    actor = other_scheduler if who == "other-clinic-scheduler" else resident
    ctx = {
        "actor": actor,
        "resource": resource,
        "appointment_type": appointment_type,
        "schedule": schedule,
        "slot": slot,
        "other_type": other_type,
        "block": block,
    }

    with pytest.raises(PermissionDeniedError) as excinfo:
        attempt(ctx)

    assert excinfo.value.code == ErrorCode.PERMISSION_DENIED
    assert _state(clinic) == before


def test_own_clinic_scheduler_may_change_its_schedules(scheduler, resource, appointment_type):
    """The counterpart of the permission test: the same calls succeed for the clinic's scheduler."""
    schedule = create(scheduler, resource, appointment_type)
    assert schedule_publish(actor=scheduler, schedule=schedule) > 0
    block = block_create(actor=scheduler, resource=resource, start=tomorrow_at(8), end=tomorrow_at(9)).block
    block_delete(actor=scheduler, block=block)
    removed = schedule_remove_type(actor=scheduler, schedule=schedule)
    assert removed is not None and removed > 0
