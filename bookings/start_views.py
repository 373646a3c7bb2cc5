"""The resident's start page and inbox (R-BOOK-9)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render

from accounts.acting import children_of
from accounts.decorators import resident_required
from accounts.http import AuthenticatedHttpRequest
from clinics.selectors import acting_start_page_clinics, clinics_open_for_booking, region_notice
from core.errors import DomainError

from .acting import acting_bases, acting_bookings, acting_inbox, acting_unread_count
from .services import inbox_mark_read


@resident_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "bookings/inbox.html", {"inbox": acting_inbox(acting=request.acting)})


@resident_required
def message(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    if not acting_inbox(acting=request.acting).filter(pk=message_id).exists():
        raise Http404
    try:
        item = inbox_mark_read(resident=request.patient, message_id=message_id)
    except DomainError:
        raise Http404 from None
    visible_booking = None
    if item.booking_id:
        visible_booking = acting_bookings(acting=request.acting).filter(pk=item.booking_id).first()
    # An open summons: "Boka tid" while it can still be used.
    summons = None
    if item.booking_basis_id:
        summons = next((b for b in acting_bases(acting=request.acting) if b.pk == item.booking_basis_id), None)
    return render(request, "bookings/message.html", {"item": item, "booking": visible_booking, "summons": summons})


@resident_required
def start(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The start page of the resident or of whom they act for: an attorney for chosen clinics sees
    only those clinics and what is there (R-POA-1)."""
    resident, acting = request.patient, request.acting
    clinics = list(acting_start_page_clinics(acting=acting).select_related("region"))
    notices = [notice for clinic in clinics if (notice := region_notice(clinic=clinic, resident=resident))]
    return render(
        request,
        "clinics/start.html",
        {
            "clinics": clinics,
            "bookable_clinic_ids": clinics_open_for_booking(clinics=clinics, resident=resident),
            "region_notices": notices,
            "bookings": acting_bookings(acting=acting)[:5],
            "bases": acting_bases(acting=acting),
            "unread": acting_unread_count(acting=acting),
            # R-GUARD-3: the guardian's children and the age limit, on the guardian's own start page.
            "children": children_of(guardian=request.user) if acting.is_self else [],
        },
    )
