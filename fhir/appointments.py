"""FHIR R4 Appointment: a resident's own booked times (R-BOOK-5, R-TYPE-2, R-ACL-2).

Only the bookings the resident sees in Tidbok are shown, through
:func:`bookings.selectors.bookings_for_resident`; someone else's booking is simply not there.
The browser session or the app's bearer token identifies the resident.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.models import User
from bookings.models import Booking
from bookings.selectors import bookings_for_resident
from core.authentication import BearerTokenAuthentication

from .builders import instant
from .views import (
    FhirError,
    check_params,
    fhir_response,
    fhir_view,
    page_params,
    searchset,
)

_NUMERIC_ID_MAX = 18


def _resident(request: HttpRequest) -> User:
    user = request.user if request.user.is_authenticated else None
    if user is None:
        try:
            found = BearerTokenAuthentication().authenticate(Request(request))
        except AuthenticationFailed:
            found = None
        user = found[0] if found else None
    if user is None:
        raise FhirError(401, "login", "Log in as a resident to see your booked times.")
    if not user.is_resident:
        raise FhirError(403, "forbidden", "Only residents have appointments here.")
    return user


def appointment_resource(booking: Booking) -> dict[str, Any]:
    """The booked time as the resident sees it: the web name of the type, never the internal one
    (R-TYPE-1), the clinic and the resource."""
    clinic = booking.clinic
    return {
        "resourceType": "Appointment",
        "id": str(booking.pk),
        "status": "booked",
        "serviceType": [{"text": booking.appointment_type.web_name or gettext("Visit")}],
        "start": instant(booking.start),
        "end": instant(booking.end),
        "created": instant(booking.created_at),
        "participant": [
            {"actor": {"reference": f"Location/{clinic.pk}", "display": clinic.name}, "status": "accepted"},
            {"actor": {"display": booking.resource.name}, "status": "accepted"},
            {"actor": {"display": booking.resident.get_full_name()}, "status": "accepted"},
        ],
    }


@fhir_view
def appointment_search(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    check_params(request)
    offset, count = page_params(request)
    bookings = bookings_for_resident(resident=resident).select_related("resident")
    page = [appointment_resource(b) for b in bookings[offset : offset + count]]
    return fhir_response(searchset(request, page, bookings.count(), offset, count))


@fhir_view
def appointment_read(request: HttpRequest, appointment_id: str) -> HttpResponse:
    resident = _resident(request)
    check_params(request)
    booking = None
    if appointment_id.isdigit() and len(appointment_id) <= _NUMERIC_ID_MAX:
        booking = bookings_for_resident(resident=resident).select_related("resident").filter(pk=appointment_id).first()
    if booking is None:
        raise FhirError(404, "not-found", f"Appointment/{appointment_id} is not known.")
    return fhir_response(appointment_resource(booking))
