"""The month calendar when booking and rebooking: days gone by are greyed, crossed out, named so
in words and never links; days past the clinic's published window (R-VIS-1) are striped and the
page says more times are published later."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from bookings.month_calendar import month_calendar
from clinics.models import CaseKind
from core import dates

from ..factories import tomorrow_at
from ..pages import accept_conditions, make_slot, text

pytestmark = pytest.mark.django_db

DECEMBER = dt.date(2026, 12, 1)


def _states(context: dict) -> dict[int, tuple[str, int, str]]:
    return {
        day["date"].day: (day["state"], day["count"], day["url"]) for week in context["weeks"] for day in week if day
    }


def test_each_day_is_past_free_empty_or_later():
    counts = {dt.date(2026, 12, 5): 3, dt.date(2026, 12, 10): 2, dt.date(2026, 12, 22): 4}
    context = month_calendar(
        first=DECEMBER,
        counts=counts,
        day_url=lambda day: f"/dag/{day:%d}/",
        last_visible=dt.date(2026, 12, 20),
        today=dt.date(2026, 12, 10),
    )
    states = _states(context)
    assert states[5] == ("past", 0, "")  # gone by: never a link, whatever was counted
    assert states[9] == ("past", 0, "")
    assert states[10] == ("free", 2, "/dag/10/")  # today is not past
    assert states[11] == ("none", 0, "")
    assert states[20] == ("none", 0, "")
    assert states[21] == ("later", 0, "") and states[22] == ("later", 0, "")
    assert context["more_later"] is True and context["next_month"] is None


def test_a_month_inside_the_window_says_nothing_about_later_times():
    context = month_calendar(
        first=DECEMBER,
        counts={},
        day_url=str,
        last_visible=dt.date(2027, 1, 31),
        today=dt.date(2026, 12, 1),
    )
    assert context["more_later"] is False and context["next_month"] == dt.date(2027, 1, 1)
    assert {state for state, _count, _url in _states(context).values()} == {"none"}


def _window_ending_mid_month() -> tuple[int, dt.date]:
    """Visibility days whose last visible day is not the last day of its month."""
    for days in (10, 11):
        last = timezone.localdate() + dt.timedelta(days=days - 1)
        if (last + dt.timedelta(days=1)).month == last.month:
            return days, last
    raise AssertionError("two days in a row cannot both end a month")


def _cells(page: str, css_class: str) -> list[str]:
    return re.findall(rf'<td class="{css_class}"><span class="day-number">(\d+)</span>', page)


def test_booking_calendar_greys_past_days_and_says_more_times_come_later(
    resident_client, clinic, appointment_type, resource
):
    days, last = _window_ending_mid_month()
    appointment_type.visibility_days = days
    appointment_type.save()
    make_slot(appointment_type, resource, tomorrow_at(9))
    accept_conditions(resident_client, clinic)
    url = reverse("bookings:book_days", args=[clinic.pk, appointment_type.pk])
    today = timezone.localdate()

    this_month = text(resident_client.get(f"{url}?manad={today:%Y-%m}"))
    assert _cells(this_month, "past") == [str(day) for day in range(1, today.day)]
    for day in range(1, today.day):
        past = today.replace(day=day).isoformat()
        assert reverse("bookings:book_times", args=[clinic.pk, appointment_type.pk, past]) not in this_month

    last_month = text(resident_client.get(f"{url}?manad={last:%Y-%m}"))
    later = _cells(last_month, "later")
    assert later and later[0] == str(last.day + 1)
    assert "tiderna är inte publicerade än" in last_month
    with translation.override("sv"):
        published_until = dates.when(last, "date")
    assert f"Tider är publicerade till och med {published_until}. Fler tider publiceras senare" in last_month


def test_rebooking_calendar_says_more_times_come_later_too(resident_client, clinic, appointment_type, resource, booked):
    days, last = _window_ending_mid_month()
    appointment_type.visibility_days = days
    appointment_type.save()
    make_slot(appointment_type, resource, tomorrow_at(11, 0, days=4))
    accept_conditions(resident_client, clinic, CaseKind.MANAGE)
    page = text(resident_client.get(f"{reverse('bookings:rebook_days', args=[booked.pk])}?manad={last:%Y-%m}"))
    assert _cells(page, "later")[0] == str(last.day + 1)
    assert 'id="more-later"' in page
