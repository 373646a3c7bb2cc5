"""R-OPS-5: the Celery worker survives its broker going away and coming back.

A real worker process on the test's own redis-server: the broker is stopped (and, in the
second case, killed) while the worker runs, started again on the same port, and a task sent
afterwards still runs. What is asserted is in the database: the slot the task publishes.
"""

from __future__ import annotations

import pytest

from schedules.models import Slot
from schedules.tasks import slots_publish
from tests.factories import SlotFactory

from .procs import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _published(slot: Slot) -> bool:
    return Slot.objects.filter(pk=slot.pk, is_published=True).exists()


def _round_trip(worker, slot: Slot) -> None:
    mark = worker.mark()
    slots_publish.delay([slot.pk])
    worker.wait_for_task("schedules.tasks.slots_publish", after=mark)
    assert _published(slot)


@pytest.mark.parametrize("outage", ["stop", "kill"])
def test_worker_runs_tasks_after_the_broker_restarts(app_on_redis, celery_worker, appointment_type, outage):
    redis = app_on_redis
    before, after = (SlotFactory(appointment_type=appointment_type, is_published=False) for _ in range(2))
    # The command production runs (prefork, mingle, gossip, heartbeats): the pool child and the
    # start-up handshake must survive the reconnect as well.
    worker = celery_worker(redis_url=redis.url(), pool="prefork", args=["--concurrency=1"], lean=False)
    _round_trip(worker, before)

    mark = worker.mark()
    redis.stop() if outage == "stop" else redis.kill()
    worker.wait_for_line(r"(?i)connection to broker lost|cannot connect to redis", after=mark)
    mark = worker.mark()
    redis.start()
    worker.wait_for_line(r"Connected to redis://", after=mark)
    # A second outage while the worker is still re-establishing (its mingle handshake).
    mark = worker.mark()
    redis.stop() if outage == "stop" else redis.kill()
    redis.start()
    worker.wait_for_line(r"mingle: (all alone|sync complete)", after=mark)

    assert worker.running(), worker.tail()
    _round_trip(worker, after)
    assert Slot.objects.filter(pk__in=[before.pk, after.pk], is_published=True).count() == 2


def test_worker_started_while_the_broker_is_down_waits_for_it(redis_server, app_on_redis, worker_env):
    """A worker (re)started by its supervisor during an outage keeps trying instead of exiting."""
    from .procs import CeleryWorker

    redis_server.stop()
    worker = CeleryWorker(worker_env(redis_url=redis_server.url()))
    worker.spawn()
    try:
        worker.wait_for_line(r"(?i)cannot connect to redis")
        redis_server.start()
        worker.wait_for_line(r"\bready\.$")
        wait_until(worker.running, what="the worker to keep running")
    finally:
        worker.terminate()
