"""A real Celery worker against Redis: a resident cancels, the worker republishes the slot, and
another resident is offered it (R-PUB-1, R-PUB-3, R-BOOK-6)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from bookings.services import booking_cancel, booking_create
from schedules.models import Slot
from schedules.selectors import offered_slots
from tidbok.celery import app as celery_app

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def real_broker():
    """Send tasks to Redis instead of running them inline; drop anything left from earlier runs."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "this test needs REDIS_URL"
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    yield


@pytest.fixture
def start_worker():
    processes: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DB_CONN_MAX_AGE": "0",
        }
        cmd = [sys.executable, "-m", "celery", "-A", "tidbok", "worker", "--pool=solo", "--loglevel=INFO"]
        cmd += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(predicate, timeout: float = 45.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def test_worker_republishes_a_cancelled_slot_for_the_next_resident(
    real_broker, start_worker, slot, resident, other_resident
):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    assert not offered_slots(clinic=slot.clinic, appointment_type=slot.appointment_type, resident=other_resident)

    booking_cancel(actor=resident, booking_id=booking.pk)

    # Appearing is the worker's job (R-PUB-3): until it runs, the freed time is not offered.
    assert Slot.objects.get(pk=slot.pk).is_published is False
    assert slot not in offered_slots(
        clinic=slot.clinic, appointment_type=slot.appointment_type, resident=other_resident
    )

    worker = start_worker()
    published = wait_for(lambda: Slot.objects.get(pk=slot.pk).is_published)
    if not published:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
        pytest.fail(f"the worker did not publish the slot; its output:\n{output[-4000:]}")

    offered = offered_slots(clinic=slot.clinic, appointment_type=slot.appointment_type, resident=other_resident)
    assert list(offered) == [Slot.objects.get(pk=slot.pk)]
    assert booking_create(resident=other_resident, slot_id=slot.pk).resident == other_resident


def test_every_beat_entry_names_a_registered_task():
    celery_app.loader.import_default_modules()
    for name, entry in celery_app.conf.beat_schedule.items():
        assert entry["task"] in celery_app.tasks, name
