"""A type's notice and change rules (R-POL-1, R-POL-2): how close to a visit residents may book it
on the web, until when they may cancel or rebook it there, and what the clinic says a late change
costs. Counted in Swedish local time; working days skip weekends and Swedish public holidays,
including the days the law treats as Sundays (midsummer, Christmas and New Year's Eve)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import dates
from core.localtime import LOCAL_TZ, local_midnight

from .models import AppointmentType, Clinic, DeadlineUnit

# A deadline of N working days walks back at most this many calendar days per working day: no
# run of Swedish weekends and holidays is longer than a week.
_MAX_DAYS_PER_WORKING_DAY = 7


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[dt.date]:
    # The maintained list, not a hand-kept one. DE_FACTO adds midsummer, Christmas and New Year's
    # Eve, which the Annual Leave Act counts as Sundays; clinics are closed then as on a holiday.
    days = holidays.country_holidays("SE", years=year, categories=(holidays.PUBLIC, holidays.DE_FACTO))
    return frozenset(days)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def working_days_before(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day before ``day`` (``day`` itself not counted)."""
    counted, current = 0, day
    for _step in range(n * _MAX_DAYS_PER_WORKING_DAY + _MAX_DAYS_PER_WORKING_DAY):
        if counted == n:
            break
        current -= dt.timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def change_deadline(*, appointment_type: AppointmentType, start: dt.datetime) -> dt.datetime:
    """R-POL-1: the last moment a booking starting at ``start`` may be cancelled or rebooked on
    the web. In hours, that many hours of real time before the start (right across a DST change);
    in working days, the end (local midnight) of the N-th working day before the visit's day:
    "at the latest one working day before" a Tuesday visit means by Monday evening, and by the
    Thursday evening before Easter for the Tuesday after it. None set: the start itself."""
    amount = appointment_type.change_deadline
    if not amount:
        return start
    if appointment_type.change_deadline_unit == DeadlineUnit.HOURS:
        # In UTC: Python subtracts hours from a local time on the wall clock, which is an hour off
        # across a DST change.
        return start.astimezone(dt.UTC) - dt.timedelta(hours=amount)
    visit_day = timezone.localtime(start, LOCAL_TZ).date()
    return local_midnight(working_days_before(visit_day, amount) + dt.timedelta(days=1))


def booking_notice_start(*, appointment_type: AppointmentType, now: dt.datetime) -> dt.datetime:
    """R-POL-1: residents are offered only times that start after this (now plus the notice)."""
    return now.astimezone(dt.UTC) + dt.timedelta(hours=appointment_type.booking_notice_hours)


def _contact(clinic: Clinic) -> str:
    if clinic.phone:
        return _("Call %(clinic)s on %(phone)s.") % {"clinic": clinic.name, "phone": clinic.phone}
    return _("Contact %(clinic)s.") % {"clinic": clinic.name}


def _when(moment: dt.datetime) -> str:
    local = timezone.localtime(moment, LOCAL_TZ)
    if local.time() == dt.time.min:
        # A working-day deadline ends at midnight: said as the end of the day before, not "00:00".
        return _("the end of %(date)s") % {"date": dates.when(local.date() - dt.timedelta(days=1), "date")}
    return dates.when(local)


def change_deadline_text(*, deadline: dt.datetime) -> str:
    return _when(deadline)


def too_late_to_change_message(*, clinic: Clinic, deadline: dt.datetime) -> str:
    """What the resident reads past the deadline (R-POL-1): until when the web took changes, and
    how to reach the clinic instead."""
    return " ".join(
        [
            _("The clinic takes cancellations and rebookings of this time on the web until %(when)s.")
            % {"when": _when(deadline)},
            _("To change it now, contact the clinic."),
            _contact(clinic),
        ]
    )


def too_late_to_book_message(*, appointment_type: AppointmentType, clinic: Clinic) -> str:
    """A time inside the type's minimum notice (R-POL-1)."""
    return " ".join(
        [
            _("This time starts too soon to be booked on the web: book at least %(hours)s hours ahead.")
            % {"hours": appointment_type.booking_notice_hours},
            _contact(clinic),
        ]
    )


def deadline_text(*, appointment_type: AppointmentType) -> str:
    """The rule in words, for the pages that show a type's settings."""
    amount = appointment_type.change_deadline
    if not amount:
        return _("Until the visit starts")
    if appointment_type.change_deadline_unit == DeadlineUnit.HOURS:
        return ngettext("%(n)s hour before the visit", "%(n)s hours before the visit", amount) % {"n": amount}
    if amount == 1:
        return _("By the end of the working day before the visit")
    return _("By the end of the working day %(n)s working days before the visit") % {"n": amount}
