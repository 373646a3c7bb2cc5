"""FHIR R4 resources as JSON (Location, Schedule, Slot) and the instants in them: one builder
each, shared by the searches and the bulk files."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone

from clinics.models import AppointmentType, Clinic, Resource
from core.localtime import LOCAL_TZ
from schedules.models import Slot

from .selectors import slot_status

# The OID of HSA-id, the Swedish national identifier of care units.
HSA_ID_SYSTEM = "urn:oid:1.2.752.29.4.19"
BOOKING_DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
BULK_RESOURCE_TYPES = ("Location", "Schedule", "Slot")


def instant(value: dt.datetime) -> str:
    """A slot time as a FHIR instant, in Swedish local time with its offset."""
    return timezone.localtime(value, LOCAL_TZ).isoformat(timespec="seconds")


def utc_instant(value: dt.datetime) -> str:
    """A bookkeeping time (lastUpdated, transactionTime): UTC, milliseconds, one fixed format so
    that instants compare as strings."""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def schedule_id(resource_id: int, appointment_type_id: int) -> str:
    return f"{resource_id}-{appointment_type_id}"


def location_resource(clinic: Clinic) -> dict[str, Any]:
    location: dict[str, Any] = {
        "resourceType": "Location",
        "id": str(clinic.pk),
        "identifier": [{"system": HSA_ID_SYSTEM, "value": clinic.hsa_id}],
        "status": "active",
        "name": clinic.name,
    }
    if clinic.phone:
        location["telecom"] = [{"system": "phone", "value": clinic.phone}]
    address: dict[str, Any] = {"country": "SE"}
    if clinic.street_address:
        address["line"] = [clinic.street_address]
    if clinic.postal_code:
        address["postalCode"] = clinic.postal_code
    if clinic.town:
        address["city"] = clinic.town
    location["address"] = address
    return location


def schedule_resource(resource: Resource, appointment_type: AppointmentType) -> dict[str, Any]:
    """serviceType is the web name: residents never see the internal name (R-TYPE-1)."""
    clinic = appointment_type.clinic
    schedule: dict[str, Any] = {
        "resourceType": "Schedule",
        "id": schedule_id(resource.pk, appointment_type.pk),
        "active": True,
        "serviceType": [{"text": appointment_type.web_name}],
        "actor": [{"reference": f"Location/{clinic.pk}", "display": clinic.name}, {"display": resource.name}],
    }
    if appointment_type.web_info:
        schedule["comment"] = appointment_type.web_info
    return schedule


def booking_link(base_url: str, slot: Slot) -> str:
    """The resident booking flow for the slot's clinic and type, opened at the slot's month."""
    path = reverse("bookings:book_days", args=[slot.clinic_id, slot.appointment_type_id])
    return f"{base_url}{path}?manad={timezone.localtime(slot.start, LOCAL_TZ):%Y-%m}"


def slot_resource(slot: Slot, base_url: str) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": str(slot.pk),
        "extension": [{"url": BOOKING_DEEP_LINK, "valueUrl": booking_link(base_url, slot)}],
        "schedule": {"reference": f"Schedule/{schedule_id(slot.resource_id, slot.appointment_type_id)}"},
        "status": slot_status(slot),
        "start": instant(slot.start),
        "end": instant(slot.end),
    }


SLOT_FIELDS = (
    "id",
    "clinic_id",
    "resource_id",
    "appointment_type_id",
    "start",
    "end",
    "status",
    "is_published",
    "is_blocked",
)
