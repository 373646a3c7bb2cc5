"""The SMART Scheduling Links feed tells an aggregator the truth (R-PUB): it offers only what any
resident can book, reports removals to ``_since`` clients the FHIR Bulk Data way (``deleted``
files of DELETE bundles), and follows every change of what is offered when it commits."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.schedule import Schedule

from accounts.models import Role
from clinics.models import Area, CaseKind, CaseType, Clinic, Region, ResourceKind
from clinics.services import (
    FEED_REFRESH_ASK,
    appointment_type_save,
    case_type_activate,
    case_type_deactivate,
    case_type_update,
)
from fhir import bulk
from fhir.builders import BOOKING_PHONE
from fhir.models import BulkPublishFile
from fhir.service_types import CODES, SERVICE_TYPE_SYSTEM
from schedules.models import Slot
from schedules.selectors import offered_slots
from schedules.services import hold_create, schedule_create_and_publish, schedule_remove_type

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    schedule_pattern,
    staff,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.TIDBOK_PUBLIC_URL = "https://tidbok.example.se"


def _lines(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/fhir+ndjson")
    return [json.loads(line) for line in response.content.decode().splitlines()]


def _manifest(client, since: str | None = None) -> dict:
    response = client.get("/fhir/r4/$bulk-publish", {"_since": since} if since else {})
    assert response.status_code == 200, response.content[:300]
    return response.json()


def _ids(client, kind: str, since: str | None = None) -> set[str]:
    return {line["id"] for line in _lines(client.get(f"/fhir/r4/$bulk-publish/{kind}.ndjson", _q(since)))}


def _q(since: str | None) -> dict:
    return {"_since": since} if since else {}


def _deleted(client, since: str) -> dict[str, set[str]]:
    """What the manifest's ``deleted`` files say left the feed after ``since``, by type."""
    gone: dict[str, set[str]] = {}
    for item in _manifest(client, since)["deleted"]:
        assert item["type"] == "Bundle"
        for bundle in _lines(client.get(item["url"])):
            Bundle.model_validate(bundle)
            assert bundle["type"] == "transaction"
            for entry in bundle["entry"]:
                assert entry["request"]["method"] == "DELETE"
                kind, _, rid = entry["request"]["url"].partition("/")
                gone.setdefault(kind, set()).add(rid)
    return gone


def _world(**clinic_fields):
    clinic = ClinicFactory(**clinic_fields)
    appointment_type = AppointmentTypeFactory(clinic=clinic, web_name="Besök")
    resource = ResourceFactory(clinic=clinic)
    slots = [
        SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9 + n)) for n in range(3)
    ]
    return clinic, appointment_type, resource, slots


def _first_run() -> str:
    """A refresh a little in the past, so that whatever follows is strictly later; returns the
    manifest's transactionTime, the ``_since`` an aggregator sends next."""
    bulk.refresh(now=timezone.now() - dt.timedelta(seconds=2))
    return min(f.generated_at for f in BulkPublishFile.objects.all()).astimezone(dt.UTC).isoformat()


# --- Item 2: "free" means bookable by anyone -----------------------------------------------------


def test_times_of_a_clinic_booking_only_for_its_own_region_are_not_in_the_feed(client):
    """R-CASE-2: a resident from another region is refused these times, so no aggregator may offer
    them; a resident of the region still books them on the portal."""
    limited, limited_type, _r, limited_slots = _world()
    CaseType.objects.filter(clinic=limited, kind=CaseKind.BOOK).update(area=Area.REGION)
    open_clinic, _t, _r2, open_slots = _world(name="Vårdcentralen Öppen")
    bulk.refresh()

    assert _ids(client, "Slot") == {str(s.pk) for s in open_slots}
    assert _ids(client, "Location") == {str(open_clinic.pk)}
    assert all(not s.startswith(f"{_r.pk}-") for s in _ids(client, "Schedule"))
    searched = client.get("/fhir/r4/Slot").json()
    assert {e["resource"]["id"] for e in searched["entry"]} == {str(s.pk) for s in open_slots}
    # The portal still offers them to the clinic's own residents.
    neighbour = ResidentFactory(home_region_code=limited.region.code)
    assert set(
        offered_slots(clinic=limited, appointment_type=limited_type, resident=neighbour).values_list("pk", flat=True)
    ) == {s.pk for s in limited_slots}


# --- Item 1: removals are reported to _since clients ----------------------------------------------


