"""Support pages of the clinic workspace: the web booking log, its export and booking bases
(R-LOG-1…3), and the audit log for region IT (R-LOG-4). Views translate the request and call
selectors; every read of residents' data is audited there."""

from __future__ import annotations

import csv

from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Role, User
from accounts.workspace import clinic_for, staff_required, workspace_clinic
from clinics.models import Clinic
from tidbok.errors import DomainError

from .audit import ACTION_LABELS, audit_events_for_clinic, audit_residents_shown
from .forms import DateRangeFilterForm, WebLogFilterForm
from .selectors import (
    booking_basis_for_staff,
    resident_for_personnummer,
    web_log_changes,
    web_log_csv_header,
    web_log_csv_row,
    web_log_for_clinic,
)

PAGE_SIZE = 100
SUPPORT = (Role.SUPPORT,)


def _page(request: HttpRequest, rows) -> Page:
    # get_page turns a missing, mistyped or too large page number into the first or last page.
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("sida"))


def _resident(filters: dict) -> tuple[User | None, bool]:
    """The resident searched for, and whether a valid personnummer matched nobody."""
    if not filters["personnummer"]:
        return None, False
    resident = resident_for_personnummer(personnummer=filters["personnummer"])
    return resident, resident is None


def _web_log(request: HttpRequest, clinic: Clinic):
    form = WebLogFilterForm(request.GET)
    form.is_valid()
    filters = form.filters()
    resident, nobody = _resident(filters)
    rows = web_log_for_clinic(
        actor=request.user,
        clinic=clinic,
        date_from=filters["fran"],
        date_to=filters["till"],
        status=filters["status"],
        resident=resident,
    )
    return form, (rows.none() if nobody else rows), resident


@staff_required
def web_log(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, SUPPORT)
    form, rows, resident = _web_log(request, clinic)
    page = _page(request, rows)
    entries = list(page.object_list)
    audit_residents_shown(
        actor=request.user,
        clinic=clinic,
        residents=(entry.resident for entry in entries),
        action="web_log.resident_shown",
        already_recorded=resident,
    )
    return render(
        request,
        "workspace/support/web_log.html",
        {
            "ws": workspace_clinic(user=request.user, clinic=clinic),
            "form": form,
            "page": page,
            "rows": [(entry, web_log_changes(entry=entry)) for entry in entries],
        },
    )


@staff_required
def web_log_csv(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, SUPPORT)
    _form, rows, resident = _web_log(request, clinic)
    entries = list(rows)
    audit_residents_shown(
        actor=request.user,
        clinic=clinic,
        residents=(entry.resident for entry in entries),
        action="web_log.exported",
        already_recorded=resident,
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"webbtidbok-logg-{clinic.hsa_id}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The byte order mark makes Excel read UTF-8 (å, ä, ö); Swedish Excel splits columns on ";".
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(web_log_csv_header())
    writer.writerows(web_log_csv_row(entry=entry) for entry in entries)
    return response


@staff_required
def booking_basis(request: HttpRequest, clinic_id: int, basis_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, SUPPORT)
    try:
        basis = booking_basis_for_staff(actor=request.user, clinic=clinic, basis_id=basis_id)
    except DomainError:
        raise Http404 from None
    return render(
        request,
        "workspace/support/booking_basis.html",
        {
            "ws": workspace_clinic(user=request.user, clinic=clinic),
            "basis": basis,
            "expired": basis.valid_until is not None and basis.valid_until < timezone.localdate(),
        },
    )


@staff_required
def audit_log(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, (Role.REGION_IT,))
    form = DateRangeFilterForm(request.GET)
    form.is_valid()
    filters = form.filters()
    resident, nobody = _resident(filters)
    events = audit_events_for_clinic(
        actor=request.user, clinic=clinic, date_from=filters["fran"], date_to=filters["till"], resident=resident
    )
    page = _page(request, events.none() if nobody else events)
    return render(
        request,
        "workspace/support/audit_log.html",
        {
            "ws": workspace_clinic(user=request.user, clinic=clinic),
            "form": form,
            "page": page,
            "events": [(event, ACTION_LABELS.get(event.action, "")) for event in page.object_list],
        },
    )
