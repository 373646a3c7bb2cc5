"""Public clinic pages and the resident's own list of clinics (R-CLINIC-1, R-CASE-3, R-REL)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import resident_required
from accounts.http import AuthenticatedHttpRequest
from core import params

from .forms import ClinicSearchForm
from .models import CaseKind, Clinic, DirectLink, RelationSource
from .selectors import admitted_case_types, clinic_search, region_notice, relation_is_active, start_page_clinics
from .services import relation_add, relation_add_through_contact_card, relation_remove


def _viewer(request: HttpRequest):
    # The patient the resident acts for (R-GUARD-2): the child's region and relations decide.
    return getattr(request, "patient", None)


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    region_id = request.GET.get("region", "")
    region = params.optional_id(region_id)
    viewer = _viewer(request)
    clinics = [
        (clinic, admitted_case_types(clinic=clinic, resident=viewer))
        for clinic in clinic_search(query=query, region_id=region)[:50]
    ]
    return render(
        request,
        "clinics/search.html",
        {"clinics": clinics, "form": ClinicSearchForm(auto_id="%s", initial={"q": query, "region": region})},
    )


def detail(request: HttpRequest, clinic_id: int) -> HttpResponse:
    """The public contact card: anyone may read it; the case types shown are those that admit
    the viewer (R-CLINIC-1, R-CASE-3)."""
    clinic = get_object_or_404(Clinic.objects.select_related("region"), pk=clinic_id)
    viewer = _viewer(request)
    acting = getattr(request, "acting", None)
    # R-POA-1: an attorney for chosen clinics is offered nothing to do for the grantor elsewhere.
    may_act = acting is None or acting.covers(clinic.pk)
    return render(
        request,
        "clinics/detail.html",
        {
            "clinic": clinic,
            "may_act": may_act,
            "case_types": admitted_case_types(clinic=clinic, resident=viewer) if may_act else [],
            "on_start_page": viewer is not None and clinic in start_page_clinics(resident=viewer),
            "has_relation": viewer is not None and relation_is_active(resident=viewer, clinic=clinic),
            "region_notice": region_notice(clinic=clinic, resident=viewer),
        },
    )


@require_POST
@resident_required
def add_to_start_page(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    if not request.acting.covers(clinic.pk):
        raise Http404  # R-POA-1: outside an attorney's clinics
    relation_add(resident=request.patient, clinic=clinic, source=RelationSource.START_PAGE)
    messages.success(request, _("%(clinic)s is now on your start page.") % {"clinic": clinic.name})
    return redirect("clinics:detail", clinic_id=clinic.pk)


@require_POST
@resident_required
def remove_from_start_page(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    if not request.acting.covers(clinic.pk):
        raise Http404  # R-POA-1: outside an attorney's clinics
    relation = relation_remove(resident=request.patient, clinic=clinic)
    if relation is not None and relation.approved_for_communication:
        messages.info(
            request,
            _(
                "%(clinic)s is removed from your start page. You are still approved for communication "
                "there, so your booked times stay visible until the clinic withdraws the approval."
            )
            % {"clinic": clinic.name},
        )
    else:
        messages.success(request, _("%(clinic)s is removed from your start page.") % {"clinic": clinic.name})
    return redirect("bookings:start")


@resident_required
def contact_card_login(request: AuthenticatedHttpRequest, clinic_id: int, kind: str) -> HttpResponse:
    """Where a contact card's e-service link leads a visitor who is not logged in: after the
    login the clinic is on the start page (R-REL-1) and the flow starts."""
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    if kind not in CaseKind.values:
        raise Http404
    if relation_add_through_contact_card(resident=request.patient, clinic=clinic, kind=CaseKind(kind)) is None:
        # Not offered to this resident after all (their region, say): the card says why.
        return redirect("clinics:detail", clinic_id=clinic.pk)
    if kind == CaseKind.BOOK:
        return redirect("bookings:book_conditions", clinic_id=clinic.pk)
    return redirect("bookings:my_bookings")


@resident_required
def direct_link(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """A clinic's direct link (R-CLINIC-1): logging in through it creates the relation (R-REL-1)."""
    link = get_object_or_404(DirectLink.objects.select_related("clinic"), token=token)
    relation_add(resident=request.patient, clinic=link.clinic, source=RelationSource.DIRECT_LINK)
    if link.kind == CaseKind.BOOK:
        return redirect("bookings:book_conditions", clinic_id=link.clinic_id)
    return redirect("bookings:my_bookings")