def test_turning_web_booking_off_at_a_clinic_is_reported_as_removals_since(client, django_capture_on_commit_callbacks):
    clinic, appointment_type, resource, slots = _world()
    _other, _t, _r, other_slots = _world(name="Vårdcentralen Kvar")
    since = _first_run()
    assert _deleted(client, since) == {}

    with django_capture_on_commit_callbacks(execute=True):
        case_type_deactivate(
            actor=staff(Role.LOCAL_ADMIN, clinic), case_type=CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK)
        )

    assert _deleted(client, since) == {
        "Location": {str(clinic.pk)},
        "Schedule": {f"{resource.pk}-{appointment_type.pk}"},
        "Slot": {str(s.pk) for s in slots},
    }
    # Nothing else changed, so nothing else is sent again; the other clinic is still whole.
    for kind in ("Location", "Schedule", "Slot"):
        assert _ids(client, kind, since) == set()
    assert _ids(client, "Slot") == {str(s.pk) for s in other_slots}
    # Strictly later: from the refresh that removed them on, nothing more is reported.
    now = _manifest(client)["transactionTime"]
    assert _deleted(client, now) == {}
    assert _ids(client, "Slot", now) == set()
    # Without _since there is a full file to load instead, and no deleted list.
    assert "deleted" not in _manifest(client)


def test_a_time_back_in_the_feed_is_no_longer_reported_removed(client, django_capture_on_commit_callbacks):
    clinic, _t, _r, slots = _world()
    admin = staff(Role.LOCAL_ADMIN, clinic)
    book = CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK)
    since = _first_run()

    with django_capture_on_commit_callbacks(execute=True):
        case_type_deactivate(actor=admin, case_type=book)
    with django_capture_on_commit_callbacks(execute=True):
        case_type_activate(actor=admin, case_type=book)

    assert _deleted(client, since) == {}
    assert _ids(client, "Slot", since) == {str(s.pk) for s in slots}


def test_times_of_a_type_taken_off_a_schedule_are_reported_removed(
    client, scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    day = timezone.localdate() + dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        schedule, _created = schedule_create_and_publish(
            actor=scheduler,
            pattern=schedule_pattern(
                resource, appointment_type, weekdays=[day.isoweekday()], start_date=day, day_start=dt.time(9)
            ),
        )
    made = {str(pk) for pk in Slot.objects.filter(schedule=schedule).values_list("pk", flat=True)}
    since = _first_run()

    with django_capture_on_commit_callbacks(execute=True):
        schedule_remove_type(actor=scheduler, schedule=schedule)

    gone = _deleted(client, since)
    assert gone["Slot"] == made and len(made) == 2
    assert gone["Schedule"] == {f"{resource.pk}-{appointment_type.pk}"}


def test_a_removed_slot_is_reported_until_its_start_and_then_forgotten(client):
    _c, _t, _r, slots = _world()
    since = _first_run()
    Slot.objects.filter(pk=slots[0].pk).delete()
    bulk.refresh()
    assert _deleted(client, since)["Slot"] == {str(slots[0].pk)}

    bulk.refresh(now=slots[0].start + dt.timedelta(minutes=1))

    assert "Slot" not in _deleted(client, since)


def test_the_deleted_file_of_an_unknown_type_is_a_404(client):
    _world()
    bulk.refresh()
    assert client.get("/fhir/r4/$bulk-publish/deleted/Patient.ndjson").status_code == 404
    assert _lines(client.get("/fhir/r4/$bulk-publish/deleted/Slot.ndjson")) == []


# --- Item 3: whatever changes what is offered refreshes the feed at commit -------------------------


def _slot_states(client) -> dict[str, str]:
    return {line["id"]: line["status"] for line in _lines(client.get("/fhir/r4/$bulk-publish/Slot.ndjson"))}


def test_case_type_activation_and_area_refresh_the_feed(client, django_capture_on_commit_callbacks):
    clinic, _t, _r, slots = _world()
    admin = staff(Role.LOCAL_ADMIN, clinic)
    book = CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK)
    bulk.refresh()
    assert set(_slot_states(client)) == {str(s.pk) for s in slots}

    with django_capture_on_commit_callbacks(execute=True):
        case_type_update(
            actor=admin, case_type=book, conditions_text=book.conditions_text, audience=book.audience, area=Area.REGION
        )
    assert _slot_states(client) == {}

    with django_capture_on_commit_callbacks(execute=True):
        case_type_update(
            actor=admin, case_type=book, conditions_text=book.conditions_text, audience=book.audience, area=Area.COUNTRY
        )
    assert set(_slot_states(client)) == {str(s.pk) for s in slots}

    with django_capture_on_commit_callbacks(execute=True):
        case_type_deactivate(actor=admin, case_type=book)
    assert _slot_states(client) == {}


@pytest.mark.parametrize(
    ("change", "left"),
    [
        ({"bookable_on_web": False}, 0),
        ({"visibility_days": 1}, 0),  # today only: tomorrow's times leave the window (R-VIS-1)
        ({"visibility_days": 30}, 3),
    ],
)
def test_type_flags_and_days_shown_ahead_refresh_the_feed(client, django_capture_on_commit_callbacks, change, left):
    clinic, appointment_type, _r, _slots = _world()
    bulk.refresh()
    assert len(_slot_states(client)) == 3

    with django_capture_on_commit_callbacks(execute=True):
        appointment_type_save(actor=staff(Role.LOCAL_ADMIN, clinic), clinic=clinic, instance=appointment_type, **change)

    assert len(_slot_states(client)) == left


