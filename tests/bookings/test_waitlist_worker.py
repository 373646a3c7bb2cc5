"""R-WAIT-3 with real Celery processes: the beat's periodic sweep, run by a real worker, ends an
offer that ran out and gives the time to the next in line. No countdown task is ever sent, so
the sweep alone does it (a lost task delays nothing)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.db import connection
from django.utils import timezone

from bookings.models import OfferState, WaitlistOffer
from bookings.services import waitlist_offer_freed_slots
from clinics.models import FreedTimes

from ..core.test_celery_worker import ROOT, real_broker, start_worker, wait_for  # noqa: F401 - fixtures
from ..factories import SlotFactory, WaitlistEntryFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def start_beat(tmp_path):
    processes: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "TIDBOK_OFFER_SWEEP_SECONDS": "1",
        }
        cmd = [sys.executable, "-m", "celery", "-A", "tidbok", "beat", "--loglevel=INFO"]
        cmd += ["--schedule", str(tmp_path / "beat-schedule")]
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=20)


def test_r_wait_3_the_beat_sweep_on_a_real_worker_passes_an_expired_offer_to_the_next(
    real_broker,  # noqa: F811 - the fixture imported above
    start_worker,  # noqa: F811
    start_beat,
    appointment_type,
    resource,
):
    appointment_type.freed_times = FreedTimes.WAITLIST
    appointment_type.save()
    first, second = (
        WaitlistEntryFactory(clinic=appointment_type.clinic, appointment_type=appointment_type) for _ in range(2)
    )
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, is_published=False)
    assert waitlist_offer_freed_slots(slot_ids=[slot.pk]) == 1
    offer = WaitlistOffer.objects.get(slot=slot)
    assert offer.entry == first
    WaitlistOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    worker = start_worker()
    start_beat()
    passed_on = wait_for(
        lambda: WaitlistOffer.objects.filter(slot=slot, entry=second, state=OfferState.ACTIVE).exists()
    )
    if not passed_on:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
        pytest.fail(f"the sweep did not pass the offer on; the worker's output:\n{output[-4000:]}")

    assert WaitlistOffer.objects.get(pk=offer.pk).state == OfferState.EXPIRED
