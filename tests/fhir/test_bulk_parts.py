"""The SMART bulk files are stored and served in parts of at most TIDBOK_BULK_PART_LINES lines
(R-PUB): a file of every Slot in one value outgrew PostgreSQL's 1 GB limit for a field. The
manifest lists each part as an output of its type (FHIR Bulk Data allows several), the first
part keeps the URL the file had, and ``_since`` and the ``deleted`` files work across parts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from fhir import bulk
from fhir.models import BulkPublishPart
from schedules.models import Slot, SlotStatus

from ..factories import SlotFactory, tomorrow_at
from .bulk_support import PART, bulk_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_bulk_parts")]


@pytest.fixture
def world() -> dict[str, Any]:
    return bulk_world(5)


def _manifest(client, since: str | None = None) -> dict[str, Any]:
    response = client.get("/fhir/r4/$bulk-publish", {"_since": since} if since else {})
    assert response.status_code == 200, response.content[:300]
    return response.json()


def _lines(client, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return [json.loads(line) for line in response.content.decode().splitlines()]


def _slot_lines(client, since: str | None = None) -> list[dict[str, Any]]:
    """Every Slot line the manifest leads to, part after part."""
    return [
        line
        for output in _manifest(client, since)["output"]
        if output["type"] == "Slot"
        for line in _lines(client, output["url"])
    ]


def test_a_refresh_with_a_small_part_size_writes_several_parts_that_the_manifest_lists(client, world):
    """R-PUB: five slots in parts of two are three parts, listed in order; every slot is in
    exactly one of them; the first part keeps the file's old URL."""
    counts = bulk.refresh()

    outputs = _manifest(client)["output"]
    slot_urls = [o["url"] for o in outputs if o["type"] == "Slot"]
    assert counts["Slot"] == 5
    assert [o["type"] for o in outputs] == ["Location", "Schedule", "Slot", "Slot", "Slot"]
    assert slot_urls == [
        "http://testserver/fhir/r4/$bulk-publish/Slot.ndjson",
        "http://testserver/fhir/r4/$bulk-publish/Slot.2.ndjson",
        "http://testserver/fhir/r4/$bulk-publish/Slot.3.ndjson",
    ]
    parts = [[line["id"] for line in _lines(client, url)] for url in slot_urls]
    assert [len(ids) for ids in parts] == [2, 2, 1]
    ids = [rid for part in parts for rid in part]
    assert sorted(ids) == sorted(str(s.pk) for s in world["slots"]) and len(set(ids)) == len(ids)
    assert ids == [str(s.pk) for s in world["slots"]]  # in start order across the parts
    assert _lines(client, "/fhir/r4/$bulk-publish/Slot.1.ndjson") == _lines(client, slot_urls[0])


def test_a_refresh_never_builds_a_value_larger_than_a_part(world):
    """R-PUB: every NDJSON text and index sent to PostgreSQL holds at most a part's lines, and so
    does every stored part."""
    sent: list[int] = []

    def watch(execute, sql, params, many, context):
        for value in params or ():
            inner = getattr(value, "obj", value)  # psycopg's Jsonb wraps the index
            if isinstance(inner, str) and inner.endswith("\n"):
                sent.append(inner.count("\n"))
            elif isinstance(inner, list):
                sent.append(len(inner))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        bulk.refresh()

    assert sent and max(sent) <= PART
    stored = list(BulkPublishPart.objects.filter(file__resource_type="Slot"))
    assert len(stored) == 3
    assert max(part.ndjson.count("\n") for part in stored) <= PART
    assert max(len(part.index) for part in stored) <= PART


def test_since_reaches_across_parts_when_lines_move_between_them(client, world):
    """R-PUB: a new slot at the start pushes every line into another part; only the new and the
    changed lines are newer than ``_since``, wherever they now stand."""
    earlier = timezone.now() - dt.timedelta(minutes=10)
    bulk.refresh(now=earlier)
    first = SlotFactory(appointment_type=world["type"], resource=world["resource"], start=tomorrow_at(8))
    last = world["slots"][-1]
    Slot.objects.filter(pk=last.pk).update(status=SlotStatus.HELD)
    bulk.refresh()
    cut = (earlier + dt.timedelta(minutes=1)).isoformat()

    changed = _slot_lines(client, cut)
    everything = _slot_lines(client)

    assert {s["id"]: s["status"] for s in changed} == {str(first.pk): "free", str(last.pk): "busy"}
    assert len(everything) == 6 and len({s["id"] for s in everything}) == 6
    kept = [s for s in everything if s["id"] not in {str(first.pk), str(last.pk)}]
    assert all(s["meta"]["lastUpdated"] < cut for s in kept)


def test_removals_from_any_part_are_tombstones_and_the_spare_parts_go(client, world):
    """R-PUB: slots leaving the first and the last part are reported as DELETEs after ``_since``;
    the file shrinks to fewer parts, and the part it no longer has is not found."""
    earlier = timezone.now() - dt.timedelta(minutes=10)
    bulk.refresh(now=earlier)
    slots = world["slots"]
    gone = [slots[0], slots[3], slots[4]]
    Slot.objects.filter(pk__in=[s.pk for s in gone]).update(is_published=False)
    bulk.refresh()
    cut = (earlier + dt.timedelta(minutes=1)).isoformat()

    deleted = _manifest(client, cut)["deleted"]
    removed = {
        entry["request"]["url"]
        for item in deleted
        for bundle in _lines(client, item["url"])
        for entry in bundle["entry"]
    }

    assert removed == {f"Slot/{s.pk}" for s in gone}
    assert [s["id"] for s in _slot_lines(client)] == [str(slots[1].pk), str(slots[2].pk)]
    assert [o["url"] for o in _manifest(client)["output"] if o["type"] == "Slot"] == [
        "http://testserver/fhir/r4/$bulk-publish/Slot.ndjson"
    ]
    missing = client.get("/fhir/r4/$bulk-publish/Slot.2.ndjson")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"

    # Published again, they are back in the parts and no longer reported removed.
    Slot.objects.filter(pk__in=[s.pk for s in gone]).update(is_published=True)
    bulk.refresh()
    assert sorted(s["id"] for s in _slot_lines(client)) == sorted(str(s.pk) for s in slots)
    assert _manifest(client, cut)["deleted"] == []


def test_an_empty_file_still_has_its_first_part(client):
    """R-PUB: with nothing published each type is one empty output at its usual URL."""
    bulk.refresh()

    outputs = _manifest(client)["output"]

    assert [o["url"].rsplit("/", 1)[1] for o in outputs] == ["Location.ndjson", "Schedule.ndjson", "Slot.ndjson"]
    assert client.get("/fhir/r4/$bulk-publish/Slot.ndjson").content == b""


def test_the_parts_large_values_are_compressed_with_lz4_on_postgresql():
    """A refresh during a rush rewrites nearly every part; PostgreSQL's default pglz made each
    write about four times slower than lz4, for 8 % less space."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL column's compression")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attname = ANY(%s)",
            [BulkPublishPart._meta.db_table, ["ndjson", "index"]],
        )
        assert dict(cursor.fetchall()) == {"ndjson": "l", "index": "l"}
