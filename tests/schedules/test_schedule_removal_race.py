"""R-OPS-3, R-PUB-2: taking the type off a schedule while a background publish batch is making
its times, on two real PostgreSQL connections.

The batch holds the schedule's row lock while it inserts; the removal is started while the
batch's times are inserted but not yet committed. The removal must wait for the batch and take
its times with it: no free time of a removed type may stay on the web. The removal locks the
schedule itself, whichever caller (page, API) asks, so the service is called here directly.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from schedules.models import PublishState, Schedule, Slot, SlotStatus
from schedules.services import (
    schedule_create,
    schedule_publish_run,
    schedule_publish_start,
    schedule_publishing,
    schedule_remove_type,
)

from ..factories import schedule_pattern

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30  # seconds; only a hung test ever waits this long


def _backend_waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.fixture
def queued(scheduler, resource, appointment_type, settings, monkeypatch) -> Schedule:
    """A small schedule queued for the background publish (as a large one would be)."""
    monkeypatch.setattr(schedule_publishing, "PUBLISH_IN_BACKGROUND_OVER", 0)
    monkeypatch.setattr(schedule_publishing, "_publish_enqueue", lambda schedule_id: None)  # the test runs it
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type, days=2),
    )
    settings.TIDBOK_PUBLISH_BATCH_SIZE = 100  # one batch: all 8 times
    assert schedule_publish_start(actor=scheduler, schedule=schedule) is None
    return schedule


def test_a_removal_during_a_publish_batch_waits_for_it_and_removes_its_times(queued, scheduler, monkeypatch):
    inserted = threading.Event()  # the batch's times are in, its transaction still open
    removal_blocked = threading.Event()  # the removal is waiting on a lock
    removal_pid: list[int] = []
    outcome: dict[str, object] = {}
    real_insert = schedule_publishing._schedule_insert_slots

    def insert_then_hold(schedule, times, **kwargs):
        made = real_insert(schedule, times, **kwargs)
        inserted.set()
        # Keep the batch open until the removal has reached a lock (or, unprotected, done its
        # reading): then commit, as a batch that just took a little longer would.
        removal_blocked.wait(WAIT)
        return made

    monkeypatch.setattr(schedule_publishing, "_schedule_insert_slots", insert_then_hold)

    def publish() -> None:
        try:
            outcome["created"] = schedule_publish_run(schedule_id=queued.pk, task_id="task-1")
        finally:
            connections.close_all()

    def remove() -> None:
        try:
            assert inserted.wait(WAIT)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                removal_pid.append(cursor.fetchone()[0])
            outcome["removed"] = schedule_remove_type(actor=scheduler, schedule=Schedule.objects.get(pk=queued.pk))
        except Exception as exc:  # reported by the assertions below
            outcome["removed"] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish), threading.Thread(target=remove)]
    for thread in threads:
        thread.start()
    assert inserted.wait(WAIT)
    # Poll PostgreSQL until the removal's backend waits on a lock (or has finished).
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and "removed" not in outcome:
        if removal_pid and _backend_waits_on_a_lock(removal_pid[0]):
            break
        time.sleep(0.01)  # the poll's interval, not a guess at an order
    removal_blocked.set()
    for thread in threads:
        thread.join(WAIT)

    assert outcome["created"] == 8
    assert outcome["removed"] == 8, outcome["removed"]  # the batch's times, committed first
    assert not Slot.objects.filter(schedule=queued, status=SlotStatus.FREE).exists()
    queued.refresh_from_db()
    assert queued.removed_at is not None and queued.publish_state == PublishState.DONE


def test_the_removal_locks_the_schedule_before_it_reads_a_slot(scheduler, queued):
    """The order that makes the race above safe, as the statements the service sends."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert schedule_remove_type(actor=scheduler, schedule=queued) == 0
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(control)]
    assert 'FROM "schedules_schedule"' in statements[0] and statements[0].endswith("FOR UPDATE")
    assert schedule_remove_type(actor=scheduler, schedule=queued) is None  # already off: nothing more
