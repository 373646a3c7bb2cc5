"""R-NOTE-2: reminders are right across the daylight-saving changes in Europe/Stockholm: "24
hours before" a 09:00 visit is 09:00 the day before on the clock, although that day had 25 or 23
hours."""

from __future__ import annotations

import datetime as dt

import pytest

from bookings.services import booking_create
from notifications.models import NotificationEvent
from notifications.services import reminder_at, reminders_due
from schedules.selectors import LOCAL_TZ

from ..pages import make_slot

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.mark.parametrize(
    ("visit", "reminder"),
    [
        # October: Sunday 25 October 2026 has 25 hours (03:00 CEST → 02:00 CET).
        (dt.datetime(2026, 10, 25, 9, 0, tzinfo=LOCAL_TZ), dt.datetime(2026, 10, 24, 7, 0, tzinfo=UTC)),
        # March: Sunday 29 March 2026 has 23 hours (02:00 CET → 03:00 CEST).
        (dt.datetime(2026, 3, 29, 9, 0, tzinfo=LOCAL_TZ), dt.datetime(2026, 3, 28, 8, 0, tzinfo=UTC)),
        # No change in between: 24 hours are 24 hours.
        (dt.datetime(2026, 11, 10, 9, 0, tzinfo=LOCAL_TZ), dt.datetime(2026, 11, 9, 8, 0, tzinfo=UTC)),
    ],
)
def test_a_day_before_is_the_same_time_on_the_clock_the_day_before(visit, reminder):
    at = reminder_at(visit.astimezone(UTC), 24)
    assert at == reminder
    assert at.astimezone(LOCAL_TZ).time() == dt.time(9, 0)


def test_hours_under_a_day_are_elapsed_hours_across_the_change():
    # 03:30 CET on 25 October is 02:30 UTC; two hours earlier is 00:30 UTC (02:30 CEST).
    visit = dt.datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    assert reminder_at(visit, 2) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("visit", "due_utc"),
    [
        (dt.datetime(2026, 10, 25, 9, 0, tzinfo=LOCAL_TZ), dt.datetime(2026, 10, 24, 7, 0, tzinfo=UTC)),
        (dt.datetime(2026, 3, 29, 9, 0, tzinfo=LOCAL_TZ), dt.datetime(2026, 3, 28, 8, 0, tzinfo=UTC)),
    ],
)
def test_the_sweep_records_the_reminder_at_that_moment_across_the_change(
    visit, due_utc, resident, appointment_type, resource, time_machine
):
    time_machine.move_to(visit - dt.timedelta(days=6), tick=False)
    booking = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, visit).pk)

    time_machine.move_to(due_utc - dt.timedelta(minutes=1), tick=False)
    assert reminders_due() == 0
    time_machine.move_to(due_utc + dt.timedelta(minutes=1), tick=False)
    assert reminders_due() == 1
    assert NotificationEvent.objects.get(kind="reminder").booking_id == booking.pk
