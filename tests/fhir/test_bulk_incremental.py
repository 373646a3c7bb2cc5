"""The SMART bulk files are refreshed incrementally (R-PUB): a Slot part holds an id range, a
refresh rewrites only the parts whose slots changed, and it runs as a walk of short steps (one
task per part) that a killed or redelivered task neither breaks nor repeats."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from fhir import bulk, bulk_slots, tasks
from fhir.models import BulkPublishFile, BulkPublishPart
from schedules.models import Slot, SlotStatus

from ..factories import SlotFactory, tomorrow_at
from .bulk_support import PART, bulk_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_bulk_parts")]


@pytest.fixture
def world() -> dict[str, Any]:
    return bulk_world(6)


def _slot_parts() -> dict[int, tuple[str, list[str]]]:
    """Each Slot part's number: its text and the ids of its lines."""
    parts = BulkPublishPart.objects.filter(file__resource_type="Slot").order_by("first_id")
    return {p.number: (p.ndjson, [json.loads(line)["id"] for line in p.ndjson.splitlines()]) for p in parts}


def _all_ids(client) -> list[str]:
    manifest = client.get("/fhir/r4/$bulk-publish").json()
    return [
        json.loads(line)["id"]
        for output in manifest["output"]
        if output["type"] == "Slot"
        for line in client.get(output["url"]).content.decode().splitlines()
    ]


def _part_writes() -> tuple[list[int], Any]:
    """The ids of the part rows whose text is written (UPDATE) or made (INSERT, as -1) while the
    wrapper is installed; a part's fingerprint alone may be brought up to date."""
    written: list[int] = []

    def watch(execute, sql, params, many, context):
        if sql.startswith('UPDATE "fhir_bulkpublishpart"') and '"ndjson"' in sql:
            written.append(params[-1])
        elif sql.startswith('INSERT INTO "fhir_bulkpublishpart"'):
            written.append(-1)
        return execute(sql, params, many, context)

    return written, watch


def test_a_changed_slot_is_rewritten_in_its_own_part_and_no_other_part_is_written(world):
    bulk.refresh()
    before = _slot_parts()
    slot_part = {p.number: p.pk for p in BulkPublishPart.objects.filter(file__resource_type="Slot")}
    booked = world["slots"][3]  # the second line of the second part
    Slot.objects.filter(pk=booked.pk).update(status=SlotStatus.BOOKED)

    written, watch = _part_writes()
    with connection.execute_wrapper(watch):
        bulk.refresh()

    after = _slot_parts()
    assert [n for n in after if after[n] != before[n]] == [2]
    assert [pk for pk in written if pk in slot_part.values()] == [slot_part[2]]
    changed = {json.loads(line)["id"]: json.loads(line)["status"] for line in after[2][0].splitlines()}
    assert changed[str(booked.pk)] == "busy"
    assert sum(ids.count(str(booked.pk)) for _text, ids in after.values()) == 1


def test_a_refresh_with_nothing_changed_writes_no_slot_part(world):
    bulk.refresh()
    slot_parts = set(BulkPublishPart.objects.filter(file__resource_type="Slot").values_list("pk", flat=True))

    written, watch = _part_writes()
    with connection.execute_wrapper(watch):
        bulk.refresh()

    assert not slot_parts & set(written)


def test_new_slots_go_into_new_parts_at_the_end_and_the_earlier_parts_keep_their_text(client, world):
    bulk.refresh()
    before = _slot_parts()
    more = [
        SlotFactory(appointment_type=world["type"], resource=world["resource"], start=tomorrow_at(7 + n, days=2))
        for n in range(3)
    ]

    bulk.refresh()

    after = _slot_parts()
    assert {n: after[n] for n in before} == before  # earlier in time, but later ids: at the end
    new_parts = [ids for n, (_text, ids) in after.items() if n not in before]
    assert new_parts == [[str(more[0].pk), str(more[1].pk)], [str(more[2].pk)]]
    ids = _all_ids(client)
    assert sorted(ids, key=int) == sorted([str(s.pk) for s in world["slots"] + more], key=int)
    assert len(ids) == len(set(ids))
    assert max(len(ids) for _text, ids in after.values()) <= PART


