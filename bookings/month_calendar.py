"""The month of days a resident chooses from, when booking and when rebooking: which month to
show, and what each day is — gone by, with free times, without, or beyond the days the clinic
has published yet (R-VIS-1) — so the page can say so in words as well as in colour."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Literal, TypedDict

from django.http import HttpRequest
from django.utils import timezone

from clinics.models import AppointmentType
from clinics.selectors import visibility_cutoff
from core import params
from core.localtime import LOCAL_TZ

DayState = Literal["past", "free", "none", "later"]


class CalendarDay(TypedDict):
    date: dt.date
    count: int
    url: str
    state: DayState


def month_from(request: HttpRequest, first_free: dt.datetime | None) -> dt.date:
    """The month asked for, else the month of the first free time, never before this month."""
    this_month = timezone.localdate().replace(day=1)
    try:
        # R-SEC-6: strict YYYY-MM within the calendar core.params allows, so the next month
        # and the month before can always be computed.
        return max(params.parse_month(request.GET.get("manad"), name="manad"), this_month)
    except params.BadParameter:
        if first_free is None:
            return this_month
        return timezone.localtime(first_free, LOCAL_TZ).date().replace(day=1)


def last_visible_day(appointment_type: AppointmentType) -> dt.date:
    """The last day residents see times on today (R-VIS-1)."""
    cutoff = visibility_cutoff(appointment_type=appointment_type) - dt.timedelta(seconds=1)
    return cutoff.astimezone(LOCAL_TZ).date()


def _state(day: dt.date, count: int, *, today: dt.date, last_visible: dt.date) -> DayState:
    if day < today:
        return "past"
    if day > last_visible:
        return "later"
    return "free" if count else "none"


def month_calendar(
    *,
    first: dt.date,
    counts: dict[dt.date, int],
    day_url: Callable[[dt.date], str],
    last_visible: dt.date,
    today: dt.date | None = None,
) -> dict:
    """The context of templates/bookings/_month_calendar.html for the month starting ``first``."""
    today = today or timezone.localdate()
    weeks: list[list[CalendarDay | None]] = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        row: list[CalendarDay | None] = []
        for day in week:
            if day.month != first.month:
                row.append(None)
                continue
            state = _state(day, counts.get(day, 0), today=today, last_visible=last_visible)
            count = counts.get(day, 0) if state == "free" else 0
            row.append({"date": day, "count": count, "url": day_url(day) if count else "", "state": state})
        weeks.append(row)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    return {
        "weeks": weeks,
        "total": sum(counts.values()),
        "month": first,
        "previous_month": (first - dt.timedelta(days=1)).replace(day=1) if first > today.replace(day=1) else None,
        "next_month": next_month if next_month <= last_visible else None,
        "last_visible": last_visible,
        # The month reaches past the published days: say that more times come later.
        "more_later": next_month - dt.timedelta(days=1) > last_visible,
    }