def test_a_hold_makes_the_time_busy_in_the_feed_at_once(client, django_capture_on_commit_callbacks):
    _c, _t, _r, slots = _world()
    bulk.refresh()

    with django_capture_on_commit_callbacks(execute=True):
        hold_create(resident=ResidentFactory(), slot_id=slots[0].pk)

    assert _slot_states(client)[str(slots[0].pk)] == "busy"


def test_clinics_ask_for_a_refresh_by_the_name_the_fhir_app_answers_to():
    assert FEED_REFRESH_ASK == bulk.REFRESH_ASK


# --- Items 5 and 6: findable by kind and place --------------------------------------------------


@pytest.mark.parametrize(
    ("web_name", "code"),
    [
        ("Besök hos läkare", "lakarbesok"),
        ("Videobesök läkare", "video"),
        ("Telefontid sjuksköterska", "telefon"),
        ("Influensavaccination", "vaccination"),
        ("Blodprov", "provtagning"),
        ("Samtal med kurator", "samtal"),
        ("Mottagningsbesök", "besok"),
    ],
)
def test_schedules_are_coded_by_kind_of_visit_with_the_web_name_as_text(client, web_name, code):
    _clinic, appointment_type, _resource, _slots = _world()
    appointment_type.web_name = web_name
    appointment_type.save()
    bulk.refresh()

    (schedule,) = _lines(client.get("/fhir/r4/$bulk-publish/Schedule.ndjson"))

    Schedule.model_validate(schedule)
    assert schedule["serviceType"] == [
        {"coding": [{"system": SERVICE_TYPE_SYSTEM, "code": code, "display": CODES[code][0]}], "text": web_name}
    ]
    system = client.get("/fhir/r4/CodeSystem/service-type").json()
    CodeSystem.model_validate(system)
    assert code in {c["code"] for c in system["concept"]} and system["url"] == SERVICE_TYPE_SYSTEM


def test_a_region_maps_its_own_names_first(client, settings):
    clinic, appointment_type, _r, _slots = _world()
    appointment_type.web_name = "Jourmottagning"
    appointment_type.save()
    settings.TIDBOK_FHIR_SERVICE_TYPES = {clinic.region.code: [["jour", "lakarbesok"]], "14": [["jour", "video"]]}
    bulk.refresh()

    (schedule,) = _lines(client.get("/fhir/r4/$bulk-publish/Schedule.ndjson"))

    assert schedule["serviceType"][0]["coding"][0]["code"] == "lakarbesok"


def test_a_named_practitioner_is_a_contained_practitioner_actor(client):
    clinic, _appointment_type, resource, _slots = _world()
    resource.kind, resource.name = ResourceKind.PRACTITIONER, "Dr Eva Ek"
    resource.save()
    bulk.refresh()

    (schedule,) = _lines(client.get("/fhir/r4/$bulk-publish/Schedule.ndjson"))

    Schedule.model_validate(schedule)
    assert schedule["contained"] == [
        {"resourceType": "Practitioner", "id": f"resource-{resource.pk}", "name": [{"text": "Dr Eva Ek"}]}
    ]
    assert [a["reference"] for a in schedule["actor"]] == [f"Location/{clinic.pk}", f"#resource-{resource.pk}"]


def test_the_manifest_names_the_regions_each_output_covers(client):
    _world()
    gotland = Region.objects.create(name="Region Gotland", code="09")
    _world(region=gotland)
    bulk.refresh()

    manifest = _manifest(client)

    assert [o["extension"] for o in manifest["output"]] == [{"state": ["SE-AB", "SE-I"]}] * 3
    locations = _lines(client.get(manifest["output"][0]["url"]))
    assert {loc["address"]["state"] for loc in locations} == {"SE-AB", "SE-I"}


def test_every_slot_carries_the_clinics_booking_phone(client):
    _c, _t, _r, _slots = _world(phone="0498-26 90 00")
    bulk.refresh()

    lines = _lines(client.get("/fhir/r4/$bulk-publish/Slot.ndjson"))
    assert len(lines) == 3
    for line in lines:
        assert {"url": BOOKING_PHONE, "valueString": "0498-26 90 00"} in line["extension"]


def test_turning_web_booking_off_in_the_admin_refreshes_the_feed(client, django_capture_on_commit_callbacks):
    clinic, _t, _r, slots = _world()
    bulk.refresh()
    assert set(_slot_states(client)) == {str(s.pk) for s in slots}
    clinic.supports_booking = False

    with django_capture_on_commit_callbacks(execute=True):
        site._registry[Clinic].save_model(RequestFactory().post("/"), clinic, None, True)

    assert _slot_states(client) == {}
