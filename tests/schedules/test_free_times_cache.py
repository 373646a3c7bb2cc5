"""The residents' free-times endpoint shares one cached list per clinic, type and window
(schedules.free_times). It must never show a time longer than the change that took it away,
nor hide one a publish brought, and the per-resident gate (R-VIS-2) is never shared."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from bookings.services import booking_create
from clinics.models import Area, Audience, CaseKind, CaseType, ClinicRelation, RelationSource
from clinics.services import appointment_type_save, case_type_activate, case_type_deactivate
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
    an admitted resident's request has just filled the cache (rows and the clinic's side of the
    gate) for the same window; and a resident who stops being admitted gets nothing at once,
    with no change to the clinic to bump its version."""
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(audience=Audience.RELATED)
    relation = ClinicRelation.objects.create(
        resident=resident, clinic=clinic, on_start_page=True, source=RelationSource.START_PAGE
    )
    client.force_login(resident)
    assert _listed(client, clinic, appointment_type) == [s.pk for s in two_slots]

    outsider = Client()
    outsider.force_login(ResidentFactory())
    assert _listed(outsider, clinic, appointment_type) == []

    relation.on_start_page = False
    relation.save()
    assert _listed(client, clinic, appointment_type) == []


def test_a_resident_of_another_region_never_gets_the_list_a_home_resident_cached(
    client, clinic, appointment_type, two_slots
):
    """R-CASE-2: the case type's area is cached with the clinic; the resident's home region is
    read from the resident on every request."""
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(area=Area.REGION)
    home = ResidentFactory(home_region_code=clinic.region.code)
    client.force_login(home)
    assert _listed(client, clinic, appointment_type) == [s.pk for s in two_slots]

    elsewhere = Client()
    elsewhere.force_login(ResidentFactory(home_region_code="25"))
    assert _listed(elsewhere, clinic, appointment_type) == []


def test_closing_the_case_type_empties_the_cached_list_when_it_commits(
    reader, clinic, appointment_type, two_slots, local_admin, django_capture_on_commit_callbacks
):
    """The clinic's side of the gate is cached beside the rows; a local admin's change to the
    case type bumps the version, so the next reader sees the case type as it is now."""
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]
    book = CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK)
    with django_capture_on_commit_callbacks(execute=True):
        case_type_deactivate(actor=local_admin, case_type=book)
    assert _listed(reader, clinic, appointment_type) == []

    with django_capture_on_commit_callbacks(execute=True):
        case_type_activate(actor=local_admin, case_type=book)
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]


def test_hiding_the_type_empties_the_cached_list_when_it_commits(
    reader, clinic, appointment_type, two_slots, local_admin, django_capture_on_commit_callbacks
):
    """R-TYPE-5: a type hidden from residents is not offered from the cached gate either."""
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]
    with django_capture_on_commit_callbacks(execute=True):
        appointment_type_save(actor=local_admin, clinic=clinic, instance=appointment_type, hidden_for_patient=True)
    assert _listed(reader, clinic, appointment_type) == []


def test_a_shorter_notice_or_fewer_days_ahead_apply_at_once_when_they_commit(
    reader, clinic, appointment_type, resource, local_admin, django_capture_on_commit_callbacks
):
    """R-POL-1 and R-VIS-1 come from the cached type: a change to either bumps the version."""
    soon = SlotFactory(
        appointment_type=appointment_type, resource=resource, start=timezone.now() + dt.timedelta(hours=3)
    )
    later = SlotFactory(
        appointment_type=appointment_type, resource=resource, start=timezone.now() + dt.timedelta(days=5)
    )
    assert _listed(reader, clinic, appointment_type) == [soon.pk, later.pk]

    with django_capture_on_commit_callbacks(execute=True):
        appointment_type_save(actor=local_admin, clinic=clinic, instance=appointment_type, booking_notice_hours=24)
    assert _listed(reader, clinic, appointment_type) == [later.pk]

    with django_capture_on_commit_callbacks(execute=True):
        appointment_type_save(actor=local_admin, clinic=clinic, instance=appointment_type, visibility_days=2)
    assert _listed(reader, clinic, appointment_type) == []


def test_a_type_of_another_clinic_is_not_found_even_when_its_gate_is_cached(reader, clinic, other_clinic, two_slots):
    """The cached gate is the clinic's own: the same type asked of another clinic is a 404."""
    appointment_type = two_slots[0].appointment_type
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]
    response = reader.get(f"/api/v1/clinics/{other_clinic.pk}/free-times/", {"type": appointment_type.pk})
    assert response.status_code == 404


def test_a_later_first_day_of_the_window_is_served_from_its_own_list(reader, clinic, appointment_type, resource):
    """The stored list is cut at its end for the type's days, but a later first day is another
    list: MAX_SLOTS rows from the earlier day would hide the later day's times."""
    today = timezone.localdate()
    day_after = SlotFactory(
        appointment_type=appointment_type,
        resource=resource,
        start=timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=2), dt.time(10))),
    )
    tomorrow = SlotFactory(
        appointment_type=appointment_type,
        resource=resource,
        start=timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(10))),
    )
    asked = {"type": appointment_type.pk, "date_to": (today + dt.timedelta(days=3)).isoformat()}
    path = f"/api/v1/clinics/{clinic.pk}/free-times/"
    assert [r["id"] for r in reader.get(path, asked).json()] == [tomorrow.pk, day_after.pk]
    later = {**asked, "date_from": (today + dt.timedelta(days=2)).isoformat()}
    assert [r["id"] for r in reader.get(path, later).json()] == [day_after.pk]
    shorter = {**asked, "date_to": (today + dt.timedelta(days=1)).isoformat()}
    assert [r["id"] for r in reader.get(path, shorter).json()] == [tomorrow.pk]


