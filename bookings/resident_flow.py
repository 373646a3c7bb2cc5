"""What the resident's booking, rebooking and cancelling pages share: the case type's conditions
step before each flow (R-CASE-1), the booking the resident acts on or 404, a safe way back and
the flows' step counts."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.http import AuthenticatedHttpRequest
from clinics.models import CaseKind, Clinic
from clinics.selectors import case_type_admits, case_type_for
from core.errors import DomainError

from .acting import acting_booking
from .forms import ConditionsForm

BOOK_STEPS = 5
REBOOK_STEPS = 4
CANCEL_STEPS = 2


def accepted_key(kind: CaseKind, clinic_id: int) -> str:
    return f"conditions_{kind}_{clinic_id}"


def booking_or_404(request: AuthenticatedHttpRequest, booking_id: int):
    try:
        return acting_booking(acting=request.acting, booking_id=booking_id)
    except DomainError:
        raise Http404 from None


def acting_clinic_or_404(request: AuthenticatedHttpRequest, clinic_id: int) -> Clinic:
    """The clinic a booking flow is at, if the resident may act there for whom they act for: an
    attorney's power may cover only chosen clinics (R-POA-1), and the others' pages are not found."""
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    if not request.acting.covers(clinic.pk):
        raise Http404
    return clinic


def conditions_page(
    request: AuthenticatedHttpRequest,
    *,
    clinic: Clinic,
    kind: CaseKind,
    next_url: str,
    back_url: str,
    template_context: dict,
):
    """Show a case type's conditions text; the resident confirms before the flow starts (R-CASE-1)."""
    case_type = case_type_for(clinic=clinic, kind=kind)
    if not case_type_admits(case_type=case_type, resident=request.patient) or not request.acting.covers(clinic.pk):
        raise Http404  # R-CASE-3: not offered to this resident; R-POA-1: nor outside an attorney's clinics
    form = ConditionsForm(request.POST if request.method == "POST" else None, auto_id="%s")
    if form.is_valid():
        request.session[accepted_key(kind, clinic.pk)] = True
        return redirect(next_url)
    return render(
        request,
        "bookings/conditions.html",
        {"clinic": clinic, "case_type": case_type, "form": form, "back_url": back_url, **template_context},
        status=400 if form.errors else 200,
    )


def conditions_accepted(request: AuthenticatedHttpRequest, kind: CaseKind, clinic_id: int) -> bool:
    return bool(request.session.get(accepted_key(kind, clinic_id)))


def same_site_path(request: HttpRequest, back: str) -> str:
    """Where to go back to after a refused hold: only a path on this site, never another host
    (``//evil.example`` starts with a slash too), so the form cannot be used as an open redirect."""
    if url_has_allowed_host_and_scheme(back, allowed_hosts=None, require_https=request.is_secure()) and back.startswith(
        "/"
    ):
        return back
    return "/"
