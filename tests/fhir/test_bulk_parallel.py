"""The bulk refresh's walk under real parallel PostgreSQL connections (R-PUB): a step delivered
several times at once is done once, and refreshes started together leave every slot in exactly
one part. Each call runs in its own thread with its own connection, released together."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db import connections

from fhir import bulk
from fhir.models import BulkPublishPart
from schedules.models import Slot, SlotStatus

from .bulk_support import PART, bulk_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("small_bulk_parts")]


@pytest.fixture
def slots() -> list[Slot]:
    return bulk_world(6)["slots"]


def _together(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as exc:  # reported by the assertions
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _lines() -> list[dict[str, Any]]:
    parts = BulkPublishPart.objects.filter(file__resource_type="Slot").order_by("first_id")
    return [json.loads(line) for part in parts for line in part.ndjson.splitlines()]


def test_a_step_delivered_four_times_at_once_is_done_once(slots):
    bulk.refresh()
    Slot.objects.filter(pk=slots[0].pk).update(status=SlotStatus.BOOKED)
    token = bulk.walk_start(take_over=True, queue=False)
    assert token is not None

    results = _together([lambda: bulk.walk_step(token, 0, queue=False)] * 4)

    done = [r for r in results if r is not None]
    assert len(done) == 1 and done[0].written, results
    assert sum(1 for line in _lines() if line["id"] == str(slots[0].pk)) == 1


def test_refreshes_started_together_leave_each_slot_in_exactly_one_part(slots):
    bulk.refresh()
    Slot.objects.filter(pk__in=[s.pk for s in slots[::2]]).update(status=SlotStatus.BOOKED)

    results = _together([bulk.refresh] * 3)

    assert not [r for r in results if isinstance(r, Exception)], results
    lines = _lines()
    assert sorted(int(line["id"]) for line in lines) == [s.pk for s in slots]
    assert {line["id"]: line["status"] for line in lines} == {
        str(s.pk): "busy" if n % 2 == 0 else "free" for n, s in enumerate(slots)
    }
    assert max(len(p.index) for p in BulkPublishPart.objects.filter(file__resource_type="Slot")) <= PART