def test_with_the_cache_down_the_list_comes_from_the_database(reader, clinic, appointment_type, two_slots, settings):
    """R-OPS-1: no cache, no error; every read asks the database, so it is never stale either."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]
    Slot.objects.filter(pk=two_slots[0].pk).update(is_published=False)
    assert _listed(reader, clinic, appointment_type) == [two_slots[1].pk]


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


@pytest.mark.parametrize("query", ["type=7", "type=007", "type=7&date_from=", "type=٧", "type=7.0", "type= 7", "type="])
def test_the_plain_query_is_read_as_the_serializer_reads_it_or_left_to_it(query):
    """The common query (``type`` alone, ASCII digits) skips the serializer; anything else goes
    through it, so its answers and error messages stay the serializer's."""
    from django.http import QueryDict

    from schedules.api import FreeTimesQuery, _plain_query

    params = QueryDict(query)
    plain = _plain_query(params)
    serializer = FreeTimesQuery(data=params)
    if plain is None:
        assert query not in ("type=7", "type=007")
    else:
        assert serializer.is_valid() and plain == serializer.validated_data


def test_a_cache_that_lost_everything_never_lets_this_process_serve_its_own_copy(
    reader, clinic, appointment_type, two_slots
):
    """This process keeps a copy of what it served, under the version it had. A cache that
    restarted empty has no version: a new one starts at a random point, so the copy, made
    before a change the lost version would have counted, is not served after it."""
    assert _listed(reader, clinic, appointment_type) == [s.pk for s in two_slots]
    cache.clear()
    Slot.objects.filter(pk=two_slots[0].pk).update(is_published=False)
    assert _listed(reader, clinic, appointment_type) == [two_slots[1].pk]


def test_this_process_keeps_at_most_its_bound_of_rows():
    """The least recently used copies go first once the bound is passed."""
    rows = free_times.JsonRows.of([(timezone.now(), b"x" * 100)])
    local = free_times._LocalEntries(max_bytes=300)
    for name in "abc":
        local.put(name, 1, rows)
    assert local.get("a", 1) is free_times.MISSING
    assert local.get("b", 1) is rows and local.get("c", 1) is rows
    assert local.get("c", 2) is free_times.MISSING


def test_a_bump_of_clinics_versions_is_one_round_trip_to_redis_and_a_lost_one_starts_at_random(
    clinic, other_clinic, monkeypatch
):
    from django.core.cache import caches
    from redis.connection import AbstractConnection

    from core.cache import FailOpenRedisCache

    if not isinstance(caches["default"], FailOpenRedisCache):
        pytest.skip("counts round trips to Redis")
    cache.delete(free_times._version_key(other_clinic.pk))
    before = free_times.current_version(clinic.pk)
    assert before is not None
    sends: list[object] = []
    real = AbstractConnection.send_packed_command

    def counted(self, *args, **kwargs):
        sends.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)

    free_times.invalidate([clinic.pk, other_clinic.pk])

    assert len(sends) == 1
    monkeypatch.undo()
    assert free_times.current_version(clinic.pk) == before + 1
    # Not 1: a lost counter never walks back through versions lists were cached under.
    lost = free_times.current_version(other_clinic.pk)
    assert lost is not None and lost > 1


def test_a_window_of_the_stored_rows_is_exactly_the_json_array_of_the_rows_inside_it():
    """JsonRows.array cuts the one stored byte string at two offsets: every cut, at either end,
    at a row's own start or between two, is the array the rows inside it make alone."""
    base = timezone.now().replace(microsecond=0)
    rows = [(base + dt.timedelta(minutes=10 * i), b'{"id":%d,"name":"\xc3\x85sa"}' % i) for i in range(5)]
    stored = free_times.JsonRows.of(rows)
    cuts = [base + dt.timedelta(minutes=m) for m in (-5, 0, 5, 10, 25, 40, 45)]
    for after in cuts:
        for before in [None, *cuts]:
            inside = [r for s, r in rows if s > after and (before is None or s < before)]
            served = stored.array(after=after, before=before)
            assert type(served) is bytes
            assert served == b"[" + b",".join(inside) + b"]"


def test_a_read_served_from_the_cache_is_byte_for_byte_the_read_that_loaded_it(
    reader, clinic, appointment_type, two_slots
):
    path = f"/api/v1/clinics/{clinic.pk}/free-times/"
    loaded = reader.get(path, {"type": appointment_type.pk})
    free_times.local_entries.clear()  # the next read takes the shared copy, then this process's own
    shared = reader.get(path, {"type": appointment_type.pk})
    local = reader.get(path, {"type": appointment_type.pk})

    assert loaded.status_code == shared.status_code == local.status_code == 200
    assert loaded.content == shared.content == local.content
    assert [row["id"] for row in loaded.json()] == [s.pk for s in two_slots]
    for response in (shared, local):
        assert response["Content-Type"] == loaded["Content-Type"] == "application/json"
        assert response.get("Allow") == loaded.get("Allow")
