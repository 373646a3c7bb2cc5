"""The residents' free-times endpoint shares one cached list per clinic, type and window
(schedules.free_times). It must never show a time longer than the change that took it away,
nor hide one a publish brought, and the per-resident gate (R-VIS-2) is never shared."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from bookings.services import booking_create
from clinics.models import Audience, CaseKind, CaseType
from schedules import free_times
from schedules.models import Slot
from schedules.services import block_create, hold_create, slots_publish

from ..factories import ResidentFactory, SlotFactory

pytestmark = pytest.mark.django_db


def _listed(client: Client, clinic, appointment_type) -> list[int]:
    response = client.get(f"/api/v1/clinics/{clinic.pk}/free-times/", {"type": appointment_type.pk})
    assert response.status_code == 200
    return [row["id"] for row in response.json()]


@pytest.fixture
def reader(client, resident):
    client.force_login(resident)
    return client


@pytest.fixture
def two_slots(appointment_type, resource):
    return SlotFactory(appointment_type=appointment_type, resource=resource), SlotFactory(
        appointment_type=appointment_type, resource=resource
    )


def test_the_list_is_served_from_the_cache_until_the_clinic_changes(reader, clinic, appointment_type, two_slots):
    first = _listed(reader, clinic, appointment_type)
    # A change made behind the services' back is invisible until the TTL: proof the cache answers.
    Slot.objects.filter(pk=two_slots[0].pk).update(is_published=False)

    assert _listed(reader, clinic, appointment_type) == first == [s.pk for s in two_slots]
    free_times.invalidate([clinic.pk])
    assert _listed(reader, clinic, appointment_type) == [two_slots[1].pk]


def test_a_booking_takes_the_time_off_every_cached_list_when_it_commits(
    reader, clinic, appointment_type, two_slots, django_capture_on_commit_callbacks
):
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]
    with django_capture_on_commit_callbacks(execute=True):
        booking_create(resident=ResidentFactory(), slot_id=two_slots[0].pk)

    assert _listed(reader, clinic, appointment_type) == [two_slots[1].pk]


def test_a_hold_and_a_block_take_times_off_the_cached_list(
    reader, clinic, appointment_type, resource, two_slots, scheduler, django_capture_on_commit_callbacks
):
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]
    with django_capture_on_commit_callbacks(execute=True):
        hold_create(resident=ResidentFactory(), slot_id=two_slots[0].pk)
    assert _listed(reader, clinic, appointment_type) == [two_slots[1].pk]

    slot = two_slots[1]
    with django_capture_on_commit_callbacks(execute=True):
        block_create(actor=scheduler, resource=resource, start=slot.start, end=slot.end)
    assert _listed(reader, clinic, appointment_type) == []


def test_publishing_shows_new_times_at_once_despite_the_cache(
    reader, clinic, appointment_type, resource, two_slots, django_capture_on_commit_callbacks
):
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]
    new = SlotFactory(appointment_type=appointment_type, resource=resource, is_published=False)
    with django_capture_on_commit_callbacks(execute=True):
        slots_publish(slot_ids=[new.pk])

    assert _listed(reader, clinic, appointment_type) == [two_slots[0].pk, two_slots[1].pk, new.pk]


def test_times_that_have_started_drop_out_of_a_cached_list(
    reader, resident, clinic, appointment_type, two_slots, time_machine
):
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]
    time_machine.move_to(two_slots[0].start + dt.timedelta(seconds=1))
    # A day has passed and the idle session has ended (R-SEC-5): the resident logs in again.
    reader.force_login(resident)

    assert _listed(reader, clinic, appointment_type) == [two_slots[1].pk]


def test_the_gate_is_per_resident_even_when_the_rows_are_cached(client, clinic, appointment_type, two_slots, resident):
    """R-VIS-2 / R-CASE-3: a resident the BOOK case type does not admit gets nothing, although
    an admitted resident's request has just filled the cache for the same window."""
    client.force_login(resident)
    assert _listed(client, clinic, appointment_type) == [s.pk for s in two_slots]
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(audience=Audience.RELATED)

    outsider = Client()
    outsider.force_login(ResidentFactory())
    assert _listed(outsider, clinic, appointment_type) == []


def test_a_cached_list_made_before_a_change_is_never_served_after_it(clinic, two_slots):
    """The version is read before the rows are loaded: a change landing in between leaves the
    stored list marked with the old version, so the next reader loads afresh."""
    now = timezone.now()
    calls = []

    def load():
        calls.append(1)
        free_times.invalidate([clinic.pk])  # a booking commits while this reader loads
        return [(s.start, b'{"id":%d}' % s.pk) for s in two_slots]

    first = free_times.cached_json_list(clinic_id=clinic.pk, key="k", now=now, load=load)
    second = free_times.cached_json_list(clinic_id=clinic.pk, key="k", now=now, load=load)

    assert len(calls) == 2
    assert first == second == b'[{"id":%d},{"id":%d}]' % (two_slots[0].pk, two_slots[1].pk)


def test_an_empty_or_fully_started_list_is_an_empty_array(clinic, two_slots):
    later = two_slots[1].start + dt.timedelta(minutes=1)
    assert free_times.cached_json_list(clinic_id=clinic.pk, key="e", now=later, load=list) == b"[]"
    rows = [(s.start, b"{}") for s in two_slots]
    assert free_times.cached_json_list(clinic_id=clinic.pk, key="f", now=later, load=lambda: rows) == b"[]"


def test_each_row_is_written_exactly_as_the_slot_serializer_would(appointment_type, resource):
    """The free-times rows skip DRF's serializer for speed; the bytes must not change."""
    from rest_framework.renderers import JSONRenderer

    from schedules.api import SlotSerializer, _slot_json

    resource.name = 'Sköterska "Åsa" Öberg'
    resource.save()
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    slot.refresh_from_db()

    expected = JSONRenderer().render(SlotSerializer(slot).data)
    assert _slot_json(slot.pk, slot.start, slot.end, resource.name, appointment_type.pk) == expected


# An app server whose clock is an hour behind and stands still (a frozen VM clock): every change it
# makes bumps the clinic's free-times version from its own process.
_SKEWED_SERVER = """
import datetime as dt, sys
import django, time_machine
django.setup()
from schedules import free_times
with time_machine.travel(dt.datetime.fromisoformat(sys.argv[2]), tick=False):
    free_times.invalidate([int(sys.argv[1])])
"""


def _bump_on_skewed_server(clinic_id: int, clock: dt.datetime) -> None:
    subprocess.run(
        [sys.executable, "-c", _SKEWED_SERVER, str(clinic_id), clock.isoformat()], check=True, cwd=settings.BASE_DIR
    )


def test_a_server_with_a_skewed_standing_clock_never_leaves_a_stale_list_served(
    reader, clinic, appointment_type, two_slots
):
    """The version comes from the cache's counter (INCR), not from the clock of the process that
    made the change: two changes from a server whose clock is behind and stands still still give
    two versions, so this process, on the right time, never serves the list from between them."""
    skewed_clock = timezone.now() - dt.timedelta(hours=1)
    _bump_on_skewed_server(clinic.pk, skewed_clock)
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]

    Slot.objects.filter(pk=two_slots[0].pk).update(is_published=False)
    _bump_on_skewed_server(clinic.pk, skewed_clock)

    assert _listed(reader, clinic, appointment_type) == [two_slots[1].pk]
