"""Booking from outside over FHIR (issue 18 item 8): $hold, $book, $cancel and $rebook with the
resident's bearer token, through the same services as the REST API (R-BOOK-1…7), refusals as
OperationOutcome with the RIV-TA code, Idempotency-Key, and a CapabilityStatement listing them."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework.authtoken.models import Token

from bookings.models import Booking, BookingStatus
from bookings.services import booking_create
from fhir.builders import ERROR_SYSTEM
from schedules.models import Hold, HoldState

from ..factories import ResidentFactory, SlotFactory, tomorrow_at

pytestmark = pytest.mark.django_db


def _app(resident) -> Client:
    """A resident app: no session, only the bearer token."""
    token, _ = Token.objects.get_or_create(user=resident)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token.key}")


def _params(**values) -> str:
    parameter = []
    for name, value in values.items():
        key = "valueReference" if name == "slot" else "valueString"
        parameter.append({"name": name, key: {"reference": value} if key == "valueReference" else value})
    return json.dumps({"resourceType": "Parameters", "parameter": parameter})


def _post(client, url, headers=None, **values):
    return client.post(
        f"/fhir/r4/{url}", _params(**values), content_type="application/fhir+json", headers=headers or {}
    )


def _resource(response, status: int) -> dict:
    assert response.status_code == status, response.content[:400]
    assert response["Content-Type"].startswith("application/fhir+json")
    return response.json()


def _refusal(response, status: int, code: str) -> None:
    body = _resource(response, status)
    OperationOutcome.model_validate(body)
    assert body["issue"][0]["details"]["coding"] == [{"system": ERROR_SYSTEM, "code": code}]


def test_hold_book_rebook_and_cancel_through_fhir(resident, slot, appointment_type, resource):
    app = _app(resident)

    held = _resource(_post(app, "Appointment/$hold", slot=f"Slot/{slot.pk}"), 201)
    Appointment.model_validate(held)
    assert held["status"] == "pending" and held["slot"] == [{"reference": f"Slot/{slot.pk}"}]

    booked = _resource(_post(app, "Appointment/$book", slot=f"Slot/{slot.pk}", hold=held["id"]), 201)
    Appointment.model_validate(booked)
    booking = Booking.objects.get(pk=booked["id"], resident=resident, status=BookingStatus.ACTIVE)
    assert booking.slot_id == slot.pk and booked["status"] == "booked"
    assert Hold.objects.get(pk=held["id"].removeprefix("hold-")).state == HoldState.CONVERTED

    later = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(15))
    moved = _resource(_post(app, f"Appointment/{booking.pk}/$rebook", slot=f"Slot/{later.pk}"), 201)
    new = Booking.objects.get(pk=moved["id"])
    assert new.slot_id == later.pk and new.rebooked_from_id == booking.pk
    booking.refresh_from_db()
    assert booking.status != BookingStatus.ACTIVE

    cancelled = _resource(_post(app, f"Appointment/{new.pk}/$cancel"), 200)
    Appointment.model_validate(cancelled)
    assert cancelled["status"] == "cancelled"
    new.refresh_from_db()
    assert new.status == BookingStatus.CANCELLED


def test_a_time_taken_is_refused_with_the_riv_ta_code(resident, slot):
    booking_create(resident=ResidentFactory(), slot_id=slot.pk)

    _refusal(
        _post(_app(resident), "Appointment/$book", slot=f"Slot/{slot.pk}"), 409, "REQUESTED_TIME_IS_ALREADY_RESERVED"
    )
    _refusal(
        _post(_app(resident), "Appointment/$hold", slot=f"Slot/{slot.pk}"), 409, "REQUESTED_TIME_IS_ALREADY_RESERVED"
    )
    assert not Booking.objects.filter(resident=resident).exists()


def test_someone_elses_appointment_is_not_found_and_bad_input_is_invalid(resident, other_resident, slot):
    theirs = booking_create(resident=other_resident, slot_id=slot.pk)
    app = _app(resident)

    _refusal(_post(app, f"Appointment/{theirs.pk}/$cancel"), 404, "NOT_FOUND")
    _refusal(_post(app, "Appointment/$book", slot="Patient/1"), 400, "INVALID_INPUT")
    bad = app.post("/fhir/r4/Appointment/$book", "{}", content_type="application/fhir+json")
    _refusal(bad, 400, "INVALID_INPUT")
    theirs.refresh_from_db()
    assert theirs.status == BookingStatus.ACTIVE


def test_without_a_token_the_operations_ask_for_one(slot):
    response = _post(Client(), "Appointment/$book", slot=f"Slot/{slot.pk}")
    _refusal(response, 401, "NOT_AUTHENTICATED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_idempotency_key_replays_the_first_answer(resident, slot):
    app = _app(resident)
    headers = {"Idempotency-Key": "book-once-1"}

    first = _resource(_post(app, "Appointment/$book", headers=headers, slot=f"Slot/{slot.pk}"), 201)
    again = _post(app, "Appointment/$book", headers=headers, slot=f"Slot/{slot.pk}")

    assert _resource(again, 201) == first and again["Idempotent-Replayed"] == "true"
    assert Booking.objects.filter(resident=resident).count() == 1


def test_the_capability_statement_lists_the_booking_operations(client):
    body = client.get("/fhir/r4/metadata").json()

    CapabilityStatement.model_validate(body)
    (appointment,) = [r for r in body["rest"][0]["resource"] if r["type"] == "Appointment"]
    assert [op["name"] for op in appointment["operation"]] == ["hold", "book", "cancel", "rebook"]
    assert {"Slot", "Location", "Schedule", "CodeSystem"} <= {r["type"] for r in body["rest"][0]["resource"]}
