"""Support pages of the clinic workspace: the web booking log and its export
(R-LOG-1…3). Views translate the request and call selectors; every read of residents' data is
audited there. The audit log for region IT lives in clinics.frame_views."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Role
from clinics.models import Clinic
from clinics.workspace import clinic_for, staff_required, workspace_clinic
from core.search_token import SEARCH_TOKEN_PARAM, search_token_load, search_token_store
from core.spreadsheet import CONTENT_TYPE as CSV_CONTENT_TYPE
from core.spreadsheet import csv_lines

from .forms import WebLogFilterForm
from .web_log_selectors import WebLogRead, web_log_changes, web_log_csv_header, web_log_csv_row, web_log_read

PAGE_SIZE = 100
SUPPORT = (Role.SUPPORT,)


def _web_log_scope(clinic: Clinic) -> str:
    return f"web_log:{clinic.pk}"


def _web_log_search(request: AuthenticatedHttpRequest, clinic: Clinic) -> tuple[WebLogFilterForm, str] | None:
    """The filter form of the search named in the URL and its token ("" for none), or None when
    that search has expired.

    R-SEC-3: filters arrive by POST only and are kept in the session under an opaque token; the
    URL names the token, never a personnummer. A query string's other parameters are ignored."""
    token = request.GET.get(SEARCH_TOKEN_PARAM, "")
    if not token:
        return WebLogFilterForm(), ""
    data = search_token_load(request=request, scope=_web_log_scope(clinic), token=token)
    return None if data is None else (WebLogFilterForm(data), token)


def _search_expired(request: AuthenticatedHttpRequest, clinic: Clinic) -> HttpResponse:
    # Never show or export more than was asked for: the staff member searches again.
    messages.info(request, _("The search has expired. Search again."))
    return redirect("workspace:web_log", clinic_id=clinic.pk)


def _web_log_read(request: AuthenticatedHttpRequest, clinic: Clinic, form: WebLogFilterForm, **window) -> WebLogRead:
    form.is_valid()
    filters = form.filters()
    return web_log_read(
        actor=request.user,
        clinic=clinic,
        date_from=filters["fran"],
        date_to=filters["till"],
        status=filters["status"],
        personnummer=filters["personnummer"],
        **window,
    )


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("sida", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 10**6 else 1


@staff_required
def web_log(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, SUPPORT)
    ws = workspace_clinic(user=request.user, clinic=clinic)
    if request.method == "POST":
        form = WebLogFilterForm(request.POST)
        if not form.is_valid():
            # The search is not run: the staff member corrects it first (nothing is read or audited).
            context = {"ws": ws, "form": form, "searching": True, "page": None, "rows": None}
            return render(request, "workspace/support/web_log.html", context, status=400)
        values = {name: form.data.get(name, "").strip() for name in form.fields}
        token = search_token_store(request=request, scope=_web_log_scope(clinic), data=values)
        return redirect(f"{request.path}?{urlencode({SEARCH_TOKEN_PARAM: token})}")
    if (search := _web_log_search(request, clinic)) is None:
        return _search_expired(request, clinic)
    form, token = search
    offset = (_page_number(request) - 1) * PAGE_SIZE
    read = _web_log_read(request, clinic, form, offset=offset, limit=PAGE_SIZE, past_end_reads_last=True)
    # The page links need only the number of rows; the rows themselves were read above.
    # A page of the rows read whose paginator counts only (a range of the total): Page[Any] for the mix.
    page: Page[Any] = Page(read.entries, read.offset // PAGE_SIZE + 1, Paginator(range(read.count), PAGE_SIZE))
    return render(
        request,
        "workspace/support/web_log.html",
        {
            "ws": ws,
            "form": form,
            "page": page,
            "searching": bool(token),
            "search_token": token,
            "rows": [(entry, web_log_changes(entry=entry)) for entry in read.entries],
        },
    )


@staff_required
def web_log_csv(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, SUPPORT)
    if (search := _web_log_search(request, clinic)) is None:
        return _search_expired(request, clinic)
    form, _token = search
    read = _web_log_read(request, clinic, form, shown_action="web_log.exported")
    lines = csv_lines(web_log_csv_header(), (web_log_csv_row(entry=entry) for entry in read.entries))
    response = HttpResponse("".join(lines), content_type=CSV_CONTENT_TYPE)
    filename = f"webbtidbok-logg-{clinic.hsa_id}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
