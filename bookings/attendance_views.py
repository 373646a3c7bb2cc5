"""Reception's attendance marks from the timebook's day view (R-ATT-1) and the clinic's attendance
and no-show figures with a chart and CSV export (R-ATT-2). Thin: each view checks the role at the
clinic in the URL (R-ACL-1), parses the request and calls a service or selector."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.http import AuthenticatedHttpRequest
from clinics.models import Clinic
from clinics.workspace import clinic_for, staff_required, workspace_clinic
from core.errors import DomainError
from schedules.workspace_views import local_date, refuse_unless_post, scheduler_clinic, timebook_url

from .attendance_selectors import (
    FIGURES_ROLES,
    MAX_MONTHS,
    AttendanceFigures,
    MonthFigures,
    attendance_figures,
    default_period,
    figures_csv_header,
    figures_csv_row,
)
from .forms import AttendanceFiguresForm
from .models import AttendanceState, Booking
from .services import attendance_mark, attendance_undo

# --- Marks from the day view (R-ATT-1) -----------------------------------------------------------


def _clinic_booking(clinic: Clinic, booking_id: int) -> Booking:
    booking = Booking.objects.filter(pk=booking_id, clinic=clinic).only("pk", "start", "slot_id").first()
    if booking is None:
        raise Http404
    return booking


def _back_to_day(request: AuthenticatedHttpRequest, clinic: Clinic, booking: Booking) -> HttpResponse:
    url = timebook_url(clinic, resource_id=request.POST.get("resurs", ""), day=local_date(booking.start), day_view=True)
    return redirect(f"{url}#attendance-{booking.pk}")


@staff_required
def attendance_mark_view(request: AuthenticatedHttpRequest, clinic_id: int, booking_id: int) -> HttpResponse:
    clinic, _ws = scheduler_clinic(request, clinic_id)
    booking = _clinic_booking(clinic, booking_id)
    if refused := refuse_unless_post(request):
        return refused
    state = request.POST.get("state", "")
    try:
        attendance_mark(actor=request.user, booking_id=booking.pk, state=state)
    except DomainError as exc:
        messages.error(request, " ".join(str(m) for ms in exc.field_errors.values() for m in ms) or str(exc.message))
    else:
        messages.success(request, _("Marked: %(state)s.") % {"state": AttendanceState(state).label})
    return _back_to_day(request, clinic, booking)


@staff_required
def attendance_undo_view(request: AuthenticatedHttpRequest, clinic_id: int, booking_id: int) -> HttpResponse:
    clinic, _ws = scheduler_clinic(request, clinic_id)
    booking = _clinic_booking(clinic, booking_id)
    if refused := refuse_unless_post(request):
        return refused
    try:
        attendance_undo(actor=request.user, booking_id=booking.pk)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The mark is undone."))
    return _back_to_day(request, clinic, booking)


# --- Figures (R-ATT-2) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartBar:
    label: str  # the month, as on the axis
    value_text: str  # the rate as written beside the bar
    x: int
    y: float
    width: int
    height: float

    @property
    def value_y(self) -> float:
        return self.y - 4


CHART_HEIGHT, CHART_BAR, CHART_GAP, CHART_LEFT, CHART_TOP = 160, 28, 14, 8, 20


def _chart(totals: list[MonthFigures]) -> list[ChartBar]:
    """The no-show rate per month as bars of an SVG drawn on the server: no script, no CDN. The
    scale runs to the highest rate (at least 10 %), so a clinic's small rates are still visible."""
    top = max([row.no_show_rate or 0.0 for row in totals] + [0.1])
    bars = []
    for index, row in enumerate(totals):
        rate = row.no_show_rate or 0.0
        height = CHART_HEIGHT * rate / top
        bars.append(
            ChartBar(
                label=row.month.strftime("%y-%m"),
                value_text="–" if row.no_show_rate is None else f"{rate * 100:.0f} %",
                x=CHART_LEFT + index * (CHART_BAR + CHART_GAP),
                y=CHART_TOP + CHART_HEIGHT - height,
                width=CHART_BAR,
                height=height,
            )
        )
    return bars


def _figures_request(
    request: AuthenticatedHttpRequest, clinic: Clinic
) -> tuple[AttendanceFiguresForm, AttendanceFigures | None, tuple[dt.date, dt.date]]:
    """The figures the query string asks for (the last twelve months when it asks nothing), or None
    with the form's errors."""
    period = default_period()
    form = AttendanceFiguresForm(request.GET, clinic=clinic, max_months=MAX_MONTHS, default_period=period)
    if not form.is_valid():
        return form, None, period
    first, last = form.cleaned_data["fran"], form.cleaned_data["till"]
    chosen = form.cleaned_data.get("typ")
    figures = attendance_figures(
        actor=request.user,
        clinic=clinic,
        first_month=first,
        last_month=last,
        appointment_type_id=chosen.pk if chosen is not None else None,
    )
    return form, figures, (first, last)


@staff_required
def attendance_figures_page(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, FIGURES_ROLES)
    form, figures, (first, last) = _figures_request(request, clinic)
    if not request.GET:
        # Nothing asked: the form shows the period the figures are for.
        form = AttendanceFiguresForm(
            initial={"fran": first, "till": last}, clinic=clinic, max_months=MAX_MONTHS, default_period=(first, last)
        )
    bars = _chart(figures.totals) if figures is not None else []
    return render(
        request,
        "workspace/attendance/figures.html",
        {
            "ws": workspace_clinic(user=request.user, clinic=clinic),
            "form": form,
            "figures": figures,
            "first": first,
            "last": last,
            "bars": bars,
            "chart_width": CHART_LEFT * 2 + max(len(bars), 1) * (CHART_BAR + CHART_GAP),
            "chart_height": CHART_TOP + CHART_HEIGHT + 24,
            "chart_baseline": CHART_TOP + CHART_HEIGHT,
            "query": request.GET.urlencode(),
        },
        status=400 if form.errors else 200,
    )


@staff_required
def attendance_figures_csv(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, FIGURES_ROLES)
    _form, figures, (first, last) = _figures_request(request, clinic)
    if figures is None:
        messages.error(request, _("Check the period and type, then download again."))
        return redirect(f"{request.path.removesuffix('.csv')}/?{request.GET.urlencode()}")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"narvaro-{clinic.hsa_id}-{first:%Y-%m}-{last:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # As the web log's export: a byte order mark for Excel's UTF-8, ";" for Swedish Excel.
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(figures_csv_header())
    writer.writerows(figures_csv_row(row) for row in figures.rows)
    return response
