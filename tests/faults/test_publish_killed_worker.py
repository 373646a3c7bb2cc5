"""R-OPS-3: a large background publish survives the worker running it being killed.

Real Celery workers on the test's own redis-server and the test database. A publish of a few
thousand times is started; when the database shows it is part-way, the worker is killed with
SIGKILL (the whole worker, or only its pool child, as the OOM killer does). The run is then
resumed by what production has: the beat sweep of stale runs, or the redelivery of the task
message (acks_late + reject_on_worker_lost). What is asserted is in the database: every time of
the schedule exists exactly once, published once, and the schedule says "done".
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
from pathlib import Path

import pytest

from schedules.models import PublishState, Schedule, Slot
from schedules.services import schedule_create, schedule_publish_start

from ..factories import schedule_pattern
from .procs import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Small batches, so the run is part-way for a good while and is killed between or inside them.
BATCH = "20"


def start_large_publish(scheduler, resource, appointment_type) -> Schedule:
    """Six weeks, every day 08:00–20:00 in 5-minute times: 6,048 times, published in a worker."""
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type, days=42, day_end=dt.time(20), slot_minutes=5),
    )
    assert schedule_publish_start(actor=scheduler, schedule=schedule) is None
    schedule.refresh_from_db()
    assert (schedule.publish_state, schedule.publish_total) == (PublishState.QUEUED, 6048)
    return schedule


def progress(schedule: Schedule) -> tuple[str, int]:
    row = Schedule.objects.values_list("publish_state", "publish_done").get(pk=schedule.pk)
    return row[0], row[1]


def part_way(schedule: Schedule) -> bool:
    state, done = progress(schedule)
    assert state != PublishState.DONE, "the run finished before the worker could be killed"
    return state == PublishState.RUNNING and done >= 400


def published_so_far(schedule: Schedule) -> dict[int, dt.datetime | None]:
    return dict(Slot.objects.filter(schedule=schedule).values_list("pk", "published_at"))


def assert_every_time_once_and_published_once(schedule: Schedule, before_kill: dict[int, dt.datetime | None]) -> None:
    schedule.refresh_from_db()
    assert (schedule.publish_state, schedule.publish_done) == (PublishState.DONE, schedule.publish_total)
    slots = list(Slot.objects.filter(resource=schedule.resource).order_by("start"))
    assert len(slots) == schedule.publish_total == 6048
    assert len({slot.start for slot in slots}) == len(slots)
    for earlier, later in itertools.pairwise(slots):
        assert earlier.end <= later.start
    assert all(slot.schedule_id == schedule.pk and slot.is_published for slot in slots)
    # Published once: the times made before the kill kept the moment they were published.
    after = {slot.pk: slot.published_at for slot in slots if slot.pk in before_kill}
    assert after == before_kill


def pool_children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children.extend(int(child) for child in text)
    return children


def test_a_killed_worker_is_replaced_and_the_beat_sweep_resumes_its_publish(
    app_on_redis, celery_worker, celery_beat, scheduler, resource, appointment_type
):
    redis = app_on_redis.url()
    first = celery_worker(redis_url=redis, TIDBOK_PUBLISH_BATCH_SIZE=BATCH)
    schedule = start_large_publish(scheduler, resource, appointment_type)
    wait_until(lambda: part_way(schedule), what="the publish to be part-way")

    first.kill()  # SIGKILL: no handler runs, the open batch transaction is lost with the connection
    before_kill = published_so_far(schedule)
    state, done = progress(schedule)
    assert state == PublishState.RUNNING and 400 <= done < 6048
    assert len(before_kill) == done  # each committed batch counted exactly what it made

    # A new worker, and beat with the sweep; a run without a heartbeat for 2 s counts as stalled.
    extra = {"TIDBOK_PUBLISH_BATCH_SIZE": BATCH, "TIDBOK_PUBLISH_STALE_SECONDS": "2"}
    second = celery_worker(redis_url=redis, **extra)
    mark = second.mark()
    celery_beat(redis_url=redis, TIDBOK_PUBLISH_SWEEP_SECONDS="1", **extra)
    second.wait_for_line(r"Task schedules\.tasks\.schedule_publish_resume_stale\[[^\]]+\] succeeded .*: 1$", after=mark)
    wait_until(lambda: progress(schedule)[0] == PublishState.DONE, timeout=180, what="the publish to be done")

    assert_every_time_once_and_published_once(schedule, before_kill)
    schedule.refresh_from_db()
    assert schedule.publish_attempts == 2


def test_an_oom_killed_pool_child_gives_its_publish_back_and_the_worker_finishes_it(
    app_on_redis, celery_worker, scheduler, resource, appointment_type
):
    """Only the pool child dies (as under the OOM killer); the worker's main process notices,
    puts the message back (reject_on_worker_lost) and a new child takes the run back at once,
    without waiting for the heartbeat to go stale (the default, 120 s, is left as it is)."""
    worker = celery_worker(
        redis_url=app_on_redis.url(), pool="prefork", args=["--concurrency=1"], TIDBOK_PUBLISH_BATCH_SIZE=BATCH
    )
    [child] = pool_children(worker.pid)
    schedule = start_large_publish(scheduler, resource, appointment_type)
    wait_until(lambda: part_way(schedule), what="the publish to be part-way")

    mark = worker.mark()
    os.kill(child, signal.SIGKILL)
    before_kill = published_so_far(schedule)
    worker.wait_for_line(r"exited with 'signal 9 \(SIGKILL\)'", after=mark)
    worker.wait_for_task("schedules.tasks.schedule_publish_background", after=mark, timeout=180)

    assert worker.running()
    assert child not in pool_children(worker.pid)
    assert_every_time_once_and_published_once(schedule, before_kill)
    schedule.refresh_from_db()
    assert schedule.publish_attempts == 2
