"""Attendance and no-show figures per clinic, appointment type and month (R-ATT-2).

One aggregate query over the clinic's bookings of the period, grouped by the visit's month in
Swedish time and its type; nothing is read booking by booking. A booking counts in the month of
its start. A rebooked booking is counted once, as the booking it became."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Role, User
from accounts.selectors import user_has_clinic_role
from clinics.models import Clinic
from core.errors import PermissionDeniedError
from core.localtime import LOCAL_TZ, local_midnight
from core.spreadsheet import csv_cell

from .models import AttendanceState, Booking, BookingStatus, Channel
from .selectors import LATE_CHANGE_WINDOW

FIGURES_ROLES = (Role.LOCAL_ADMIN, Role.SCHEDULER, Role.REGION_IT)
MAX_MONTHS = 24


@dataclass(frozen=True)
class MonthFigures:
    month: dt.date
    type_name: str  # the internal name; "" on a month's total over every type
    bookings: int
    web: int
    late_cancellations: int
    no_shows: int
    kept: int  # not cancelled: the visits that could be attended

    @property
    def web_share(self) -> float | None:
        return self.web / self.bookings if self.bookings else None

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.kept if self.kept else None

    # As percentages, for the pages (which write them with the language's decimal sign).
    @property
    def web_percent(self) -> float | None:
        share = self.web_share
        return None if share is None else share * 100

    @property
    def no_show_percent(self) -> float | None:
        rate = self.no_show_rate
        return None if rate is None else rate * 100


@dataclass(frozen=True)
class AttendanceFigures:
    rows: list[MonthFigures]  # per month and type, months in order
    totals: list[MonthFigures]  # every month of the period over every type, zero where nothing was booked


def month_after(month: dt.date) -> dt.date:
    return (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = month_after(month)
    return months


def default_period(*, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The last twelve months, this one included."""
    this_month = timezone.localtime(now or timezone.now(), LOCAL_TZ).date().replace(day=1)
    first = this_month
    for _month in range(11):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first, this_month


def attendance_figures(
    *, actor: User, clinic: Clinic, first_month: dt.date, last_month: dt.date, appointment_type_id: int | None = None
) -> AttendanceFigures:
    """R-ATT-2 for local admins, schedulers and region IT of the clinic (R-ACL-1): bookings, web
    bookings, late cancellations (cancelled by the resident less than 24 hours before the start, as
    R-BOOK-8 counts late), no-shows and the visits kept, per month and type, in one query."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=FIGURES_ROLES):
        raise PermissionDeniedError()
    bookings = Booking.objects.filter(
        clinic=clinic,
        start__gte=local_midnight(first_month.replace(day=1)),
        start__lt=local_midnight(month_after(last_month)),
    ).exclude(status=BookingStatus.REBOOKED)
    if appointment_type_id is not None:
        bookings = bookings.filter(appointment_type_id=appointment_type_id)
    grouped = (
        bookings.annotate(month=TruncMonth("start", tzinfo=LOCAL_TZ))
        .values("month", "appointment_type__internal_name")
        .annotate(
            n=Count("pk"),
            web=Count("pk", filter=Q(channel=Channel.WEB)),
            late=Count(
                "pk",
                filter=Q(
                    status=BookingStatus.CANCELLED,
                    ended_by_id=F("resident_id"),
                    ended_at__gt=F("start") - LATE_CHANGE_WINDOW,
                ),
            ),
            no_shows=Count("pk", filter=Q(attendance__state=AttendanceState.NO_SHOW)),
            kept=Count("pk", filter=Q(status=BookingStatus.ACTIVE)),
        )
        .order_by("month", "appointment_type__internal_name")
    )
    rows = [
        MonthFigures(
            month=_as_date(row["month"]),
            type_name=row["appointment_type__internal_name"],
            bookings=row["n"],
            web=row["web"],
            late_cancellations=row["late"],
            no_shows=row["no_shows"],
            kept=row["kept"],
        )
        for row in grouped
    ]
    totals = [
        _total(month, [row for row in rows if row.month == month]) for month in months_between(first_month, last_month)
    ]
    return AttendanceFigures(rows=rows, totals=totals)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _total(month: dt.date, rows: list[MonthFigures]) -> MonthFigures:
    return MonthFigures(
        month=month,
        type_name="",
        bookings=sum(row.bookings for row in rows),
        web=sum(row.web for row in rows),
        late_cancellations=sum(row.late_cancellations for row in rows),
        no_shows=sum(row.no_shows for row in rows),
        kept=sum(row.kept for row in rows),
    )


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def figures_csv_header() -> list[str]:
    return [
        gettext("Month"),
        gettext("Appointment type"),
        gettext("Bookings"),
        gettext("Booked on the web"),
        gettext("Web share (%)"),
        gettext("Late cancellations"),
        gettext("No-shows"),
        gettext("No-show rate (%)"),
    ]


def figures_csv_row(row: MonthFigures) -> list[str]:
    return [
        row.month.strftime("%Y-%m"),
        csv_cell(row.type_name),
        str(row.bookings),
        str(row.web),
        _percent(row.web_share),
        str(row.late_cancellations),
        str(row.no_shows),
        _percent(row.no_show_rate),
    ]
