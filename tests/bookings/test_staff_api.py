"""The clinic staff API under /api/v1/staff/clinics/<id>/: the scheduler's timebook, single slots,
type changes, blocks (R-PUB-2), schedules (R-SCHED-1/2), bookings on behalf of a resident
(R-BOOK-4, R-BOOK-9, R-REL-1) and the support's web booking log (R-LOG-2); the same roles as the
workspace (R-ACL-1) and an audit event whenever residents' data is returned (R-LOG-4)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, Role, User
from bookings.models import (
    Booking,
    BookingStatus,
    Channel,
    InboxMessage,
    LogStatus,
    MessageKind,
    WaitlistEntry,
    WaitlistStatus,
    WebBookingLogEntry,
)
from bookings.services import booking_cancel, booking_create, booking_create_for_resident
from clinics.models import ClinicRelation
from schedules.models import Block, Schedule, Slot, SlotStatus
from schedules.selectors import offered_slots
from schedules.services import block_create, schedule_create, schedule_publish

from ..core.test_api import problem_of
from ..factories import (
    AppointmentTypeFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    WaitlistEntryFactory,
    login_with_second_factor,
    make_personnummer,
    schedule_pattern,
    staff,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def login(client: Client, user: User) -> Client:
    if not user.is_resident:
        TOTP.activate(user, TOTP_SECRET)
        return login_with_second_factor(client, user)
    client.force_login(user)
    return client


def url(clinic, rest: str = "") -> str:
    return f"/api/v1/staff/clinics/{clinic.pk}/{rest}"


def post(client: Client, path: str, data=None, **extra):
    return client.post(path, data or {}, content_type="application/json", **extra)


@pytest.fixture
def as_scheduler(client, scheduler):
    return login(client, scheduler)


@pytest.fixture
def as_support(client, support):
    return login(client, support)


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Slot, Block, Schedule, Booking, User, InboxMessage, WaitlistEntry)
    }


# --- Timebook -------------------------------------------------------------------------------------


def test_the_timebook_shows_every_slot_with_its_booking_and_audits_each_booking_shown(
    as_scheduler, clinic, scheduler, resident, appointment_type, resource, slot
):
    booked = SlotFactory(appointment_type=appointment_type, resource=resource)
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=booked.pk)
    web_booked = SlotFactory(appointment_type=appointment_type, resource=resource)
    other = ResidentFactory()
    booking_create(resident=other, slot_id=web_booked.pk)
    unpublished = SlotFactory(appointment_type=appointment_type, resource=resource, is_published=False)
    AuditEvent.objects.all().delete()

    response = as_scheduler.get(url(clinic, "slots/"))

    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()}
    assert set(rows) == {slot.pk, booked.pk, web_booked.pk, unpublished.pk}
    assert rows[slot.pk]["status"] == "free" and rows[slot.pk]["booking"] is None
    assert rows[slot.pk]["is_published"] is True and rows[slot.pk]["is_blocked"] is False
    assert rows[unpublished.pk]["is_published"] is False
    assert rows[slot.pk]["appointment_type"] == {
        "id": appointment_type.pk,
        "internal_name": "Uppföljning 30 min",
        "web_name": "Besök",
    }
    assert rows[slot.pk]["resource"] == {"id": resource.pk, "name": "Distriktssköterska"}
    shown = rows[booked.pk]["booking"]
    assert rows[booked.pk]["status"] == "booked"
    assert shown["id"] == booking.pk
    assert shown["resident_name"] == "Anna Andersson"
    assert shown["personnummer"] == resident.personnummer_display
    assert shown["changed_by"] == f"Sara Schema (id {scheduler.pk})"
    assert rows[web_booked.pk]["booking"]["changed_by"] == "Webbtidbok"
    events = AuditEvent.objects.filter(actor=scheduler, action="timebook.read")
    assert {(e.resident_id, e.object_id) for e in events} == {
        (resident.pk, str(booking.pk)),
        (other.pk, str(web_booked.bookings.get().pk)),
    }
    assert all(e.clinic_id == clinic.pk for e in events)


def test_the_timebook_filters_by_range_and_resource(as_scheduler, clinic, appointment_type, resource, slot):
    other_resource = ResourceFactory(clinic=clinic)
    elsewhere = SlotFactory(appointment_type=appointment_type, resource=other_resource)
    later = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9, days=20))
    day = timezone.localdate() + dt.timedelta(days=1)

    one_resource = as_scheduler.get(url(clinic, "slots/"), {"resource": resource.pk, "date_from": day})
    one_day = as_scheduler.get(url(clinic, "slots/"), {"date_from": day, "date_to": day})
    month = as_scheduler.get(url(clinic, "slots/"), {"date_from": day, "date_to": day + dt.timedelta(days=30)})

    assert [r["id"] for r in one_resource.json()] == [slot.pk]
    assert {r["id"] for r in one_day.json()} == {slot.pk, elsewhere.pk}
    assert {r["id"] for r in month.json()} == {slot.pk, elsewhere.pk, later.pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_to": "igår"}, "date_to"),
        ({"date_from": "2026-03-10", "date_to": "2026-03-09"}, "date_to"),
        ({"date_from": "2026-03-01", "date_to": "2026-04-01"}, "date_to"),
        ({"resource": "x"}, "resource"),
        ({"date_from": "9999-12-31"}, "date_from"),
    ],
)
def test_bad_timebook_queries_are_400_problems(as_scheduler, clinic, params, field):
    body = problem_of(as_scheduler.get(url(clinic, "slots/"), params))

    assert body["status"] == 400 and body["code"] == "INVALID_INPUT"
    assert field in body["errors"]
    assert not AuditEvent.objects.exists()


def test_another_clinics_resource_in_the_timebook_query_is_not_found(as_scheduler, clinic, other_clinic):
    foreign = ResourceFactory(clinic=other_clinic)

    assert problem_of(as_scheduler.get(url(clinic, "slots/"), {"resource": foreign.pk}))["status"] == 404
    assert problem_of(as_scheduler.get(url(clinic, "slots/"), {"resource": 10**30}))["status"] in (400, 404)


def test_huge_ids_in_the_path_are_not_found(as_scheduler, clinic):
    huge = 10**30
    responses = [
        as_scheduler.delete(url(clinic, f"blocks/{huge}/")),
        as_scheduler.get(url(clinic, f"schedules/{huge}/")),
        post(as_scheduler, url(clinic, f"schedules/{huge}/remove-type/")),
        as_scheduler.get(url(clinic, f"bookings/{huge}/")),
        post(as_scheduler, url(clinic, f"bookings/{huge}/cancel/")),
        as_scheduler.get(f"/api/v1/staff/clinics/{huge}/slots/"),
    ]

    assert [problem_of(r)["status"] for r in responses] == [404] * len(responses)


# --- Single slots and type changes (R-SCHED-2, R-PUB-1) --------------------------------------------


def test_a_scheduler_adds_a_single_slot(as_scheduler, clinic, appointment_type, resource):
    start = tomorrow_at(15)

    response = post(
        as_scheduler,
        url(clinic, "slots/"),
        {
            "resource": resource.pk,
            "appointment_type": appointment_type.pk,
            "start": start,
            "end": start + dt.timedelta(minutes=30),
        },
    )

    assert response.status_code == 201
    slot = Slot.objects.get(pk=response.json()["id"])
    assert (slot.clinic, slot.resource, slot.appointment_type, slot.start) == (
        clinic,
        resource,
        appointment_type,
        start,
    )
    assert response.json()["status"] == "free" and response.json()["booking"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resource": None}, "resource"),
        ({"resource": "abc"}, "resource"),
        ({"resource": 10**30}, "resource"),
        ({"appointment_type": 10**9}, "appointment_type"),
        ({"start": "not a time"}, "start"),
        ({"end": "2020-01-01T10:00:00+01:00"}, "end"),
        ({"start": "2020-01-01T10:00:00+01:00", "end": "2020-01-01T10:30:00+01:00"}, "start"),
    ],
)
def test_bad_slot_input_is_a_400_problem_and_writes_nothing(
    as_scheduler, clinic, appointment_type, resource, change, field
):
    start = tomorrow_at(15)
    payload = {"resource": resource.pk, "appointment_type": appointment_type.pk, "start": start}
    payload |= {"end": start + dt.timedelta(minutes=30), **change}
    before = _counts()

    body = problem_of(post(as_scheduler, url(clinic, "slots/"), payload))

    assert body["status"] == 400 and body["code"] == "INVALID_INPUT"
    assert field in body["errors"]
    assert _counts() == before


def test_another_clinics_resource_or_type_is_a_field_error(
    as_scheduler, clinic, other_clinic, appointment_type, resource
):
    start = tomorrow_at(15)
    foreign_resource = ResourceFactory(clinic=other_clinic)
    foreign_type = AppointmentTypeFactory(clinic=other_clinic)

    body = problem_of(
        post(
            as_scheduler,
            url(clinic, "slots/"),
            {
                "resource": foreign_resource.pk,
                "appointment_type": foreign_type.pk,
                "start": start,
                "end": start + dt.timedelta(minutes=20),
            },
        )
    )

    assert set(body["errors"]) == {"resource", "appointment_type"}
    assert not Slot.objects.exists()


def test_an_overlapping_slot_is_refused(as_scheduler, clinic, appointment_type, resource, slot):
    body = problem_of(
        post(
            as_scheduler,
            url(clinic, "slots/"),
            {"resource": resource.pk, "appointment_type": appointment_type.pk, "start": slot.start, "end": slot.end},
        )
    )

    assert body["status"] == 400 and "start" in body["errors"]
    assert Slot.objects.count() == 1


def test_changing_the_type_of_slots_keeps_booked_ones(
    as_scheduler, clinic, scheduler, resident, appointment_type, resource, slot
):
    booked = SlotFactory(appointment_type=appointment_type, resource=resource)
    booking_create_for_resident(actor=scheduler, resident=resident, slot_id=booked.pk)
    new_type = AppointmentTypeFactory(clinic=clinic, web_name="Nytt besök")

    response = post(
        as_scheduler,
        url(clinic, "slots/change-type/"),
        {"slots": [slot.pk, booked.pk], "appointment_type": new_type.pk},
    )

    assert response.status_code == 200
    assert response.json() == {"changed": 1, "booked_kept": 1}
    slot.refresh_from_db()
    booked.refresh_from_db()
    assert slot.appointment_type == new_type and booked.appointment_type == appointment_type


@pytest.mark.parametrize("which", ["foreign_slot", "foreign_type", "empty", "garbage"])
def test_bad_type_changes_change_nothing(as_scheduler, clinic, other_clinic, appointment_type, slot, which):
    new_type = AppointmentTypeFactory(clinic=clinic)
    payload = {
        "foreign_slot": {
            "slots": [slot.pk, SlotFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic)).pk],
            "appointment_type": new_type.pk,
        },
        "foreign_type": {"slots": [slot.pk], "appointment_type": AppointmentTypeFactory(clinic=other_clinic).pk},
        "empty": {"slots": [], "appointment_type": new_type.pk},
        "garbage": {"slots": "all", "appointment_type": new_type.pk},
    }[which]

    body = problem_of(post(as_scheduler, url(clinic, "slots/change-type/"), payload))

    assert body["status"] == 400 and body["code"] == "INVALID_INPUT"
    slot.refresh_from_db()
    assert slot.appointment_type == appointment_type


# --- Blocks (R-PUB-2) ------------------------------------------------------------------------------


def test_a_block_takes_free_times_off_the_web_at_once_and_keeps_booked_ones(
    as_scheduler, clinic, scheduler, resident, other_resident, appointment_type, resource, slot
):
    booked = SlotFactory(appointment_type=appointment_type, resource=resource)
    booking_create_for_resident(actor=scheduler, resident=other_resident, slot_id=booked.pk)
    assert list(offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident)) == [slot]

    response = post(
        as_scheduler,
        url(clinic, "blocks/"),
        {"resource": resource.pk, "start": tomorrow_at(0), "end": tomorrow_at(23), "reason": "Utbildning"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["booked_times_kept"] == 1 and body["reason"] == "Utbildning"
    assert body["resource"] == {"id": resource.pk, "name": "Distriktssköterska"}
    assert not offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident).exists()
    slot.refresh_from_db()
    assert slot.is_blocked and not slot.is_published
    assert Booking.objects.get(slot=booked).status == BookingStatus.ACTIVE
    listed = as_scheduler.get(url(clinic, "blocks/")).json()
    assert [b["id"] for b in listed] == [body["id"]]


def test_deleting_a_block_frees_its_times(as_scheduler, clinic, scheduler, resource, slot):
    block = block_create(actor=scheduler, resource=resource, start=tomorrow_at(0), end=tomorrow_at(23)).block

    response = as_scheduler.delete(url(clinic, f"blocks/{block.pk}/"))

    assert response.status_code == 204
    assert not Block.objects.exists()
    slot.refresh_from_db()
    assert not slot.is_blocked


def test_another_clinics_block_is_not_found(as_scheduler, clinic, other_clinic):
    other_scheduler = staff(Role.SCHEDULER, other_clinic)
    block = block_create(
        actor=other_scheduler, resource=ResourceFactory(clinic=other_clinic), start=tomorrow_at(0), end=tomorrow_at(23)
    ).block

    assert problem_of(as_scheduler.delete(url(clinic, f"blocks/{block.pk}/")))["status"] == 404
    assert Block.objects.filter(pk=block.pk).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resource": 0}, "resource"),
        ({"end": "2000-01-01T00:00:00Z"}, "end"),
        ({"start": "2026-02-30T10:00"}, "start"),
        ({"reason": "x" * 201}, "reason"),
    ],
)
def test_bad_block_input_writes_nothing(as_scheduler, clinic, resource, slot, change, field):
    payload = {"resource": resource.pk, "start": tomorrow_at(0), "end": tomorrow_at(23), **change}

    body = problem_of(post(as_scheduler, url(clinic, "blocks/"), payload))

    assert body["status"] == 400 and field in body["errors"]
    assert not Block.objects.exists()
    slot.refresh_from_db()
    assert not slot.is_blocked and slot.is_published


# --- Schedules (R-SCHED-1, R-SCHED-2) --------------------------------------------------------------


def _schedule_payload(resource, appointment_type, **change) -> dict:
    first = timezone.localdate() + dt.timedelta(days=7)
    return {
        "resource": resource.pk,
        "appointment_type": appointment_type.pk,
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "start_date": first.isoformat(),
        "end_date": (first + dt.timedelta(days=2)).isoformat(),
        "day_start": "08:00",
        "day_end": "09:00",
        "slot_minutes": 20,
        **change,
    }


def test_a_schedule_is_created_and_published(as_scheduler, clinic, appointment_type, resource):
    response = post(as_scheduler, url(clinic, "schedules/"), _schedule_payload(resource, appointment_type))

    assert response.status_code == 201
    body = response.json()
    schedule = Schedule.objects.get(pk=body["id"])
    assert body["created_slots"] == 9 and schedule.slots.count() == 9
    assert schedule.published_at is not None
    assert body["appointment_type"]["internal_name"] == "Uppföljning 30 min"
    assert [s["id"] for s in as_scheduler.get(url(clinic, "schedules/")).json()] == [schedule.pk]
    detail = as_scheduler.get(url(clinic, f"schedules/{schedule.pk}/")).json()
    assert detail["counts"] == {"free": 9, "held": 0, "booked": 0, "blocked": 0, "total": 9}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": [0, 8]}, "weekdays"),
        ({"slot_minutes": 2}, "slot_minutes"),
        ({"day_end": "07:00"}, "day_end"),
        ({"end_date": "2000-01-01"}, "end_date"),
        ({"end_date": (timezone.localdate() + dt.timedelta(days=800)).isoformat()}, "end_date"),
        ({"start_date": "31/12"}, "start_date"),
        ({"start_date": "9999-12-01", "end_date": "9999-12-31"}, "start_date"),
        ({"resource": None}, "resource"),
    ],
)
def test_bad_schedules_are_400_problems_and_nothing_is_written(
    as_scheduler, clinic, appointment_type, resource, change, field
):
    body = problem_of(
        post(as_scheduler, url(clinic, "schedules/"), _schedule_payload(resource, appointment_type) | change)
    )

    assert body["status"] == 400 and field in body["errors"]
    assert not Schedule.objects.exists() and not Slot.objects.exists()


def test_removing_the_type_from_a_schedule_removes_its_free_times_and_keeps_booked_ones(
    as_scheduler, clinic, scheduler, resident, appointment_type, resource
):
    first = timezone.localdate() + dt.timedelta(days=3)
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type, start_date=first, day_end=dt.time(9)),
    )
    schedule_publish(actor=scheduler, schedule=schedule)
    booked = schedule.slots.earliest("start")
    booking_create_for_resident(actor=scheduler, resident=resident, slot_id=booked.pk)

    first_call = post(as_scheduler, url(clinic, f"schedules/{schedule.pk}/remove-type/"))
    again = post(as_scheduler, url(clinic, f"schedules/{schedule.pk}/remove-type/"))

    assert first_call.status_code == again.status_code == 200
    assert first_call.json()["removed_slots"] == 1 and again.json()["removed_slots"] == 0
    assert first_call.json()["schedule"]["removed_at"] is not None
    assert list(Slot.objects.filter(schedule=schedule)) == [booked]


def test_another_clinics_schedule_is_not_found(as_scheduler, clinic, other_clinic):
    other_scheduler = staff(Role.SCHEDULER, other_clinic)
    schedule = schedule_create(
        actor=other_scheduler,
        pattern=schedule_pattern(
            ResourceFactory(clinic=other_clinic),
            AppointmentTypeFactory(clinic=other_clinic),
            weekdays=[1],
            start_date=timezone.localdate(),
            day_end=dt.time(9),
        ),
    )

    assert problem_of(as_scheduler.get(url(clinic, f"schedules/{schedule.pk}/")))["status"] == 404
    assert problem_of(post(as_scheduler, url(clinic, f"schedules/{schedule.pk}/remove-type/")))["status"] == 404
    schedule.refresh_from_db()
    assert schedule.removed_at is None


# --- Bookings on behalf of a resident (R-BOOK-4, R-BOOK-9, R-REL-1) ---------------------------------


def test_booking_for_a_new_resident_creates_relation_summons_and_audit(as_scheduler, clinic, scheduler, slot):
    personnummer = make_personnummer(dt.date(1990, 5, 17))
    short = f"{personnummer[2:8]}-{personnummer[8:]}"

    response = post(as_scheduler, url(clinic, "bookings/"), {"personnummer": short, "slot": slot.pk})

    assert response.status_code == 201
    body = response.json()
    booking = Booking.objects.get(pk=body["id"])
    resident = booking.resident
    assert resident.personnummer == personnummer
    assert booking.channel == Channel.STAFF and booking.created_by == scheduler
    assert body["changed_by"] == f"Sara Schema (id {scheduler.pk})"
    assert body["resident"]["personnummer"] == resident.personnummer_display
    assert body["resident_notified"] is True
    assert ClinicRelation.objects.filter(resident=resident, clinic=clinic).exists()
    assert InboxMessage.objects.filter(resident=resident, kind=MessageKind.SUMMONS, booking=booking).exists()
    assert AuditEvent.objects.filter(
        actor=scheduler, action="booking.create_for_resident", resident=resident, object_id=str(booking.pk)
    ).exists()
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED


def test_booking_from_the_waitlist_books_the_entrys_resident(as_scheduler, clinic, resident, slot):
    entry = WaitlistEntryFactory(clinic=clinic, resident=resident)

    response = post(as_scheduler, url(clinic, "bookings/"), {"waitlist_entry": entry.pk, "slot": slot.pk})

    assert response.status_code == 201
    assert Booking.objects.get(pk=response.json()["id"]).resident == resident
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"personnummer": "19900517-0000"}, "personnummer"),
        ({"personnummer": "hej"}, "personnummer"),
        ({}, "personnummer"),
        ({"personnummer": "VALID", "slot": "x"}, "slot"),
        ({"personnummer": "VALID", "slot": 10**9}, "slot"),
        ({"personnummer": "VALID", "slot": 10**30}, "slot"),
        ({"personnummer": "VALID", "waitlist_entry": 10**9}, "waitlist_entry"),
    ],
)
def test_bad_booking_input_writes_nothing(as_scheduler, clinic, slot, payload, field):
    payload = {"slot": slot.pk, **payload}
    if payload.get("personnummer") == "VALID":
        payload["personnummer"] = make_personnummer()
    before = _counts()

    body = problem_of(post(as_scheduler, url(clinic, "bookings/"), payload))

    assert body["status"] == 400 and field in body["errors"]
    assert _counts() == before


def test_another_clinics_slot_is_a_field_error(as_scheduler, clinic, other_clinic):
    foreign = SlotFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))

    body = problem_of(
        post(as_scheduler, url(clinic, "bookings/"), {"personnummer": make_personnummer(), "slot": foreign.pk})
    )

    assert body["status"] == 400 and "slot" in body["errors"]
    assert not Booking.objects.exists()


def test_a_taken_time_is_409_and_leaves_no_new_resident_behind(as_scheduler, clinic, other_resident, slot):
    booking_create(resident=other_resident, slot_id=slot.pk)
    before = _counts()

    body = problem_of(
        post(as_scheduler, url(clinic, "bookings/"), {"personnummer": make_personnummer(), "slot": slot.pk})
    )

    assert body["status"] == 409 and body["code"] == "REQUESTED_TIME_IS_ALREADY_RESERVED"
    assert _counts() == before


def test_a_retried_booking_with_the_same_idempotency_key_books_once(as_scheduler, clinic, slot):
    payload = {"personnummer": make_personnummer(), "slot": slot.pk}
    first = post(as_scheduler, url(clinic, "bookings/"), payload, HTTP_IDEMPOTENCY_KEY="staff-1")
    second = post(as_scheduler, url(clinic, "bookings/"), payload, HTTP_IDEMPOTENCY_KEY="staff-1")

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 1 and InboxMessage.objects.count() == 1


def test_opening_a_booking_is_audited(as_scheduler, clinic, scheduler, resident, slot):
    booking = booking_create(resident=resident, slot_id=slot.pk)

    response = as_scheduler.get(url(clinic, f"bookings/{booking.pk}/"))

    assert response.status_code == 200
    assert response.json()["changed_by"] == "Webbtidbok" and response.json()["status"] == "active"
    assert AuditEvent.objects.filter(
        actor=scheduler, action="booking.read", resident=resident, object_id=str(booking.pk)
    ).exists()


def test_cancelling_for_the_resident_sends_a_message(as_scheduler, clinic, scheduler, resident, slot):
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)

    response = post(as_scheduler, url(clinic, f"bookings/{booking.pk}/cancel/"))
    again = post(as_scheduler, url(clinic, f"bookings/{booking.pk}/cancel/"))

    assert response.status_code == 204
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.ended_by == scheduler
    assert InboxMessage.objects.filter(resident=resident, kind=MessageKind.CANCELLATION, booking=booking).exists()
    assert AuditEvent.objects.filter(actor=scheduler, action="booking.cancel", resident=resident).count() == 1
    slot.refresh_from_db()
    assert slot.status == SlotStatus.FREE
    assert problem_of(again)["status"] == 404


def test_another_clinics_booking_is_not_found(as_scheduler, clinic, other_clinic, resident):
    foreign = booking_create(
        resident=resident, slot_id=SlotFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic)).pk
    )

    responses = [
        as_scheduler.get(url(clinic, f"bookings/{foreign.pk}/")),
        post(as_scheduler, url(clinic, f"bookings/{foreign.pk}/cancel/")),
    ]

    assert [problem_of(r)["status"] for r in responses] == [404, 404]
    foreign.refresh_from_db()
    assert foreign.status == BookingStatus.ACTIVE
    assert not AuditEvent.objects.exists()


# --- The web booking log (R-LOG-2, R-LOG-4) ---------------------------------------------------------


@pytest.fixture
def web_log(clinic, resident, other_resident, appointment_type, resource):
    """Anna books and cancels, Bertil books: three log rows."""
    first = booking_create(
        resident=resident, slot_id=SlotFactory(appointment_type=appointment_type, resource=resource).pk
    )
    booking_cancel(actor=resident, booking_id=first.pk)
    booking_create(
        resident=other_resident, slot_id=SlotFactory(appointment_type=appointment_type, resource=resource).pk
    )
    assert WebBookingLogEntry.objects.count() == 3


def test_support_reads_the_web_log_and_each_resident_shown_is_audited(
    as_support, clinic, support, resident, other_resident, web_log
):
    response = as_support.get(url(clinic, "web-log/"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["limit"] == 100 and body["offset"] == 0
    statuses = [row["status"] for row in body["results"]]
    assert sorted(statuses) == sorted([LogStatus.BOOKED, LogStatus.CANCELLED, LogStatus.BOOKED])
    cancelled = next(row for row in body["results"] if row["status"] == LogStatus.CANCELLED)
    assert cancelled["resident"] == {"name": "Anna Andersson", "personnummer": resident.personnummer_display}
    assert cancelled["new"] == {"date": None, "start": None, "resource": "", "type": ""}
    assert cancelled["previous"]["resource"] == "Distriktssköterska"
    assert set(cancelled["changed"]) == {"date", "start", "resource", "type"}
    assert AuditEvent.objects.filter(actor=support, action="web_log.read").count() == 1
    shown = AuditEvent.objects.filter(actor=support, action="web_log.resident_shown")
    assert Counter(e.resident_id for e in shown) == Counter([resident.pk, other_resident.pk])


def search_web_log(client: Client, clinic, body: dict):
    """The web log filtered as in ``body``: posted, so a personnummer stays out of the URL (R-SEC-3)."""
    return post(client, url(clinic, "web-log/search/"), body)


def test_the_web_log_filters_and_pages(as_support, clinic, support, resident, web_log):
    mine = search_web_log(as_support, clinic, {"personnummer": resident.personnummer, "status": "cancelled"})
    # The search itself names the resident: recorded once, not again as "shown".
    assert AuditEvent.objects.filter(actor=support, resident=resident).count() == 1
    page = as_support.get(url(clinic, "web-log/"), {"limit": 2, "offset": 2})
    nobody = search_web_log(as_support, clinic, {"personnummer": make_personnummer()})
    today = timezone.localdate()
    future = as_support.get(url(clinic, "web-log/"), {"date_from": today + dt.timedelta(days=1)})
    this_day = as_support.get(url(clinic, "web-log/"), {"date_from": today, "date_to": today})

    assert [row["status"] for row in mine.json()["results"]] == ["cancelled"] and mine.json()["count"] == 1
    assert page.json()["count"] == 3 and len(page.json()["results"]) == 1
    assert nobody.json() == {"count": 0, "limit": 100, "offset": 0, "results": []}
    assert future.json()["count"] == 0 and this_day.json()["count"] == 3
    assert AuditEvent.objects.filter(actor=support, action="web_log.read", resident=resident).count() == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "deleted"}, "status"),
        ({"personnummer": "12345"}, "personnummer"),
        ({"date_from": "2026-01-02", "date_to": "2026-01-01"}, "date_to"),
        ({"date_from": "01/02/2026"}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),
    ],
)
def test_bad_web_log_queries_are_400_problems_and_read_nothing(as_support, clinic, web_log, params, field):
    for response in (
        as_support.get(url(clinic, "web-log/"), params),
        search_web_log(as_support, clinic, params),
    ):
        body = problem_of(response)
        assert body["status"] == 400 and field in body["errors"]
    assert not AuditEvent.objects.exists()


def test_the_web_log_search_takes_the_personnummer_in_the_body_only(as_support, clinic, support, resident, web_log):
    # R-SEC-3: a personnummer in the query string is refused, not silently dropped, and read nothing.
    in_url = problem_of(as_support.get(url(clinic, "web-log/"), {"personnummer": resident.personnummer}))
    assert in_url["status"] == 400 and "personnummer" in in_url["errors"]
    assert not AuditEvent.objects.exists()

    short = f"{resident.personnummer[2:8]}-{resident.personnummer[8:]}"
    found = search_web_log(as_support, clinic, {"personnummer": short, "limit": 1})
    assert found.status_code == 200
    assert found.json()["count"] == 2 and found.json()["limit"] == 1
    assert {row["resident"]["name"] for row in found.json()["results"]} == {"Anna Andersson"}
    [read] = AuditEvent.objects.filter(actor=support, action="web_log.read")
    assert read.resident == resident


def test_the_page_and_the_api_read_the_web_log_alike(client, as_support, clinic, support, resident, web_log):
    """One selector behind both (R-LOG-2, R-LOG-4): the same rows, the same audit trail."""
    api = search_web_log(as_support, clinic, {"status": "booked"}).json()
    api_events = list(AuditEvent.objects.order_by("pk").values_list("action", "resident_id"))
    AuditEvent.objects.all().delete()
    page_url = f"/personal/{clinic.pk}/logg/"
    page = client.get(client.post(page_url, {"status": "booked"}).url)
    page_events = list(AuditEvent.objects.order_by("pk").values_list("action", "resident_id"))

    assert [entry.pk for entry, _changes in page.context["rows"]] == [row["id"] for row in api["results"]]
    assert api_events == page_events and len(api_events) == 3


# --- Who may do what (R-ACL-1) ----------------------------------------------------------------------


@pytest.fixture
def world(clinic, scheduler, resident, appointment_type, resource, slot):
    """One of everything at the clinic, for the persona matrix."""
    booked = SlotFactory(appointment_type=appointment_type, resource=resource)
    booking = booking_create(resident=resident, slot_id=booked.pk)
    block = block_create(actor=scheduler, resource=resource, start=tomorrow_at(18), end=tomorrow_at(19)).block
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(
            resource,
            appointment_type,
            weekdays=[1],
            start_date=timezone.localdate() + dt.timedelta(days=14),
            days=7,
            day_end=dt.time(9),
        ),
    )
    AuditEvent.objects.all().delete()
    return {
        "clinic": clinic,
        "type": appointment_type,
        "resource": resource,
        "slot": slot,
        "booking": booking,
        "block": block,
        "schedule": schedule,
    }


SCHEDULER_ONLY = "scheduler"
SUPPORT_ONLY = "support"

# (name, role it needs, method, path, payload, success status)
ENDPOINTS: list[tuple[str, str, str, Callable[[dict], str], Callable[[dict], dict] | None, int]] = [
    ("timebook", SCHEDULER_ONLY, "get", lambda w: "slots/", None, 200),
    (
        "slot_add",
        SCHEDULER_ONLY,
        "post",
        lambda w: "slots/",
        lambda w: {
            "resource": w["resource"].pk,
            "appointment_type": w["type"].pk,
            "start": tomorrow_at(15),
            "end": tomorrow_at(15, 30),
        },
        201,
    ),
    (
        "change_type",
        SCHEDULER_ONLY,
        "post",
        lambda w: "slots/change-type/",
        lambda w: {"slots": [w["slot"].pk], "appointment_type": w["type"].pk},
        200,
    ),
    ("blocks", SCHEDULER_ONLY, "get", lambda w: "blocks/", None, 200),
    (
        "block_add",
        SCHEDULER_ONLY,
        "post",
        lambda w: "blocks/",
        lambda w: {"resource": w["resource"].pk, "start": tomorrow_at(20), "end": tomorrow_at(21)},
        201,
    ),
    ("block_delete", SCHEDULER_ONLY, "delete", lambda w: f"blocks/{w['block'].pk}/", None, 204),
    ("schedules", SCHEDULER_ONLY, "get", lambda w: "schedules/", None, 200),
    (
        "schedule_add",
        SCHEDULER_ONLY,
        "post",
        lambda w: "schedules/",
        lambda w: _schedule_payload(w["resource"], w["type"]),
        201,
    ),
    ("schedule", SCHEDULER_ONLY, "get", lambda w: f"schedules/{w['schedule'].pk}/", None, 200),
    ("remove_type", SCHEDULER_ONLY, "post", lambda w: f"schedules/{w['schedule'].pk}/remove-type/", None, 200),
    (
        "book",
        SCHEDULER_ONLY,
        "post",
        lambda w: "bookings/",
        lambda w: {"personnummer": make_personnummer(), "slot": w["slot"].pk},
        201,
    ),
    ("booking", SCHEDULER_ONLY, "get", lambda w: f"bookings/{w['booking'].pk}/", None, 200),
    ("cancel", SCHEDULER_ONLY, "post", lambda w: f"bookings/{w['booking'].pk}/cancel/", None, 204),
    ("web_log", SUPPORT_ONLY, "get", lambda w: "web-log/", None, 200),
    (
        "web_log_search",
        SUPPORT_ONLY,
        "post",
        lambda w: "web-log/search/",
        lambda w: {"personnummer": w["booking"].resident.personnummer},
        200,
    ),
]

PERSONAS = ["scheduler", "support", "local_admin", "region_it", "other_clinic_staff", "resident", "anonymous"]


def _persona(name: str, world: dict, other_clinic, needs: str) -> User | None:
    clinic = world["clinic"]
    return {
        "scheduler": lambda: staff(Role.SCHEDULER, clinic),
        "support": lambda: staff(Role.SUPPORT, clinic),
        "local_admin": lambda: staff(Role.LOCAL_ADMIN, clinic),
        "region_it": lambda: staff(Role.REGION_IT, clinic),
        # The very role the endpoint needs, at another clinic.
        "other_clinic_staff": lambda: staff(Role(needs), other_clinic),
        "resident": lambda: world["booking"].resident,
        "anonymous": lambda: None,
    }[name]()


def _expected(persona: str, needs: str, success: int) -> int:
    if persona == needs:
        return success
    if persona == "other_clinic_staff":
        return 404
    return 403


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "needs", "method", "path", "payload", "success"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_every_staff_endpoint_is_for_its_role_at_this_clinic_only(
    client, world, other_clinic, persona, name, needs, method, path, payload, success
):
    user = _persona(persona, world, other_clinic, needs)
    if user is not None:
        login(client, user)
    before = _counts() | {"blocked": Slot.objects.filter(is_blocked=True).count()}
    statuses = {"booking": world["booking"].status, "schedule_removed": world["schedule"].removed_at}
    kwargs = {"content_type": "application/json"}
    data = payload(world) if payload else None
    if method == "get":
        response = client.get(url(world["clinic"], path(world)))
    elif method == "delete":
        response = client.delete(url(world["clinic"], path(world)))
    else:
        response = client.post(url(world["clinic"], path(world)), data or {}, **kwargs)

    expected = _expected(persona, needs, success)
    assert response.status_code == expected, response.content
    if expected >= 400:
        body = problem_of(response)
        assert body["code"] == ("NOT_FOUND" if expected == 404 else "PERMISSION_DENIED")
        assert _counts() | {"blocked": Slot.objects.filter(is_blocked=True).count()} == before
        world["booking"].refresh_from_db()
        world["schedule"].refresh_from_db()
        assert {"booking": world["booking"].status, "schedule_removed": world["schedule"].removed_at} == statuses
        assert not AuditEvent.objects.exists()


def test_residents_data_returned_to_staff_is_always_audited(client, world, scheduler):
    """Every endpoint that returns a resident's name or personnummer leaves an audit event."""
    login(client, scheduler)
    support = staff(Role.SUPPORT, world["clinic"])
    booking = world["booking"]

    client.get(url(world["clinic"], "slots/"))
    client.get(url(world["clinic"], f"bookings/{booking.pk}/"))
    login(Client(), support).get(url(world["clinic"], "web-log/"))

    actions = set(AuditEvent.objects.filter(resident=booking.resident).values_list("action", flat=True))
    assert actions == {"timebook.read", "booking.read", "web_log.resident_shown"}
    assert AuditEvent.objects.filter(actor=support, action="web_log.read", clinic=world["clinic"]).exists()


def test_unsafe_staff_requests_with_a_session_need_the_csrf_token(scheduler, world):
    client = login(Client(enforce_csrf_checks=True), scheduler)

    body = problem_of(
        client.post(
            url(world["clinic"], "blocks/"),
            {"resource": world["resource"].pk, "start": tomorrow_at(0), "end": tomorrow_at(23)},
            content_type="application/json",
        )
    )

    assert body["status"] == 403
    assert Block.objects.count() == 1
