"""Conformance of the SMART Scheduling Links feed: every line of the bulk files against the
implementation guide's profiles (the must-have elements of Location, Schedule and Slot, and that
every reference resolves inside the files), and the manifest against FHIR Bulk Data's ``_since``
rules (lines strictly after ``_since``, never after ``transactionTime``; removals as deleted
DELETE bundles). Each resource is also validated as FHIR R4 by fhir.resources."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from accounts.models import Role
from clinics.models import CaseKind, CaseType, ResourceKind
from clinics.services import case_type_deactivate
from fhir import bulk
from fhir.builders import BOOKING_DEEP_LINK, BOOKING_PHONE, HSA_ID_SYSTEM
from fhir.service_types import CODES, SERVICE_TYPE_SYSTEM
from schedules.models import SlotStatus

from ..factories import AppointmentTypeFactory, ClinicFactory, ResourceFactory, SlotFactory, staff, tomorrow_at

pytestmark = pytest.mark.django_db
MODELS: dict[str, type[DomainResource]] = {"Location": Location, "Schedule": Schedule, "Slot": FhirSlot}


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.TIDBOK_PUBLIC_URL = "https://tidbok.example.se"


def _feed(client, since: str | None = None) -> tuple[dict, dict[str, list[dict]]]:
    manifest = client.get("/fhir/r4/$bulk-publish", {"_since": since} if since else {}).json()
    files: dict[str, list[dict]] = {}
    for output in manifest["output"]:
        lines = [json.loads(line) for line in client.get(output["url"]).content.decode().splitlines()]
        for line in lines:
            MODELS[line["resourceType"]].model_validate(line)
        files.setdefault(output["type"], []).extend(lines)  # a type may come in several parts
    return manifest, files


def _world():
    clinics = []
    for n, kind in enumerate((ResourceKind.POSITION, ResourceKind.PRACTITIONER)):
        clinic = ClinicFactory(
            name=f"Vårdcentralen {n}",
            street_address="Storgatan 1",
            postal_code="111 22",
            latitude=Decimal("59.33"),
            longitude=Decimal("18.06"),
        )
        visit = AppointmentTypeFactory(clinic=clinic, web_name="Besök hos läkare")
        resource = ResourceFactory(clinic=clinic, kind=kind)
        for hour in (9, 10, 11):
            SlotFactory(appointment_type=visit, resource=resource, start=tomorrow_at(hour))
        SlotFactory(appointment_type=visit, resource=resource, start=tomorrow_at(12), status=SlotStatus.BOOKED)
        clinics.append(clinic)
    return clinics


@pytest.mark.parametrize("part_lines", [50_000, 3])
def test_every_line_meets_the_smart_profiles_and_every_reference_resolves(client, settings, part_lines):
    settings.TIDBOK_BULK_PART_LINES = part_lines  # the feed is the same whether split into parts or not
    _world()
    bulk.refresh()

    manifest, files = _feed(client)

    # Manifest (SMART / Bulk Data): transactionTime, request, absolute outputs with regions, errors.
    assert dt.datetime.fromisoformat(manifest["transactionTime"]) <= timezone.now()
    assert manifest["request"].endswith("/fhir/r4/$bulk-publish") and manifest["error"] == []
    for output in manifest["output"]:
        assert output["url"].startswith("http") and output["extension"]["state"] == ["SE-AB"]
    locations = {loc["id"]: loc for loc in files["Location"]}
    schedules = {s["id"]: s for s in files["Schedule"]}
    assert len(locations) == 2 and len(schedules) == 2 and len(files["Slot"]) == 8
    for loc in locations.values():
        assert loc["name"] and loc["identifier"][0]["system"] == HSA_ID_SYSTEM
        assert {t["system"] for t in loc["telecom"]} == {"phone", "url"}
        address = loc["address"]
        assert address["line"] and address["city"] and address["postalCode"] and address["state"] == "SE-AB"
        assert set(loc["position"]) == {"latitude", "longitude"}
    for schedule in schedules.values():
        (concept,) = schedule["serviceType"]
        assert concept["text"] and concept["coding"][0]["system"] == SERVICE_TYPE_SYSTEM
        assert concept["coding"][0]["code"] in CODES
        references = [actor["reference"] for actor in schedule["actor"]]
        assert sum(1 for r in references if r.startswith("Location/")) == 1
        contained = {f"#{c['id']}" for c in schedule.get("contained", [])}
        for reference in references:
            assert reference.removeprefix("Location/") in locations or reference in contained
    for slot in files["Slot"]:
        assert slot["schedule"]["reference"].removeprefix("Schedule/") in schedules
        assert slot["status"] in ("free", "busy")
        assert dt.datetime.fromisoformat(slot["start"]) < dt.datetime.fromisoformat(slot["end"])
        links = {e["url"]: e for e in slot["extension"]}
        assert links[BOOKING_DEEP_LINK]["valueUrl"].startswith("https://tidbok.example.se/")
        assert links[BOOKING_PHONE]["valueString"]
        assert slot["meta"]["lastUpdated"] <= manifest["transactionTime"]


def test_since_follows_the_bulk_data_rules_with_removals(client, django_capture_on_commit_callbacks):
    first, _second = _world()
    bulk.refresh(now=timezone.now() - dt.timedelta(seconds=2))
    before, _files = _feed(client)
    since = before["transactionTime"]

    with django_capture_on_commit_callbacks(execute=True):
        case_type_deactivate(
            actor=staff(Role.LOCAL_ADMIN, first), case_type=CaseType.objects.get(clinic=first, kind=CaseKind.BOOK)
        )
    after, changed = _feed(client, since)

    assert after["transactionTime"] > since
    assert all(line["meta"]["lastUpdated"] > since for lines in changed.values() for line in lines)
    deleted: dict[str, set[str]] = {}
    for item in after["deleted"]:
        assert item["type"] == "Bundle"
        for line in client.get(item["url"]).content.decode().splitlines():
            bundle = json.loads(line)
            Bundle.model_validate(bundle)
            assert bundle["type"] == "transaction"
            for entry in bundle["entry"]:
                kind, _, rid = entry["request"]["url"].partition("/")
                assert entry["request"]["method"] == "DELETE"
                deleted.setdefault(kind, set()).add(rid)
    assert deleted["Location"] == {str(first.pk)}
    assert len(deleted["Slot"]) == 4 and len(deleted["Schedule"]) == 1
    # What was removed is no longer in the full files either.
    _now, full = _feed(client)
    assert str(first.pk) not in {loc["id"] for loc in full["Location"]}
    assert not {s["id"] for s in full["Slot"]} & deleted["Slot"]
