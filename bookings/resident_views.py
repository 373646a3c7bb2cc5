"""The staff's resident page in the clinic workspace: one resident at this clinic, found by a
posted personnummer (R-SEC-3: the URL names only an opaque token), with sections for the
relation and communication approval (R-REL-1, R-REL-3), the resident's bookings here and the
clinic's messages to them. Other features add their sections to ``workspace/residents/page.html``.

Schedulers, local admins and region IT admins use it (R-ACL-1); every read and change is on
the audit log (R-LOG-4), written by the selector or service."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.http import AuthenticatedHttpRequest
from accounts.personnummer import format_personnummer, normalise_personnummer
from accounts.selectors import resident_for_personnummer
from clinics.models import Clinic
from clinics.services import COMMUNICATION_ROLES, communication_approve, communication_withdraw
from clinics.workspace import clinic_for, staff_required, workspace_clinic
from core.errors import DomainError, ValidationFailed
from core.search_token import SEARCH_TOKEN_PARAM, search_token_load, search_token_store
from schedules.forms import ResidentLookupForm
from schedules.workspace_views import refuse_unless_post

from .forms import ClinicMessageForm
from .resident_overview import bookings_hidden_by_withdrawal, resident_at_clinic_for_staff
from .services import clinic_message_send


def _scope(clinic: Clinic) -> str:
    return f"resident_page:{clinic.pk}"


def _page_url(clinic: Clinic, token: str, name: str = "workspace:resident_page") -> str:
    return f"{reverse(name, args=[clinic.pk])}?{urlencode({SEARCH_TOKEN_PARAM: token})}"


def _token(request: AuthenticatedHttpRequest) -> str:
    return request.POST.get(SEARCH_TOKEN_PARAM, "") or request.GET.get(SEARCH_TOKEN_PARAM, "")


def _personnummer(request: AuthenticatedHttpRequest, clinic: Clinic) -> str | None:
    stored = search_token_load(request=request, scope=_scope(clinic), token=_token(request))
    return stored["personnummer"] if stored else None


def _expired(request: AuthenticatedHttpRequest, clinic: Clinic) -> HttpResponse:
    messages.info(request, _("The search has expired. Search again."))
    return redirect("workspace:resident_page", clinic_id=clinic.pk)


@staff_required
def resident_page(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """Step 1: the personnummer is posted. Step 2 (``?sok=<token>``): the resident's page."""
    clinic = clinic_for(request, clinic_id, COMMUNICATION_ROLES)
    ws = workspace_clinic(user=request.user, clinic=clinic)
    lookup = ResidentLookupForm(request.POST if request.method == "POST" else None, clinic=clinic)
    if request.method == "POST" and lookup.is_valid():
        try:
            personnummer = normalise_personnummer(lookup.cleaned_data["personnummer"])
        except ValidationFailed as exc:
            lookup.add_domain_errors(exc)
        else:
            token = search_token_store(request=request, scope=_scope(clinic), data={"personnummer": personnummer})
            return redirect(_page_url(clinic, token))
    if request.method == "POST" or not _token(request):
        return render(
            request,
            "workspace/residents/find.html",
            {"ws": ws, "lookup": lookup},
            status=400 if lookup.errors else 200,
        )
    found = _personnummer(request, clinic)
    if found is None:
        return _expired(request, clinic)
    overview = resident_at_clinic_for_staff(actor=request.user, clinic=clinic, personnummer=found)
    return render(
        request,
        "workspace/residents/page.html",
        {
            "ws": ws,
            "overview": overview,
            "personnummer": format_personnummer(found),
            "search_token": _token(request),
        },
    )


@staff_required
def resident_approve(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """R-REL-1: approve the resident for communication at this clinic (audited)."""
    clinic = clinic_for(request, clinic_id, COMMUNICATION_ROLES)
    if refused := refuse_unless_post(request):
        return refused
    personnummer = _personnummer(request, clinic)
    resident = resident_for_personnummer(personnummer=personnummer) if personnummer else None
    if resident is None:
        return _expired(request, clinic)
    communication_approve(actor=request.user, resident=resident, clinic=clinic)
    messages.success(
        request,
        _("The resident is approved for communication. %(clinic)s is on their start page.") % {"clinic": clinic.name},
    )
    return redirect(_page_url(clinic, _token(request)))


@staff_required
def resident_withdraw(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """R-REL-3: first the bookings that stop being visible on the web, then the confirmed withdrawal."""
    clinic = clinic_for(request, clinic_id, COMMUNICATION_ROLES)
    personnummer = _personnummer(request, clinic)
    resident = resident_for_personnummer(personnummer=personnummer) if personnummer else None
    if resident is None:
        return _expired(request, clinic)
    if request.method == "POST":
        communication_withdraw(actor=request.user, resident=resident, clinic=clinic)
        messages.success(
            request,
            _("The approval for communication is withdrawn. %(clinic)s is no longer on the resident's start page.")
            % {"clinic": clinic.name},
        )
        return redirect(_page_url(clinic, _token(request)))
    return render(
        request,
        "workspace/residents/withdraw.html",
        {
            "ws": workspace_clinic(user=request.user, clinic=clinic),
            "resident": resident,
            "hidden": bookings_hidden_by_withdrawal(resident=resident, clinic=clinic),
            "search_token": _token(request),
        },
    )


@staff_required
def resident_message(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """A free-text message to the resident's inbox (audited); no reply channel."""
    clinic = clinic_for(request, clinic_id, COMMUNICATION_ROLES)
    personnummer = _personnummer(request, clinic)
    resident = resident_for_personnummer(personnummer=personnummer) if personnummer else None
    if resident is None:
        return _expired(request, clinic)
    form = ClinicMessageForm(request.POST if request.method == "POST" else None, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        try:
            clinic_message_send(actor=request.user, clinic=clinic, resident=resident, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, _("The message is sent to the resident's inbox."))
            return redirect(_page_url(clinic, _token(request)))
    return render(
        request,
        "workspace/residents/message.html",
        {
            "ws": workspace_clinic(user=request.user, clinic=clinic),
            "resident": resident,
            "form": form,
            "search_token": _token(request),
        },
        status=400 if form.errors else 200,
    )
