"""The web-bookable rule is written once (R-TYPE-2, R-TYPE-4…6, R-CLINIC-2, R-CASE-3, R-VIS-1,
R-VIS-2, R-PUB): the portal, the API and the FHIR feed (searches and the SMART bulk files) answer
alike for every configuration of a clinic, its case type and a type. A resident outside every
audience that needs more than "anyone" (another region, no relation, no booking basis) sees on the
portal exactly the free times FHIR publishes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from clinics.models import AppointmentType, Area, Audience, CaseKind, CaseType, Clinic
from clinics.selectors import (
    WEB_TYPE_Q,
    bookable_types,
    q_matches,
    type_bookable_by,
    web_bookable_types_for_all,
)
from fhir import bulk
from schedules.models import SlotStatus
from schedules.selectors import offered_slots

from ..factories import AppointmentTypeFactory, ClinicFactory, ResidentFactory, ResourceFactory, SlotFactory

pytestmark = pytest.mark.django_db


def _book_case_type(clinic, **changes):
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(**changes)


def _type(t, **changes):
    for field, value in changes.items():
        setattr(t, field, value)
    t.save()


# (name, change to the world, whether the time is offered)
CONFIGURATIONS = [
    ("open to all", lambda c, t: None, True),
    ("not bookable on the web", lambda c, t: _type(t, bookable_on_web=False), False),
    (
        "hidden for patients",
        lambda c, t: _type(
            t, hidden_for_patient=True, bookable_on_web=False, cancellable_on_web=False, reschedulable_on_web=False
        ),
        False,
    ),
    ("a proxy type", lambda c, t: _type(t, internal_name="Ombud 1177"), False),
    ("needs a booking basis", lambda c, t: _type(t, requires_booking_basis=True), False),
    ("a short visibility window", lambda c, t: _type(t, visibility_days=2), True),
    ("booking case type inactive", lambda c, t: _book_case_type(c, is_active=False), False),
    ("booking case type for related residents", lambda c, t: _book_case_type(c, audience=Audience.RELATED), False),
    # R-CASE-2: a resident of another region is refused, so the feed must not offer these times.
    ("booking case type for the clinic's region", lambda c, t: _book_case_type(c, area=Area.REGION), False),
    ("the timebook does not book", lambda c, t: Clinic.objects.filter(pk=c.pk).update(supports_booking=False), False),
    (
        "no booking case type at all",
        lambda c, t: CaseType.objects.filter(clinic=c, kind=CaseKind.BOOK).delete(),
        False,
    ),
]


def _world():
    clinic = ClinicFactory()
    appointment_type = AppointmentTypeFactory(clinic=clinic, web_name="Besök", visibility_days=10)
    resource = ResourceFactory(clinic=clinic)
    day = timezone.localdate()

    def at(days: int, hour: int) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=days), dt.time(hour)))

    kinds: dict[str, dict[str, Any]] = {
        "free tomorrow": {"start": at(1, 9)},
        "free in five days": {"start": at(5, 9)},
        "free after the window": {"start": at(20, 9)},
        "not yet published": {"start": at(1, 10), "is_published": False},
        "blocked": {"start": at(1, 11), "is_blocked": True},
        "booked": {"start": at(1, 12), "status": SlotStatus.BOOKED, "is_published": False},
        "held": {"start": at(1, 13), "status": SlotStatus.HELD},
    }
    for values in kinds.values():
        SlotFactory(appointment_type=appointment_type, resource=resource, **values)
    # A resident of another region with no relation and no booking basis.
    resident = ResidentFactory(home_region_code="14" if clinic.region.code != "14" else "01")
    return clinic, appointment_type, resident


def _fhir_free(client: Client) -> set[int]:
    body = client.get("/fhir/r4/Slot", {"status": "free"}).json()
    return {int(e["resource"]["id"]) for e in body.get("entry", []) if e["search"]["mode"] == "match"}


def _bulk_free(client: Client) -> set[int]:
    bulk.refresh()
    lines = client.get("/fhir/r4/$bulk-publish/Slot.ndjson").content.decode().splitlines()
    return {int(s["id"]) for s in map(json.loads, lines) if s["status"] == "free"}


@pytest.mark.parametrize(("name", "change", "offered"), CONFIGURATIONS, ids=[c[0] for c in CONFIGURATIONS])
def test_the_portal_and_fhir_offer_the_same_times(client, name, change, offered):
    clinic, appointment_type, resident = _world()
    change(clinic, appointment_type)
    clinic.refresh_from_db()
    appointment_type.refresh_from_db()

    portal = set(
        offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident).values_list("pk", flat=True)
    )
    portal_types = set(bookable_types(clinic=clinic, resident=resident).values_list("pk", flat=True))
    published_types = set(web_bookable_types_for_all().filter(clinic=clinic).values_list("pk", flat=True))

    assert _fhir_free(client) == portal
    assert _bulk_free(client) == portal
    assert published_types == portal_types
    assert type_bookable_by(appointment_type=appointment_type, clinic=clinic, resident=resident) is offered
    # The configuration did what it says, on both sides: the times inside the window, or none.
    inside = 1 if appointment_type.visibility_days == 2 else 2
    assert len(portal) == (inside if offered else 0)


@pytest.mark.parametrize(
    "flags",
    [
        {},
        {"bookable_on_web": False},
        {"hidden_for_patient": True},
        {"web_name": ""},
        {"internal_name": "Ombud 1177"},
        {"internal_name": "Telefon (Ombud)"},
        {"internal_name": "ombud"},
    ],
)
def test_one_loaded_type_is_judged_as_the_database_judges_it(flags):
    """The instance check (no query) and PostgreSQL answer the same Q alike."""
    values = {
        "bookable_on_web": True,
        "hidden_for_patient": False,
        "web_name": "Besök",
        "internal_name": "Besök 20 min",
        **flags,
    }
    appointment_type = AppointmentType(**values)
    assert q_matches(WEB_TYPE_Q, appointment_type) is WEB_TYPE_Q.check(values)
    assert q_matches(WEB_TYPE_Q, appointment_type) is (flags == {} or flags == {"internal_name": "ombud"})