def test_a_step_delivered_again_after_it_committed_does_nothing(client, world):
    bulk.refresh()  # three parts of two
    Slot.objects.filter(pk=world["slots"][0].pk).update(status=SlotStatus.BOOKED)
    token = bulk.walk_start(take_over=True, queue=False)
    assert token is not None
    first = bulk.walk_step(token, 0, queue=False)
    assert first is not None and first.written and first.next_id is not None
    parts = _slot_parts()

    assert bulk.walk_step(token, 0, queue=False) is None  # the same step again: already done
    assert _slot_parts() == parts
    low: int | None = first.next_id
    while low is not None:
        step = bulk.walk_step(token, low, queue=False)
        assert step is not None
        low = step.next_id
    assert bulk.walk_step(token, first.next_id, queue=False) is None  # a step of a walk that ended

    ids = _all_ids(client)
    assert sorted(ids, key=int) == [str(s.pk) for s in world["slots"]]


def test_a_step_killed_half_way_leaves_nothing_and_its_retry_writes_each_line_once(client, world, monkeypatch):
    bulk.refresh()
    Slot.objects.filter(pk__in=[s.pk for s in world["slots"]]).update(status=SlotStatus.HELD)
    token = bulk.walk_start(take_over=True, queue=False)
    assert token is not None
    parts = _slot_parts()
    real = bulk_slots.builders.slot_resource
    calls: list[int] = []

    def dies_on_the_second_line(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("the worker was killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_slots.builders, "slot_resource", dies_on_the_second_line)
    with pytest.raises(SystemExit):
        bulk.walk_step(token, 0, queue=False)
    assert _slot_parts() == parts  # the step's transaction never committed

    monkeypatch.setattr(bulk_slots.builders, "slot_resource", real)
    low: int | None = 0
    while low is not None:
        step = bulk.walk_step(token, low, queue=False)
        assert step is not None
        low = step.next_id

    ids = _all_ids(client)
    assert sorted(ids, key=int) == [str(s.pk) for s in world["slots"]]
    assert {json.loads(text)["status"] for text, _ids in _slot_parts().values() for text in text.splitlines()} == {
        "busy"
    }


def test_the_worker_runs_one_short_task_per_part_through_the_outbox(client, world, django_capture_on_commit_callbacks):
    bulk.refresh()  # three parts of two
    Slot.objects.filter(pk=world["slots"][5].pk).update(status=SlotStatus.BOOKED)
    steps: list[tuple[str, int]] = []
    real = bulk.walk_step

    def counted(token: str, low: int, **kwargs):
        steps.append((token, low))
        return real(token, low, **kwargs)

    with mock.patch.object(bulk, "walk_step", counted), django_capture_on_commit_callbacks(execute=True):
        tasks.bulk_publish_refresh()

    slots = world["slots"]
    assert [low for _token, low in steps] == [0, slots[2].pk, slots[4].pk]  # one task a part
    assert len({token for token, _low in steps}) == 1
    ids = _all_ids(client)
    assert sorted(ids, key=int) == [str(s.pk) for s in world["slots"]]
    stored = BulkPublishFile.objects.get(resource_type="Slot")
    assert stored.walk == "" and stored.generated_at == stored.walk_at

    # A step task delivered again once the walk is over changes nothing.
    text = _slot_parts()
    assert tasks.bulk_publish_step(*steps[1]) is None
    assert _slot_parts() == text


def test_the_manifest_keeps_the_last_walks_time_until_a_walk_is_done(client, world):
    bulk.refresh()
    done = client.get("/fhir/r4/$bulk-publish").json()["transactionTime"]
    Slot.objects.filter(pk=world["slots"][0].pk).update(status=SlotStatus.BOOKED)
    token = bulk.walk_start(now=timezone.now(), take_over=True, queue=False)
    assert token is not None
    step = bulk.walk_step(token, 0, queue=False)

    assert step is not None and step.written
    # Mid-walk: a `_since` client that takes this instant still gets the line just written.
    assert client.get("/fhir/r4/$bulk-publish").json()["transactionTime"] == done
    changed = client.get("/fhir/r4/$bulk-publish/Slot.ndjson", {"_since": done}).content.decode().splitlines()
    assert [json.loads(line)["id"] for line in changed] == [str(world["slots"][0].pk)]
