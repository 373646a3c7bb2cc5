"""The clinic workspace's booking bases and open summons (R-TYPE-4, R-REL-1, R-LOG-4): the list,
one basis (also the support staff's "open booking basis" from the web log, guide 002), issuing
a basis, sending an open summons and revoking either.

Schedulers and local admins issue and revoke; support staff read. Each view checks the role at
the clinic in the URL (R-ACL-1), parses the request with a form and calls a service or selector;
a basis named in the URL must belong to that clinic, else 404.

R-SEC-3: the resident is found by a posted personnummer kept in the session under an opaque
token (``core.search_token``); the page's URL names only the token."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Role
from accounts.personnummer import format_personnummer, normalise_personnummer
from clinics.models import Clinic
from clinics.workspace import clinic_for, staff_required, workspace_clinic
from core.errors import DomainError, ErrorCode, ValidationFailed
from core.search_token import SEARCH_TOKEN_PARAM, search_token_load, search_token_store
from schedules.forms import ResidentLookupForm
from schedules.workspace_views import refuse_unless_post

from .basis_selectors import BASIS_READER_ROLES, bases_for_staff, basis_bookings, booking_basis_for_staff
from .forms import BasisStateFilterForm, BookingBasisForm, OpenSummonsForm
from .models import BasisKind
from .services import BASIS_ISSUER_ROLES, booking_basis_issue, booking_basis_revoke, open_summons_send
from .staff_selectors import resident_for_staff_booking


def _may_issue(request: AuthenticatedHttpRequest, clinic: Clinic) -> bool:
    ws = workspace_clinic(user=request.user, clinic=clinic)
    return bool(ws.roles & {Role.SCHEDULER, Role.LOCAL_ADMIN, Role.REGION_IT})


@staff_required
def booking_bases(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """The clinic's bases and open summons, newest first, filtered by state and kind."""
    clinic = clinic_for(request, clinic_id, BASIS_READER_ROLES)
    form = BasisStateFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    bases = bases_for_staff(  # R-LOG-4: each resident listed is audited
        actor=request.user, clinic=clinic, state=filters.get("tillstand") or None, kind=filters.get("slag") or None
    )
    return render(
        request,
        "workspace/bases/list.html",
        {
            "ws": workspace_clinic(user=request.user, clinic=clinic),
            "form": form,
            "bases": bases,
            "filtered": bool(filters.get("tillstand") or filters.get("slag")),
            "may_issue": _may_issue(request, clinic),
        },
        status=400 if form.errors else 200,
    )


@staff_required
def booking_basis(request: AuthenticatedHttpRequest, clinic_id: int, basis_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, BASIS_READER_ROLES)
    try:
        basis = booking_basis_for_staff(actor=request.user, clinic=clinic, basis_id=basis_id)  # audited
    except DomainError:
        raise Http404 from None
    ws = workspace_clinic(user=request.user, clinic=clinic)
    return render(
        request,
        "workspace/support/booking_basis.html",
        {
            "ws": ws,
            "basis": basis,
            "bookings": list(basis_bookings(basis=basis)),
            "may_issue": _may_issue(request, clinic),
            "from_log": request.GET.get("fran") == "logg" and ws.is_support,
        },
    )


@staff_required
def booking_basis_revoke_view(request: AuthenticatedHttpRequest, clinic_id: int, basis_id: int) -> HttpResponse:
    """Revoke: no new booking rests on the basis; bookings already made stay, and the message
    says how many."""
    clinic = clinic_for(request, clinic_id, BASIS_ISSUER_ROLES)
    if refused := refuse_unless_post(request):
        return refused
    try:
        _basis, kept = booking_basis_revoke(actor=request.user, clinic=clinic, basis_id=basis_id)  # audited
    except DomainError as exc:
        if exc.code == ErrorCode.NOT_FOUND:
            raise Http404 from None
        messages.error(request, str(exc.message))
    else:
        text = _("The booking basis is revoked: the resident can no longer book with it.")
        if kept:
            text += " " + ngettext(
                "The %(count)d booking already made with it is not cancelled.",
                "The %(count)d bookings already made with it are not cancelled.",
                kept,
            ) % {"count": kept}
        messages.success(request, text)
    return redirect("workspace:booking_basis", clinic_id=clinic.pk, basis_id=basis_id)


def _scope(clinic: Clinic, kind: str) -> str:
    return f"basis_new:{kind}:{clinic.pk}"


def _issue_page(request: AuthenticatedHttpRequest, clinic_id: int, kind: BasisKind) -> HttpResponse:
    """Step 1: find the resident by a posted personnummer. Step 2: what the basis or summons
    allows; posting it issues (a resident who has never logged in is created then, R-SEC-3)."""
    clinic = clinic_for(request, clinic_id, BASIS_ISSUER_ROLES)
    url_name = "workspace:booking_basis_new" if kind == BasisKind.BASIS else "workspace:open_summons_new"
    form_class = BookingBasisForm if kind == BasisKind.BASIS else OpenSummonsForm
    posted = request.method == "POST"
    token = request.POST.get(SEARCH_TOKEN_PARAM, "") if posted else request.GET.get(SEARCH_TOKEN_PARAM, "")
    lookup = ResidentLookupForm(request.POST if posted and not token else None, clinic=clinic)
    personnummer = ""
    if token:
        stored = search_token_load(request=request, scope=_scope(clinic, kind), token=token)
        if stored is None:
            messages.info(request, _("The search has expired. Search again."))
            return redirect(url_name, clinic_id=clinic.pk)
        personnummer = stored["personnummer"]
    elif lookup.is_valid():
        try:
            personnummer = normalise_personnummer(lookup.cleaned_data["personnummer"])
        except ValidationFailed as exc:
            lookup.add_domain_errors(exc)
        else:
            token = search_token_store(request=request, scope=_scope(clinic, kind), data={"personnummer": personnummer})
            return redirect(f"{reverse(url_name, args=[clinic.pk])}?{urlencode({SEARCH_TOKEN_PARAM: token})}")
    form = form_class(request.POST if posted and token else None, clinic=clinic)
    if personnummer and posted and form.is_valid():
        values = form.cleaned_data
        try:
            if kind == BasisKind.BASIS:
                basis = booking_basis_issue(actor=request.user, clinic=clinic, personnummer=personnummer, **values)
                messages.success(request, _("The booking basis is issued. The resident can book with it now."))
            else:
                basis = open_summons_send(actor=request.user, clinic=clinic, personnummer=personnummer, **values)
                messages.success(request, _("The open summons is sent to the resident's inbox."))
        except DomainError as exc:
            form.add_domain_errors(exc)
        else:
            return redirect("workspace:booking_basis", clinic_id=clinic.pk, basis_id=basis.pk)
    resident = None
    if personnummer:
        resident = resident_for_staff_booking(  # audited (R-LOG-4)
            actor=request.user, clinic=clinic, personnummer=personnummer, detail=f"issue {kind}"
        )
    return render(
        request,
        "workspace/bases/new.html",
        {
            "ws": workspace_clinic(user=request.user, clinic=clinic),
            "kind": kind,
            "url_name": url_name,
            "lookup": lookup,
            "form": form,
            "found": bool(personnummer),
            "resident": resident,
            "personnummer": format_personnummer(personnummer) if personnummer else "",
            "search_token": token,
        },
        status=400 if (lookup.errors or form.errors) else 200,
    )


@staff_required
def booking_basis_new(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    return _issue_page(request, clinic_id, BasisKind.BASIS)


@staff_required
def open_summons_new(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    return _issue_page(request, clinic_id, BasisKind.OPEN_SUMMONS)
