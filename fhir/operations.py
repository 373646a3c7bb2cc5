"""Booking from outside over FHIR, as the Argonaut/HL7 scheduling guides describe: find free
times with a Slot search, then ``Appointment/$hold``, ``Appointment/$book``, and for a booked
time ``Appointment/{id}/$cancel`` and ``Appointment/{id}/$rebook``.

The resident's bearer token (or browser session) identifies them. Each operation calls the same
services as the REST API and the pages (R-BOOK-1…7, R-VIS-2, R-CASE-3), so the rules cannot
differ; a refusal is an OperationOutcome carrying the same stable RIV-TA code
(``core.errors.ErrorCode``) in ``details``, with the REST API's HTTP status. ``Idempotency-Key``
works as on the REST API: a retried POST gets the first answer.

Input is a FHIR ``Parameters`` resource: ``slot`` (a Slot reference), ``hold`` (the id of an
``$hold`` answer, optional) and, where the clinic asks for them (R-TYPE-7), ``phone`` and ``reason``.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest
from bookings.models import Booking
from bookings.selectors import booking_for_resident
from bookings.services import (
    booking_cancel,
    booking_create,
    booking_rebook,
    hold_create_for_booking,
    hold_create_for_rebook,
)
from core.api import BOOKING_THROTTLES, STATUS_FOR_CODE, IsResident
from core.errors import DomainError, ErrorCode, ValidationFailed
from core.idempotency import IdempotentPostMixin
from core.overload import shed_when_queued
from schedules.models import Hold

from .appointments import appointment_resource
from .builders import ERROR_SYSTEM, instant

FHIR_JSON = "application/fhir+json"
_ISSUE_TYPE = {409: "conflict", 403: "business-rule", 404: "not-found", 400: "invalid", 401: "login"}
_SLOT_REF = re.compile(r"^(?:Slot/)?(?P<id>[0-9]{1,18})$")
_HOLD_REF = re.compile(r"^(?:Appointment/)?(?:hold-)?(?P<id>[0-9]{1,18})$")


class FhirJsonParser(JSONParser):
    media_type = "application/fhir+json"


def outcome(status: int, code: str, message: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": _ISSUE_TYPE.get(status, "processing"),
                "details": {"coding": [{"system": ERROR_SYSTEM, "code": code}], "text": message},
                "diagnostics": message,
            }
        ],
    }
    return Response(body, status=status)


def _param(data: Any, name: str) -> str:
    """One named value of a Parameters resource, whatever its value[x]; empty when absent."""
    if not isinstance(data, dict) or data.get("resourceType") != "Parameters":
        raise ValidationFailed({"resourceType": ["Send a FHIR Parameters resource."]})
    for parameter in data.get("parameter") or []:
        if isinstance(parameter, dict) and parameter.get("name") == name:
            for key, value in parameter.items():
                if key == "valueReference" and isinstance(value, dict):
                    return str(value.get("reference", ""))
                if key.startswith("value"):
                    return str(value)
    return ""


def _slot_id(data: Any) -> int:
    match = _SLOT_REF.match(_param(data, "slot").strip())
    if match is None:
        raise ValidationFailed({"slot": ["Name the time as a Slot reference, e.g. Slot/123."]})
    return int(match["id"])


def _own_hold(request: AuthenticatedRequest, data: Any) -> Hold | None:
    raw = _param(data, "hold").strip()
    if not raw:
        return None
    match = _HOLD_REF.match(raw)
    hold = Hold.objects.filter(pk=int(match["id"]), resident=request.user).first() if match else None
    if hold is None:
        raise DomainError(ErrorCode.NOT_FOUND)
    return hold


def hold_resource(hold: Hold) -> dict[str, Any]:
    """A hold as a pending Appointment: the time is set aside until ``end`` of its
    ``requestedPeriod`` (R-BOOK-3); ``$book`` with this id as ``hold`` confirms it."""
    slot = hold.slot
    return {
        "resourceType": "Appointment",
        "id": f"hold-{hold.pk}",
        "status": "pending",
        "start": instant(slot.start),
        "end": instant(slot.end),
        "slot": [{"reference": f"Slot/{slot.pk}"}],
        "requestedPeriod": [{"end": instant(hold.expires_at)}],
        "participant": [{"actor": {"reference": f"Location/{slot.clinic_id}"}, "status": "tentative"}],
    }


class _Operation(IdempotentPostMixin, APIView):
    # FHIR operations are described by the CapabilityStatement (FHIR resources in, FHIR resources out), not by the
    # REST API's OpenAPI document, which would only guess their bodies.
    schema = None
    permission_classes = [IsResident]
    throttle_classes = BOOKING_THROTTLES
    parser_classes = [FhirJsonParser, JSONParser]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ValidationFailed):
            text = "; ".join(str(m) for messages in exc.field_errors.values() for m in messages) or str(exc.message)
            return outcome(400, ErrorCode.INVALID_INPUT, text)
        if isinstance(exc, DomainError):
            return outcome(STATUS_FOR_CODE.get(exc.code, 400), exc.code, str(exc.message))
        if isinstance(exc, Http404):
            return outcome(404, ErrorCode.NOT_FOUND, str(DomainError(ErrorCode.NOT_FOUND).message))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            response = outcome(401, "NOT_AUTHENTICATED", "Log in as a resident, or send the app's bearer token.")
            response["WWW-Authenticate"] = 'Bearer realm="tidbok"'
            return response
        if isinstance(exc, exceptions.APIException):
            code = ErrorCode.PERMISSION_DENIED if exc.status_code == 403 else "ERROR"
            response = outcome(exc.status_code, code, str(exc.detail))
            wait = getattr(exc, "wait", None)
            if wait:
                response["Retry-After"] = str(int(wait))
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Replayed answers too (the idempotency mixin builds them as problem JSON).
        response.content_type = f"{FHIR_JSON}; charset=utf-8"
        return response


@shed_when_queued
class AppointmentHold(_Operation):
    def post_once(self, request: AuthenticatedRequest) -> Response:
        hold = hold_create_for_booking(resident=request.user, slot_id=_slot_id(request.data))
        hold = Hold.objects.select_related("slot").get(pk=hold.pk)
        return Response(hold_resource(hold), status=201)


@shed_when_queued
class AppointmentBook(_Operation):
    def post_once(self, request: AuthenticatedRequest) -> Response:
        booking = booking_create(
            resident=request.user,
            slot_id=_slot_id(request.data),
            hold=_own_hold(request, request.data),
            phone=_param(request.data, "phone"),
            reason=_param(request.data, "reason"),
            referral_source=_param(request.data, "source"),
            booking_referral=_param(request.data, "booking-referral"),
        )
        return Response(appointment_resource(_shown(request, booking.pk)), status=201)


def _shown(request: AuthenticatedRequest, booking_id: int) -> Booking:
    booking = booking_for_resident(resident=request.user, booking_id=booking_id)
    booking.resident = request.user
    return booking


def _booking_id(appointment_id: str) -> int:
    if not appointment_id.isdigit() or len(appointment_id) > 18:
        raise DomainError(ErrorCode.NOT_FOUND)
    return int(appointment_id)


class AppointmentCancel(_Operation):
    def post_once(self, request: AuthenticatedRequest, appointment_id: str) -> Response:
        booking = _shown(request, _booking_id(appointment_id))  # someone else's: not found
        booking_cancel(actor=request.user, booking_id=booking.pk)
        cancelled = appointment_resource(booking)
        cancelled["status"] = "cancelled"
        return Response(cancelled)


@shed_when_queued
class AppointmentRebook(_Operation):
    def post_once(self, request: AuthenticatedRequest, appointment_id: str) -> Response:
        booking_id = _booking_id(appointment_id)
        slot_id = _slot_id(request.data)
        hold = _own_hold(request, request.data)
        if hold is None:
            # The same two steps as the pages: hold the new time under the rebooking's rules, then move.
            hold = hold_create_for_rebook(resident=request.user, slot_id=slot_id, booking=_shown(request, booking_id))
        new = booking_rebook(resident=request.user, booking_id=booking_id, new_slot_id=slot_id, hold=hold)
        return Response(appointment_resource(_shown(request, new.pk)), status=201)
