"""A walk's step builds at most TIDBOK_BULK_PART_LINES lines (R-PUB): a part whose id range holds
more published slots (the whole file, the first time) is cut before its rows are read, the step
builds the first part's worth, and the lines past the cut move as they are into a new part that
the walk's next step examines. No slot is in two parts or in none meanwhile, a line's lastUpdated
survives the move, and only a slot that left the file becomes a tombstone."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from fhir import builders, bulk, bulk_slots
from fhir.models import BulkPublishFile, BulkPublishPart
from schedules.models import Slot

from .bulk_support import PART, bulk_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_bulk_parts")]

SLOTS = 7  # four parts of two


@pytest.fixture
def world() -> dict[str, Any]:
    return bulk_world(SLOTS)


def _parts() -> list[list[dict[str, Any]]]:
    """Each Slot part's lines, in id order of the parts."""
    parts = BulkPublishPart.objects.filter(file__resource_type="Slot").order_by("first_id")
    return [[json.loads(line) for line in part.ndjson.splitlines()] for part in parts]


def _ids(parts: list[list[dict[str, Any]]]) -> list[str]:
    return [line["id"] for part in parts for line in part]


def _built_per_step(monkeypatch) -> tuple[list[int], list[bulk_slots.StepResult]]:
    """Run one walk step by step; the Slot resources each step built and what each returned."""
    built: list[int] = []
    real = bulk_slots.builders.slot_resource

    def counted(*args, **kwargs):
        built[-1] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_slots.builders, "slot_resource", counted)
    token = bulk.walk_start(take_over=True, queue=False)
    assert token is not None
    results: list[bulk_slots.StepResult] = []
    low: int | None = 0
    while low is not None:
        built.append(0)
        step = bulk.walk_step(token, low, queue=False)
        assert step is not None
        results.append(step)
        low = step.next_id
    return built, results


def test_the_first_refresh_builds_a_part_per_step_and_each_slot_lands_in_exactly_one_part(monkeypatch, world):
    built, results = _built_per_step(monkeypatch)

    assert len(results) == 4  # seven slots in parts of two: one step a part, not one for all
    assert built == [2, 2, 2, 1]
    assert max(step.lines for step in results) <= PART
    parts = _parts()
    assert [len(part) for part in parts] == [2, 2, 2, 1]
    assert _ids(parts) == [str(s.pk) for s in world["slots"]]
    assert BulkPublishFile.objects.get(resource_type="Slot").deleted == []


def test_mid_walk_the_lines_past_the_cut_are_in_the_new_part_and_nowhere_else(settings, world):
    settings.TIDBOK_BULK_PART_LINES = 100
    bulk.refresh()  # one part with every line
    settings.TIDBOK_BULK_PART_LINES = PART
    token = bulk.walk_start(take_over=True, queue=False)
    assert token is not None

    first = bulk.walk_step(token, 0, queue=False)

    assert first is not None and first.lines == PART
    slots = world["slots"]
    assert first.next_id == slots[PART].pk  # the next step does the new part
    parts = _parts()
    assert [len(part) for part in parts] == [PART, SLOTS - PART]
    assert _ids(parts) == [str(s.pk) for s in slots]
    moved = BulkPublishPart.objects.get(file__resource_type="Slot", first_id=slots[PART].pk)
    assert moved.fingerprint == "" and moved.number == 2


def test_a_line_moved_by_a_cut_keeps_its_last_updated_and_no_slot_still_published_is_a_tombstone(settings, world):
    earlier = timezone.now() - dt.timedelta(minutes=10)
    settings.TIDBOK_BULK_PART_LINES = 100
    bulk.refresh(now=earlier)
    before = {line["id"]: line for line in _ids_and_lines()}
    settings.TIDBOK_BULK_PART_LINES = PART
    gone = world["slots"][5]  # past the first cut: its line moves before it is examined
    Slot.objects.filter(pk=gone.pk).update(is_published=False)

    bulk.refresh()

    parts = _parts()
    assert [len(part) for part in parts] == [2, 2, 2]
    after = {line["id"]: line for part in parts for line in part}
    assert set(after) == {str(s.pk) for s in world["slots"]} - {str(gone.pk)}
    assert all(after[rid] == before[rid] for rid in after)  # lastUpdated and all
    deleted = BulkPublishFile.objects.get(resource_type="Slot").deleted
    assert [entry[0] for entry in deleted] == [str(gone.pk)]


def _ids_and_lines() -> list[dict[str, Any]]:
    return [line for part in _parts() for line in part]


def test_a_bulk_line_is_the_slot_resource_built_from_the_model(settings, world):
    """The bulk file builds its lines from plain rows, the booking link reversed once per step;
    each is still the resource the read endpoint builds from the model, lastUpdated aside."""
    bulk.refresh()

    lines = _ids_and_lines()
    assert len(lines) == SLOTS
    for line in lines:
        slot = Slot.objects.select_related("clinic").get(pk=line["id"])
        built = builders.slot_resource(slot, settings.TIDBOK_PUBLIC_URL, slot.clinic.phone)
        assert {k: v for k, v in line.items() if k != "meta"} == built
    link = lines[0]["extension"][0]["valueUrl"]
    assert link == builders.booking_link(settings.TIDBOK_PUBLIC_URL, world["slots"][0])
