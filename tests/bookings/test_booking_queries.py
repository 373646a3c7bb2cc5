"""How many SQL statements one web booking costs (issue: a booking rush at the hardware's limit).
The count is pinned so a new query on the hot path is a decision, not an accident; the rules the
statements check stay pinned by their own tests (R-BOOK-1…4, R-REL-1, R-LOG-1)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import Booking, WebBookingLogEntry
from bookings.services import booking_create, hold_create_for_booking
from clinics.models import CaseKind, CaseType, ClinicRelation, RelationSource
from clinics.selectors import case_type_for
from core.errors import BookingError, ErrorCode
from schedules.models import Hold, HoldState, SlotStatus

from ..factories import SlotFactory, tomorrow_at

pytestmark = pytest.mark.django_db

# The session with its user and the staff membership check (one query), the transaction (a
# savepoint inside the test's own), the resident's and the slot's locks with the slot's clinic, type
# and resource and the clinic's case types (BOOK and MANAGE, the answer's: one statement on
# PostgreSQL), the booking basis (locked) with the overlap and one-at-a-time check (one statement),
# the booking with its slot, holds, basis use, relation and log row (one statement), the outbox
# rows (the free-times cache, the FHIR bulk files and the notification in one INSERT) and the
# transaction's end. The outbox's relay after the commit (one UPDATE) is not in it: a test's
# transaction never commits (the bench's booking_queries counts it).
WEB_BOOKING_STATEMENTS = 7


def test_a_web_booking_sends_a_pinned_number_of_statements(resident_client, slot, django_assert_max_num_queries):
    resident_client.get("/api/v1/bookings/")  # the session has served a page, as a resident's has

    with django_assert_max_num_queries(WEB_BOOKING_STATEMENTS):
        answer = resident_client.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json")

    assert answer.status_code == 201, answer.content
    booking = Booking.objects.get(pk=answer.json()["id"])
    assert booking.slot_id == slot.pk
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED and not slot.is_published
    assert ClinicRelation.objects.get(resident=booking.resident, clinic=slot.clinic).on_start_page  # R-REL-1
    assert WebBookingLogEntry.objects.filter(booking=booking).count() == 1  # R-LOG-1


def test_a_booking_converts_its_own_hold_in_one_statement(resident, appointment_type, resource):
    """R-BOOK-3: the resident's own hold becomes the booking, in the one UPDATE of the holds."""
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10, days=3))
    own = hold_create_for_booking(resident=resident, slot_id=slot.pk)

    with CaptureQueriesContext(connection) as captured:
        booking_create(resident=resident, slot_id=slot.pk, hold=own)

    own.refresh_from_db()
    assert own.state == HoldState.CONVERTED
    assert sum('UPDATE "schedules_hold"' in q["sql"] for q in captured.captured_queries) == 1


def test_a_booking_releases_someone_elses_run_out_hold(resident, other_resident, appointment_type, resource):
    """R-BOOK-3: another resident's hold that ran out but was not swept yet gives way to the
    booking, released (not converted: the booking is not theirs) in the same one UPDATE."""
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10, days=3))
    theirs = hold_create_for_booking(resident=other_resident, slot_id=slot.pk)
    Hold.objects.filter(pk=theirs.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    with CaptureQueriesContext(connection) as captured:
        booking = booking_create(resident=resident, slot_id=slot.pk)

    theirs.refresh_from_db()
    assert theirs.state == HoldState.RELEASED and booking.resident_id == resident.pk
    assert sum('UPDATE "schedules_hold"' in q["sql"] for q in captured.captured_queries) == 1


def test_a_booking_puts_an_existing_relation_back_on_the_start_page_keeping_its_source(resident, slot):
    """R-REL-1: booking where a relation exists (taken off the start page) puts the clinic back on
    it; the relation's source and approval for communication stay as they were."""
    ClinicRelation.objects.create(
        resident=resident,
        clinic=slot.clinic,
        source=RelationSource.SUMMONS,
        on_start_page=False,
        approved_for_communication=True,
    )
    booking_create(resident=resident, slot_id=slot.pk)

    relation = ClinicRelation.objects.get(resident=resident, clinic=slot.clinic)
    assert relation.on_start_page and relation.approved_for_communication
    assert relation.source == RelationSource.SUMMONS


def test_an_overlap_is_refused_before_the_one_at_a_time_rule_in_the_one_query(clinic, resident, appointment_type):
    """R-BOOK-2 before the one-at-a-time option: a time that overlaps the resident's booking at a
    clinic that allows one booking at a time is refused as an overlap, not as a second booking;
    a later time there is refused by the option, naming the first."""
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(one_booking_at_a_time=True)
    first = booking_create(resident=resident, slot_id=SlotFactory(appointment_type=appointment_type).pk)
    same_time = SlotFactory(appointment_type=appointment_type, start=first.start)
    later = SlotFactory(appointment_type=appointment_type, start=first.start + dt.timedelta(days=1))

    with pytest.raises(BookingError) as overlapping:
        booking_create(resident=resident, slot_id=same_time.pk)
    with pytest.raises(BookingError) as second:
        booking_create(resident=resident, slot_id=later.pk)

    assert overlapping.value.code == ErrorCode.USER_IS_ALREADY_OCCUPIED
    assert second.value.code == ErrorCode.ONE_BOOKING_AT_A_TIME
    assert Booking.objects.filter(resident=resident).count() == 1


def test_a_booking_keeps_every_case_type_of_the_clinic_it_read_with_the_slot(resident, slot, django_assert_num_queries):
    """The slot's lock brings the clinic's case types (one row each): the answer asks them of the
    booking's clinic without a query, and they are the clinic's, kind by kind."""
    booking = booking_create(resident=resident, slot_id=slot.pk, case_types_for_answer=True)

    with django_assert_num_queries(0):
        kept = {kind: case_type_for(clinic=booking.clinic, kind=kind) for kind in CaseKind}

    stored = {case_type.kind: case_type for case_type in CaseType.objects.filter(clinic=slot.clinic)}
    assert len(stored) > 1
    assert {kind: ct.pk for kind, ct in kept.items() if ct} == {kind: ct.pk for kind, ct in stored.items()}
    assert all(ct.one_booking_at_a_time == stored[kind].one_booking_at_a_time for kind, ct in kept.items() if ct)
