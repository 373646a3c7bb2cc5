"""FHIR R4 resources as JSON (Location, Schedule, Slot) and the instants in them: one builder
each, shared by the searches and the bulk files."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from django.urls import reverse
from django.utils import timezone

from clinics.models import AppointmentType, Clinic, Resource, ResourceKind
from core.localtime import LOCAL_TZ
from schedules.models import Slot

from .selectors import SLOT_FIELDS as SLOT_FIELDS  # what the views and the bulk file read
from .selectors import SlotRow, slot_status
from .service_types import service_type

# The OID of HSA-id, the Swedish national identifier of care units.
HSA_ID_SYSTEM = "urn:oid:1.2.752.29.4.19"
BOOKING_DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
BOOKING_PHONE = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"
# Län codes (Region.code) as ISO 3166-2:SE subdivisions: Location.address.state and the
# manifest's per-output "state" extension name a region this way.
ISO_3166_2_SE = {
    "01": "SE-AB",
    "03": "SE-C",
    "04": "SE-D",
    "05": "SE-E",
    "06": "SE-F",
    "07": "SE-G",
    "08": "SE-H",
    "09": "SE-I",
    "10": "SE-K",
    "12": "SE-M",
    "13": "SE-N",
    "14": "SE-O",
    "17": "SE-S",
    "18": "SE-T",
    "19": "SE-U",
    "20": "SE-W",
    "21": "SE-X",
    "22": "SE-Y",
    "23": "SE-Z",
    "24": "SE-AC",
    "25": "SE-BD",
}
BULK_RESOURCE_TYPES = ("Location", "Schedule", "Slot")
# The RIV-TA codes of core.errors, as a code system an OperationOutcome's details can name.
ERROR_SYSTEM = "https://tidbok.se/fhir/CodeSystem/error"


def instant(value: dt.datetime) -> str:
    """A slot time as a FHIR instant, in Swedish local time with its offset."""
    return _instant(value)


# Slots share their start and end times (every resource the same grid), and converting to local
# time is a good part of building a Slot resource.
@functools.lru_cache(maxsize=1 << 14)
def _instant(value: dt.datetime) -> str:
    return timezone.localtime(value, LOCAL_TZ).isoformat(timespec="seconds")


def utc_instant(value: dt.datetime) -> str:
    """A bookkeeping time (lastUpdated, transactionTime): UTC, milliseconds, one fixed format so
    that instants compare as strings."""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def schedule_id(resource_id: int, appointment_type_id: int) -> str:
    return f"{resource_id}-{appointment_type_id}"


def region_state(region_code: str) -> str:
    return ISO_3166_2_SE.get(region_code, f"SE-{region_code}")


def clinic_page(base_url: str, clinic_id: int) -> str:
    return f"{base_url}{reverse('clinics:detail', args=[clinic_id])}"


def location_resource(clinic: Clinic, base_url: str) -> dict[str, Any]:
    """SMART's Location: the clinic's phone and its page in Tidbok (both telecom kinds), its
    address with the region (ISO 3166-2 as ``state``, the region's name as ``district``) and,
    where known, its position."""
    location: dict[str, Any] = {
        "resourceType": "Location",
        "id": str(clinic.pk),
        "identifier": [{"system": HSA_ID_SYSTEM, "value": clinic.hsa_id}],
        "status": "active",
        "name": clinic.name,
    }
    telecom = [{"system": "phone", "value": clinic.phone}] if clinic.phone else []
    telecom.append({"system": "url", "value": clinic_page(base_url, clinic.pk)})
    location["telecom"] = telecom
    address: dict[str, Any] = {}
    if clinic.street_address:
        address["line"] = [clinic.street_address]
    if clinic.town:
        address["city"] = clinic.town
    address["district"] = clinic.region.name
    address["state"] = region_state(clinic.region.code)
    if clinic.postal_code:
        address["postalCode"] = clinic.postal_code
    address["country"] = "SE"
    location["address"] = address
    if clinic.latitude is not None and clinic.longitude is not None:
        location["position"] = {"latitude": float(clinic.latitude), "longitude": float(clinic.longitude)}
    return location


def _actor_id(resource: Resource) -> str:
    return f"resource-{resource.pk}"


def _contained_actor(resource: Resource, clinic: Clinic) -> dict[str, Any]:
    """The resource the times are with, inside the Schedule: a named practitioner as a
    Practitioner, a position ("Distriktssköterska") as a HealthcareService at the clinic."""
    if resource.kind == ResourceKind.PRACTITIONER:
        return {"resourceType": "Practitioner", "id": _actor_id(resource), "name": [{"text": resource.name}]}
    return {
        "resourceType": "HealthcareService",
        "id": _actor_id(resource),
        "name": resource.name,
        "location": [{"reference": f"Location/{clinic.pk}"}],
    }


def schedule_resource(resource: Resource, appointment_type: AppointmentType) -> dict[str, Any]:
    """serviceType is the project's code for the kind of visit with the web name as its text:
    residents never see the internal name (R-TYPE-1). Each actor is a reference that resolves:
    the clinic's Location, and the resource contained in the Schedule."""
    clinic = appointment_type.clinic
    schedule: dict[str, Any] = {
        "resourceType": "Schedule",
        "id": schedule_id(resource.pk, appointment_type.pk),
        "contained": [_contained_actor(resource, clinic)],
        "active": True,
        "serviceType": [service_type(appointment_type.web_name, clinic.region.code)],
        "actor": [
            {"reference": f"Location/{clinic.pk}", "display": clinic.name},
            {"reference": f"#{_actor_id(resource)}", "display": resource.name},
        ],
    }
    if appointment_type.web_info:
        schedule["comment"] = appointment_type.web_info
    return schedule


def booking_link(base_url: str, slot: Slot | SlotRow) -> str:
    """The slot's own booking page: after login and the conditions text the time is held for
    the resident to confirm, or the nearest free times of its type are offered if it is gone.
    A slot finder appends its ``source`` and ``booking-referral``; the booking records them."""
    return f"{base_url}{reverse('bookings:book_slot', args=[slot.clinic_id, slot.appointment_type_id, slot.pk])}"


# Stand-ins for the ids in the booking URL, reversed once by booking_links: digits that no
# other part of the path has.
_LINK_MARKS = (9_000_000_001, 9_000_000_002, 9_000_000_003)


def booking_links(base_url: str) -> Callable[[int, int, int], str]:
    """:func:`booking_link` for many slots, as ``links(clinic id, type id, slot id)``: the URL is
    reversed once and filled in per slot (a reverse() costs more than the rest of a Slot
    resource)."""
    path = reverse("bookings:book_slot", args=_LINK_MARKS)
    head, rest = path.split(str(_LINK_MARKS[0]), 1)
    after_clinic, rest = rest.split(str(_LINK_MARKS[1]), 1)
    after_type, tail = rest.split(str(_LINK_MARKS[2]), 1)

    def link(clinic_id: int, type_id: int, slot_id: int) -> str:
        return f"{base_url}{head}{clinic_id}{after_clinic}{type_id}{after_type}{slot_id}{tail}"

    return link


def slot_resource(
    slot: Slot | SlotRow, base_url: str, phone: str = "", links: Callable[[int, int, int], str] | None = None
) -> dict[str, Any]:
    """``phone`` is the clinic's: SMART's booking-phone, for those who would rather call.
    ``links`` (:func:`booking_links`) makes the booking link when many slots are built."""
    link = (links or booking_links(base_url))(slot.clinic_id, slot.appointment_type_id, slot.pk)
    extension = [{"url": BOOKING_DEEP_LINK, "valueUrl": link}]
    if phone:
        extension.append({"url": BOOKING_PHONE, "valueString": phone})
    return {
        "resourceType": "Slot",
        "id": str(slot.pk),
        "extension": extension,
        "schedule": {"reference": f"Schedule/{schedule_id(slot.resource_id, slot.appointment_type_id)}"},
        "status": slot_status(slot),
        "start": instant(slot.start),
        "end": instant(slot.end),
    }
