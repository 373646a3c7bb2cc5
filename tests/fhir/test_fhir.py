"""FHIR R4 reads (Location, Schedule, Slot, the resident's Appointments) and the SMART Scheduling
Links bulk publication. Every resource and Bundle is validated with fhir.resources (R4B models,
which are R4-compatible for these resources)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot as FhirSlot
from rest_framework.authtoken.models import Token

from accounts.models import Role
from bookings.services import booking_cancel, booking_create, booking_create_for_resident
from clinics.models import CaseKind, CaseType
from fhir import bulk
from fhir.builders import BOOKING_DEEP_LINK, BOOKING_PHONE
from fhir.models import BulkPublishFile
from fhir.service_types import SERVICE_TYPE_SYSTEM
from schedules.models import Slot, SlotStatus
from schedules.services import block_create, schedule_create_and_publish, slot_add

from ..factories import AppointmentTypeFactory, SlotFactory, UserFactory, schedule_pattern, staff, tomorrow_at

pytestmark = pytest.mark.django_db

MODELS: dict[str, type[DomainResource]] = {
    "Location": Location,
    "Schedule": Schedule,
    "Slot": FhirSlot,
    "Appointment": Appointment,
}
PUBLIC_URL = "https://tidbok.example.se"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.TIDBOK_PUBLIC_URL = PUBLIC_URL


def fhir_json(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    return response.json()


def bundle_of(response) -> dict:
    body = fhir_json(response)
    Bundle.model_validate(body)
    assert body["type"] == "searchset"
    return body


def resources_in(body: dict, kind: str | None = None) -> list[dict]:
    return [
        e["resource"]
        for e in body.get("entry", [])
        if e["search"]["mode"] == "match" and (kind is None or e["resource"]["resourceType"] == kind)
    ]


def outcome_of(response, status: int) -> dict:
    body = fhir_json(response, status)
    OperationOutcome.model_validate(body)
    assert body["issue"][0]["severity"] == "error"
    return body


def ndjson_of(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+ndjson")
    lines = [json.loads(line) for line in response.content.decode().splitlines()]
    for line in lines:
        MODELS[line["resourceType"]].model_validate(line)
        assert line["meta"]["lastUpdated"]
    return lines


@pytest.fixture
def hidden_type(clinic):
    return AppointmentTypeFactory(
        clinic=clinic,
        internal_name="Hemlig provtagning",
        web_name="Provtagning",
        hidden_for_patient=True,
        bookable_on_web=False,
        cancellable_on_web=False,
        reschedulable_on_web=False,
    )


@pytest.fixture
def proxy_type(clinic):
    return AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177", web_name="Telefonbokning")


@pytest.fixture
def mixed_slots(clinic, appointment_type, resource, hidden_type, proxy_type):
    """One slot of each kind: offered, not yet published, booked, blocked, past, hidden, proxy."""
    at = lambda n: tomorrow_at(8) + dt.timedelta(hours=n)  # noqa: E731
    return {
        "free": SlotFactory(appointment_type=appointment_type, resource=resource, start=at(0)),
        "unpublished": SlotFactory(
            appointment_type=appointment_type, resource=resource, start=at(1), is_published=False
        ),
        "booked": SlotFactory(
            appointment_type=appointment_type,
            resource=resource,
            start=at(2),
            status=SlotStatus.BOOKED,
            is_published=False,
        ),
        "blocked": SlotFactory(
            appointment_type=appointment_type, resource=resource, start=at(3), is_blocked=True, is_published=False
        ),
        "past": SlotFactory(
            appointment_type=appointment_type, resource=resource, start=timezone.now() - dt.timedelta(hours=3)
        ),
        "hidden": SlotFactory(appointment_type=hidden_type, resource=resource, start=at(4)),
        "proxy": SlotFactory(appointment_type=proxy_type, resource=resource, start=at(5)),
    }


# --- Location ------------------------------------------------------------------------------------


def test_locations_are_public_clinics_with_hsa_id_address_region_phone_page_and_position(client, clinic):
    clinic.street_address, clinic.postal_code = "Solnavägen 1", "171 64"
    clinic.latitude, clinic.longitude = Decimal("59.360300"), Decimal("18.000100")
    clinic.save()

    body = bundle_of(client.get("/fhir/r4/Location"))
    one = fhir_json(client.get(f"/fhir/r4/Location/{clinic.pk}"))

    Location.model_validate(one)
    assert [r["id"] for r in resources_in(body, "Location")] == [str(clinic.pk)]
    assert one["name"] == "Vårdcentralen Solna"
    assert one["identifier"] == [{"system": "urn:oid:1.2.752.29.4.19", "value": clinic.hsa_id}]
    assert one["address"] == {
        "line": ["Solnavägen 1"],
        "postalCode": "171 64",
        "city": "Stockholm",
        "district": "Region Stockholm",
        "state": "SE-AB",
        "country": "SE",
    }
    assert one["telecom"] == [
        {"system": "phone", "value": "08-123 456 00"},
        {"system": "url", "value": f"http://testserver/mottagning/{clinic.pk}/"},
    ]
    assert one["position"] == {"latitude": 59.3603, "longitude": 18.0001}
    assert body["entry"][0]["fullUrl"] == f"http://testserver/fhir/r4/Location/{clinic.pk}"


@pytest.mark.parametrize("path", ["/fhir/r4/Location/999999", "/fhir/r4/Location/abc", "/fhir/r4/Nothing"])
def test_unknown_things_are_a_404_operation_outcome(client, clinic, path):
    outcome_of(client.get(path), 404)


def test_only_reads_are_allowed(client, clinic):
    response = client.post("/fhir/r4/Location", {})
    outcome_of(response, 405)
    assert response["Allow"] == "GET, HEAD"


# --- Schedule ------------------------------------------------------------------------------------


def test_schedules_are_resource_by_web_bookable_type_under_the_web_name(client, clinic, resource, mixed_slots):
    body = bundle_of(client.get("/fhir/r4/Schedule"))
    schedules = resources_in(body, "Schedule")
    free = mixed_slots["free"]

    assert [s["id"] for s in schedules] == [f"{resource.pk}-{free.appointment_type_id}"]
    assert schedules[0]["serviceType"] == [
        {"coding": [{"system": SERVICE_TYPE_SYSTEM, "code": "besok", "display": "Besök"}], "text": "Besök"}
    ]
    # Every actor resolves: the Location, and the resource contained in the Schedule.
    assert schedules[0]["actor"] == [
        {"reference": f"Location/{clinic.pk}", "display": "Vårdcentralen Solna"},
        {"reference": f"#resource-{resource.pk}", "display": "Distriktssköterska"},
    ]
    assert schedules[0]["contained"] == [
        {
            "resourceType": "HealthcareService",
            "id": f"resource-{resource.pk}",
            "name": "Distriktssköterska",
            "location": [{"reference": f"Location/{clinic.pk}"}],
        }
    ]
    text = json.dumps(body, ensure_ascii=False)
    assert "Uppföljning" not in text and "Ombud" not in text and "Provtagning" not in text


def test_a_schedule_is_read_by_its_id_and_hidden_or_proxy_ones_do_not_exist(client, resource, mixed_slots):
    free, hidden, proxy = mixed_slots["free"], mixed_slots["hidden"], mixed_slots["proxy"]

    one = fhir_json(client.get(f"/fhir/r4/Schedule/{resource.pk}-{free.appointment_type_id}"))

    Schedule.model_validate(one)
    assert one["id"] == f"{resource.pk}-{free.appointment_type_id}"
    for other in (hidden, proxy):
        outcome_of(client.get(f"/fhir/r4/Schedule/{resource.pk}-{other.appointment_type_id}"), 404)
    outcome_of(client.get("/fhir/r4/Schedule/nonsense"), 404)


def test_schedules_can_be_searched_by_location(client, clinic, other_clinic, mixed_slots):
    SlotFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))

    mine = resources_in(bundle_of(client.get("/fhir/r4/Schedule", {"actor": f"Location/{clinic.pk}"})))
    everyone = resources_in(bundle_of(client.get("/fhir/r4/Schedule")))

    assert len(mine) == 1 and len(everyone) == 2
    outcome_of(client.get("/fhir/r4/Schedule", {"actor": "Practitioner/1"}), 400)


def test_no_schedules_when_the_clinic_does_not_take_web_bookings(client, clinic, mixed_slots):
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(is_active=False)

    assert resources_in(bundle_of(client.get("/fhir/r4/Schedule"))) == []
    assert resources_in(bundle_of(client.get("/fhir/r4/Slot"))) == []


# --- Slot ----------------------------------------------------------------------------------------


def test_slots_are_free_when_offered_and_busy_when_taken_and_nothing_else(client, mixed_slots):
    body = bundle_of(client.get("/fhir/r4/Slot"))
    by_id = {s["id"]: s for s in resources_in(body, "Slot")}

    assert set(by_id) == {str(mixed_slots[name].pk) for name in ("free", "booked", "blocked")}
    assert by_id[str(mixed_slots["free"].pk)]["status"] == "free"
    assert by_id[str(mixed_slots["booked"].pk)]["status"] == "busy"
    assert by_id[str(mixed_slots["blocked"].pk)]["status"] == "busy"
    assert body["total"] == 3


def test_slot_search_by_status_schedule_and_start_range(client, resource, mixed_slots):
    free = mixed_slots["free"]
    schedule = f"Schedule/{resource.pk}-{free.appointment_type_id}"
    day = timezone.localtime(free.start).date()

    only_free = resources_in(bundle_of(client.get("/fhir/r4/Slot", {"status": "free", "schedule": schedule})))
    only_busy = resources_in(bundle_of(client.get("/fhir/r4/Slot", {"status": "busy"})))
    first_two_hours = resources_in(
        bundle_of(
            client.get(
                "/fhir/r4/Slot",
                {
                    "start": [
                        f"ge{free.start.isoformat()}",
                        f"lt{(free.start + dt.timedelta(hours=2, minutes=1)).isoformat()}",
                    ]
                },
            )
        )
    )
    that_day = resources_in(bundle_of(client.get("/fhir/r4/Slot", {"start": day.isoformat()})))
    day_after = resources_in(bundle_of(client.get("/fhir/r4/Slot", {"start": f"gt{day.isoformat()}"})))

    assert [s["id"] for s in only_free] == [str(free.pk)]
    assert {s["id"] for s in only_busy} == {str(mixed_slots["booked"].pk), str(mixed_slots["blocked"].pk)}
    assert [s["id"] for s in first_two_hours] == [str(free.pk), str(mixed_slots["booked"].pk)]
    assert len(that_day) == 3 and day_after == []
    assert only_free[0]["schedule"] == {"reference": schedule}
    assert only_free[0]["start"] == timezone.localtime(free.start).isoformat(timespec="seconds")


def test_a_slot_carries_the_booking_deep_link_and_the_clinics_phone(client, clinic, appointment_type, slot):
    one = fhir_json(client.get(f"/fhir/r4/Slot/{slot.pk}"))

    FhirSlot.model_validate(one)
    assert one["extension"] == [
        {
            "url": BOOKING_DEEP_LINK,
            "valueUrl": f"http://testserver/mottagning/{clinic.pk}/boka/{appointment_type.pk}/tid/{slot.pk}/",
        },
        {"url": BOOKING_PHONE, "valueString": "08-123 456 00"},
    ]


def test_free_times_beyond_the_visibility_window_are_not_published(client, appointment_type, resource):
    appointment_type.visibility_days = 2
    appointment_type.save()
    inside = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9))
    SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9, days=3))

    assert [s["id"] for s in resources_in(bundle_of(client.get("/fhir/r4/Slot")))] == [str(inside.pk)]


@pytest.mark.parametrize(
    "params",
    [
        {"foo": "bar"},
        {"start": "gé2025"},
        {"start": "ge2025-13-45"},
        {"start": "ge2025-01-01T10:00"},
        {"status": "booked"},
        {"schedule": "x-y"},
        {"_count": "0"},
        {"_count": "5000"},
    ],
)
def test_bad_slot_searches_are_a_400_operation_outcome(client, slot, params):
    outcome_of(client.get("/fhir/r4/Slot", params), 400)


def test_slot_results_page_with_next_links(client, appointment_type, resource):
    made = [
        SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9) + dt.timedelta(hours=n))
        for n in range(5)
    ]

    seen: list[str] = []
    url: str | None = "/fhir/r4/Slot?status=free&_count=2"
    pages = 0
    while url:
        body = bundle_of(client.get(url))
        assert body["total"] == 5
        seen += [r["id"] for r in resources_in(body)]
        url = next((link["url"] for link in body["link"] if link["relation"] == "next"), None)
        pages += 1

    assert seen == [str(s.pk) for s in made] and pages == 3
    assert "status=free" in body["link"][0]["url"]
    assert any(link["relation"] == "previous" for link in body["link"])
    outcome_of(client.get("/fhir/r4/Slot", {"_offset": "-1"}), 400)


def test_large_files_and_searches_come_compressed_when_asked(client, appointment_type, resource):
    for n in range(20):
        SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9) + dt.timedelta(hours=n))
    bulk.refresh()

    for url in ("/fhir/r4/$bulk-publish/Slot.ndjson", "/fhir/r4/Slot"):
        plain = client.get(url)
        packed = client.get(url, headers={"accept-encoding": "gzip"})

        assert "Content-Encoding" not in plain
        assert packed["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.content) == plain.content
        assert "Accept-Encoding" in packed["Vary"]


# --- Appointment ---------------------------------------------------------------------------------


def test_appointments_need_a_resident(client):
    outcome_of(client.get("/fhir/r4/Appointment"), 401)
    client.force_login(UserFactory())  # logged in, but not as a resident
    outcome_of(client.get("/fhir/r4/Appointment"), 403)


def test_a_resident_sees_only_their_own_visible_appointments(
    client, resident, other_resident, clinic, appointment_type, resource, hidden_type
):
    mine = booking_create(
        resident=resident, slot_id=SlotFactory(appointment_type=appointment_type, resource=resource).pk
    )
    theirs = booking_create(
        resident=other_resident, slot_id=SlotFactory(appointment_type=appointment_type, resource=resource).pk
    )

    booking_create_for_resident(
        actor=staff(Role.SCHEDULER, clinic),
        resident=resident,
        slot_id=SlotFactory(appointment_type=hidden_type, resource=resource).pk,
    )
    client.force_login(resident)

    body = bundle_of(client.get("/fhir/r4/Appointment"))
    appointments = resources_in(body, "Appointment")
    one = fhir_json(client.get(f"/fhir/r4/Appointment/{mine.pk}"))

    assert [a["id"] for a in appointments] == [str(mine.pk)]
    Appointment.model_validate(one)
    assert one["status"] == "booked"
    assert one["serviceType"] == [{"text": "Besök"}]
    assert one["participant"][0]["actor"] == {"reference": f"Location/{clinic.pk}", "display": clinic.name}
    assert "Uppföljning" not in json.dumps(body, ensure_ascii=False)
    outcome_of(client.get(f"/fhir/r4/Appointment/{theirs.pk}"), 404)


def test_an_app_reads_appointments_with_its_bearer_token(resident, slot):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    token = Token.objects.create(user=resident)
    app = Client()

    body = bundle_of(app.get("/fhir/r4/Appointment", HTTP_AUTHORIZATION=f"Bearer {token.key}"))
    refused = app.get("/fhir/r4/Appointment", HTTP_AUTHORIZATION="Bearer not-a-token")

    assert [a["id"] for a in resources_in(body)] == [str(booking.pk)]
    outcome_of(refused, 401)


# --- SMART Scheduling Links bulk publication -----------------------------------------------------


def bulk_files(client, **params) -> dict[str, list[dict]]:
    manifest = client.get("/fhir/r4/$bulk-publish", params)
    assert manifest.status_code == 200
    body = manifest.json()
    assert set(body) == {"transactionTime", "request", "output", "error"}
    assert [o["type"] for o in body["output"]] == ["Location", "Schedule", "Slot"]
    assert body["error"] == []
    return {o["type"]: ndjson_of(client.get(o["url"])) for o in body["output"]}


def test_the_manifest_waits_for_the_first_run(client):
    response = client.get("/fhir/r4/$bulk-publish")
    outcome_of(response, 503)
    assert response["Retry-After"]


def test_bulk_files_hold_the_published_web_bookable_times_with_deep_links(client, clinic, resource, mixed_slots):
    bulk.refresh()

    files = bulk_files(client)

    free = mixed_slots["free"]
    assert [loc["id"] for loc in files["Location"]] == [str(clinic.pk)]
    assert [s["id"] for s in files["Schedule"]] == [f"{resource.pk}-{free.appointment_type_id}"]
    assert files["Schedule"][0]["serviceType"][0]["text"] == "Besök"
    slots = {s["id"]: s for s in files["Slot"]}
    assert set(slots) == {str(mixed_slots[name].pk) for name in ("free", "booked", "blocked")}
    assert slots[str(free.pk)]["status"] == "free"
    for line in files["Slot"]:
        assert line["extension"][0]["url"] == BOOKING_DEEP_LINK
    assert slots[str(free.pk)]["extension"][0]["valueUrl"] == (
        f"{PUBLIC_URL}/mottagning/{clinic.pk}/boka/{free.appointment_type_id}/tid/{free.pk}/"
    )
    text = json.dumps(files, ensure_ascii=False)
    assert "Uppföljning" not in text and "Ombud" not in text and "Provtagning" not in text


def test_the_manifest_urls_are_absolute_and_pass_since_on(client, slot):
    bulk.refresh()

    body = client.get("/fhir/r4/$bulk-publish", {"_since": "2020-01-01T00:00:00Z"}).json()

    assert (
        body["output"][2]["url"]
        == "http://testserver/fhir/r4/$bulk-publish/Slot.ndjson?_since=2020-01-01T00%3A00%3A00.000Z"
    )
    assert body["request"].startswith("http://testserver/fhir/r4/$bulk-publish?_since=")
    assert dt.datetime.fromisoformat(body["transactionTime"]) <= timezone.now()


def test_since_returns_only_lines_changed_since_then(client, appointment_type, resource):
    first = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9))
    earlier = timezone.now() - dt.timedelta(minutes=10)
    bulk.refresh(now=earlier)
    second = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10))
    Slot.objects.filter(pk=first.pk).update(status=SlotStatus.HELD, is_published=False)
    bulk.refresh()
    cut = (earlier + dt.timedelta(minutes=1)).isoformat()

    everything = ndjson_of(client.get("/fhir/r4/$bulk-publish/Slot.ndjson"))
    changed = ndjson_of(client.get("/fhir/r4/$bulk-publish/Slot.ndjson", {"_since": cut}))
    schedules = ndjson_of(client.get("/fhir/r4/$bulk-publish/Schedule.ndjson", {"_since": cut}))

    assert {s["id"] for s in everything} == {str(first.pk), str(second.pk)}
    assert {s["id"]: s["status"] for s in changed} == {str(first.pk): "busy", str(second.pk): "free"}
    assert schedules == []  # unchanged since: it keeps its earlier lastUpdated
    untouched = ndjson_of(client.get("/fhir/r4/$bulk-publish/Schedule.ndjson"))
    assert untouched[0]["meta"]["lastUpdated"] < cut


def test_since_with_an_unencoded_plus_is_understood(client, slot):
    bulk.refresh()
    response = client.get("/fhir/r4/$bulk-publish/Slot.ndjson?_since=2020-01-01T01:00:00+01:00")
    assert len(ndjson_of(response)) == 1


@pytest.mark.parametrize("since", ["yesterday", "2025-01-01", "2025-01-01T10:00:00", "2025-02-30T10:00:00Z"])
def test_a_bad_since_is_a_400_operation_outcome(client, slot, since):
    bulk.refresh()
    outcome_of(client.get("/fhir/r4/$bulk-publish", {"_since": since}), 400)
    outcome_of(client.get("/fhir/r4/$bulk-publish/Slot.ndjson", {"_since": since}), 400)


def test_unknown_bulk_files_and_parameters_are_refused(client, slot):
    bulk.refresh()
    outcome_of(client.get("/fhir/r4/$bulk-publish/Patient.ndjson"), 404)
    outcome_of(client.get("/fhir/r4/$bulk-publish", {"type": "Slot"}), 400)


def test_the_files_are_not_built_on_request(client, slot):
    bulk.refresh()
    before = client.get("/fhir/r4/$bulk-publish/Slot.ndjson").content

    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.BOOKED, is_published=False)
    SlotFactory(appointment_type=slot.appointment_type, resource=slot.resource)

    assert client.get("/fhir/r4/$bulk-publish/Slot.ndjson").content == before
    bulk.refresh()
    assert client.get("/fhir/r4/$bulk-publish/Slot.ndjson").content != before


def _slot_states(client) -> dict[str, str]:
    return {s["id"]: s["status"] for s in ndjson_of(client.get("/fhir/r4/$bulk-publish/Slot.ndjson"))}


def test_publishing_times_refreshes_the_files_through_the_task(
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

    states = _slot_states(client)
    assert len(states) == 2 and set(states.values()) == {"free"}
    assert set(states) == {str(pk) for pk in Slot.objects.filter(schedule=schedule).values_list("pk", flat=True)}


def test_booking_and_cancelling_refresh_the_files_through_the_task(
    client, resident, slot, django_capture_on_commit_callbacks
):
    bulk.refresh()
    assert _slot_states(client) == {str(slot.pk): "free"}

    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(resident=resident, slot_id=slot.pk)
    assert _slot_states(client) == {str(slot.pk): "busy"}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking_cancel(actor=resident, booking_id=booking.pk)
    assert callbacks  # the slot is republished, and the files follow
    assert _slot_states(client) == {str(slot.pk): "free"}


def test_a_slot_added_in_the_calendar_reaches_the_files_after_the_publisher(
    client, scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    bulk.refresh()
    with django_capture_on_commit_callbacks(execute=True):
        slot = slot_add(
            actor=scheduler,
            resource=resource,
            appointment_type=appointment_type,
            start=tomorrow_at(14),
            end=tomorrow_at(14, 30),
        )
    assert _slot_states(client) == {str(slot.pk): "free"}


def test_a_block_refreshes_the_files_at_commit(client, scheduler, slot, django_capture_on_commit_callbacks):
    bulk.refresh()
    with django_capture_on_commit_callbacks(execute=True):
        block_create(actor=scheduler, resource=slot.resource, start=slot.start, end=slot.end)
    assert _slot_states(client) == {str(slot.pk): "busy"}


def test_asks_for_a_refresh_are_folded_until_it_runs(slot, django_capture_on_commit_callbacks, monkeypatch):
    from fhir import tasks

    queued = []
    monkeypatch.setattr(tasks.bulk_publish_refresh, "delay", lambda: queued.append(1))
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            bulk.refresh_later()
    assert len(queued) == 1  # three asks in one transaction, one task

    bulk.refresh()  # the refresh runs and starts a new round
    with django_capture_on_commit_callbacks(execute=True):
        bulk.refresh_later()
    assert len(queued) == 2
    assert BulkPublishFile.objects.count() == 3


def test_a_rolled_back_change_does_not_hold_back_the_next_refresh(slot, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=False), pytest.raises(RuntimeError), transaction.atomic():
        bulk.refresh_later()
        raise RuntimeError("rolled back")

    assert bulk._first_ask() is True


def test_the_beat_refreshes_the_files_every_minute():
    from tidbok.celery import app

    entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == "fhir.tasks.bulk_publish_refresh")
    assert entry["schedule"] <= 60


def test_the_lower_apps_ask_for_a_refresh_by_the_name_the_fhir_app_answers_to(
    slot, django_capture_on_commit_callbacks, monkeypatch
):
    """schedules sits below fhir and names its outbox step instead of importing it; a row queued
    under the step's name from before the move still runs it."""
    from core.outbox.services import outbox_add
    from fhir import tasks
    from schedules import services

    assert services.BULK_REFRESH_ASK == bulk.REFRESH_ASK
    queued = []
    monkeypatch.setattr(tasks.bulk_publish_refresh, "delay", lambda: queued.append(1))
    with django_capture_on_commit_callbacks(execute=True):
        services.bulk_refresh_later()
    bulk.refresh()
    with django_capture_on_commit_callbacks(execute=True):
        outbox_add(name="schedules.bulk.refresh_ask")
    assert len(queued) == 2
