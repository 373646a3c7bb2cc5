from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.forms import AuditLogFilterForm
from accounts.http import AuthenticatedHttpRequest
from accounts.models import Role, User
from accounts.selectors import (
    AUDIT_ACTION_LABELS,
    audit_csv_header,
    audit_csv_row,
    audit_events_for_clinic,
    proxy_memberships,
)
from core.search_token import SEARCH_TOKEN_PARAM, search_token_load, search_token_store
from core.spreadsheet import CONTENT_TYPE as CSV_CONTENT_TYPE
from core.spreadsheet import csv_lines

from .models import Clinic
from .workspace import ALL_CLINIC_ROLES, clinic_for, staff_required, workspace_clinic, workspace_clinics

AUDIT_PAGE_SIZE = 100
REGION_IT = (Role.REGION_IT,)


@staff_required
def picker(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Choose the clinic to work at; with a single membership go straight there. A proxy booker
    works for a region, not at a clinic: their own pages are offered beside the clinics, and are
    where they go when they have nothing else (R-TYPE-6)."""
    clinics = workspace_clinics(user=request.user)
    proxy = bool(proxy_memberships(user=request.user))
    if proxy and not clinics:
        return redirect("workspace:proxy_home")
    if len(clinics) == 1 and not proxy:
        return redirect("workspace:clinic", clinic_id=clinics[0].clinic.pk)
    return render(request, "workspace/picker.html", {"clinics": clinics, "proxy": proxy})


@staff_required
def clinic_home(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, ALL_CLINIC_ROLES)
    return render(request, "workspace/clinic.html", {"ws": workspace_clinic(user=request.user, clinic=clinic)})


# --- The audit log for region IT (R-LOG-4, R-SEC-3, R-SEC-7) ----------------------------------


def _audit_scope(clinic: Clinic) -> str:
    return f"audit_log:{clinic.pk}"


def _audit_search(request: AuthenticatedHttpRequest, clinic: Clinic) -> tuple[AuditLogFilterForm, str] | None:
    """The filter named by the search token in the URL ("" and an empty filter for none), or
    None when that search has expired. R-SEC-3: the filter itself is never read from the URL."""
    token = request.GET.get(SEARCH_TOKEN_PARAM, "")
    if not token:
        form = AuditLogFilterForm({})
    else:
        data = search_token_load(request=request, scope=_audit_scope(clinic), token=token)
        if data is None:
            return None
        form = AuditLogFilterForm(data)
    form.is_valid()  # stored filters were valid when posted
    return form, token


def _search_expired(clinic: Clinic, request: HttpRequest) -> HttpResponse:
    messages.info(request, _("The search has expired. Search again."))
    return redirect("workspace:audit_log", clinic_id=clinic.pk)


def _read(request: AuthenticatedHttpRequest, clinic: Clinic, form: AuditLogFilterForm, action: str):
    filters = form.cleaned_data
    resident = None
    if filters.get("personnummer"):
        resident = User.objects.filter(personnummer=filters["personnummer"]).first()
        if resident is None:  # a valid number nobody has: nothing to show, nothing read
            return None
    return audit_events_for_clinic(
        actor=request.user,
        clinic=clinic,
        date_from=filters.get("fran"),
        date_to=filters.get("till"),
        resident=resident,
        action=action,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def audit_log(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """Region IT reads who opened which resident's data at the clinic. The filter is posted and
    kept in the session under a search token; the page's URL names only the token."""
    clinic = clinic_for(request, clinic_id, REGION_IT)
    status, token, events = 200, "", None
    if request.method == "POST":
        form = AuditLogFilterForm(request.POST)
        if form.is_valid():
            token = search_token_store(request=request, scope=_audit_scope(clinic), data=form.values())
            return redirect(f"{request.path}?{urlencode({SEARCH_TOKEN_PARAM: token})}")
        status = 400  # the errors are shown on the form; nothing is read
    else:
        search = _audit_search(request, clinic)
        if search is None:
            return _search_expired(clinic, request)
        form, token = search
        events = _read(request, clinic, form, "audit_log.read")
    page = Paginator(events if events is not None else [], AUDIT_PAGE_SIZE).get_page(request.GET.get("sida"))
    return render(
        request,
        "workspace/support/audit_log.html",
        {
            "ws": workspace_clinic(user=request.user, clinic=clinic),
            "form": form,
            "page": page,
            "searching": bool(token),
            "search_token": token,
            "retention_years": settings.TIDBOK_AUDIT_RETENTION_DAYS // 365,
            "events": [(event, AUDIT_ACTION_LABELS.get(event.action, "")) for event in page.object_list],
        },
        status=status,
    )


@staff_required
def audit_log_csv(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponseBase:
    """R-SEC-7: the period (and resident) of the current search as a CSV file: who, role, unit,
    resident, what, when. The export is itself on record. Streamed, so five years fit."""
    clinic = clinic_for(request, clinic_id, REGION_IT)  # who may see it first, then how it is asked
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    search = _audit_search(request, clinic)
    if search is None:
        return _search_expired(clinic, request)
    form, _token = search
    events = _read(request, clinic, form, "audit_log.exported")
    filters = form.cleaned_data
    period = "-".join(f"{day:%Y%m%d}" for day in (filters.get("fran"), filters.get("till")) if day)
    filename = f"atkomstlogg-{clinic.hsa_id}-{period or timezone.localdate().strftime('%Y%m%d')}.csv"

    language = translation.get_language()

    def rows() -> Iterator[str]:
        # Streamed after the view returned: keep the reader's language for the labels.
        with translation.override(language):
            shown = events.iterator(chunk_size=2000) if events is not None else ()
            yield from csv_lines(audit_csv_header(), (audit_csv_row(event=event) for event in shown))

    response = StreamingHttpResponse(rows(), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
