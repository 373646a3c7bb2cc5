"""Taking a clinic off the start page, confirmed first (R-REL-2).

Removal hides the resident's booked times at that clinic from "Mina bokade tider" unless the clinic has
approved them for communication, while the times stay booked in the clinic's timebook: a resident who removes a
clinic by mistake must see that before it happens, so the start page links here and only this page posts the
removal (to ``clinics:remove``)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.decorators import resident_required
from accounts.http import AuthenticatedHttpRequest
from clinics.models import Clinic
from clinics.selectors import acting_start_page_clinics

from .selectors import bookings_hidden_by_removing


@resident_required
def remove_clinic(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    if not acting_start_page_clinics(acting=request.acting).filter(pk=clinic.pk).exists():
        raise Http404
    hidden, stay_visible = bookings_hidden_by_removing(resident=request.patient, clinic=clinic)
    return render(
        request,
        "bookings/remove_clinic.html",
        {"clinic": clinic, "hidden_bookings": hidden, "stay_visible": stay_visible},
    )
