"""R-OPS-3: a background publish survives its worker dying. Progress is committed batch by batch
with a heartbeat; a run whose heartbeat is stale is resumed from its cursor by the beat sweep,
by redelivery of its own task message, or by a scheduler's button (POST, role-checked, audited);
every slot is made once and published once. The real worker killed with SIGKILL is in
tests/faults/test_publish_killed_worker.py; here the death is a BaseException raised between
batches, which, like SIGKILL, runs no handler in the service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Role
from core.errors import PermissionDeniedError
from schedules.models import PublishState, Schedule, Slot
from schedules.services import (
    schedule_create,
    schedule_publish_resume,
    schedule_publish_resume_stale,
    schedule_publish_run,
    schedule_publish_start,
    schedule_publishing,
)
from schedules.tasks import schedule_publish_background
from tidbok.celery import app as celery_app

from ..factories import login_with_second_factor, schedule_pattern, staff

TOTAL = 672  # 14 days × 08:00–16:00 in 10-minute times


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the service handles it."""


def big_schedule(scheduler, resource, appointment_type) -> Schedule:
    return schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type, days=14, day_end=dt.time(16), slot_minutes=10),
    )


@pytest.fixture
def queued(scheduler, resource, appointment_type, settings, django_capture_on_commit_callbacks):
    """A large schedule queued for publishing; the task message is held back (not yet run)."""
    settings.TIDBOK_PUBLISH_BATCH_SIZE = 100
    schedule = big_schedule(scheduler, resource, appointment_type)
    with django_capture_on_commit_callbacks(execute=False):
        assert schedule_publish_start(actor=scheduler, schedule=schedule) is None
    schedule.refresh_from_db()
    assert (schedule.publish_state, schedule.publish_total) == (PublishState.QUEUED, TOTAL)
    return schedule


@pytest.fixture
def dies_after(monkeypatch):
    """``dies_after(n)``: the worker dies right after its n-th batch has committed."""

    def arm(batches: int) -> None:
        real = schedule_publishing._schedule_insert_slots
        calls = {"n": 0}

        def insert(schedule, times, **kwargs):
            calls["n"] += 1
            if calls["n"] > batches:
                raise WorkerKilled
            return real(schedule, times, **kwargs)

        monkeypatch.setattr(schedule_publishing, "_schedule_insert_slots", insert)

    return arm


def run(schedule: Schedule, *, task_id: str = "task-1", capture=None) -> int:
    if capture is None:
        return schedule_publish_run(schedule_id=schedule.pk, task_id=task_id)
    with capture(execute=True):
        return schedule_publish_run(schedule_id=schedule.pk, task_id=task_id)


def killed_run(schedule: Schedule, dies_after, monkeypatch, *, batches: int = 3, task_id: str = "task-1") -> None:
    dies_after(batches)
    with pytest.raises(WorkerKilled):
        run(schedule, task_id=task_id)
    monkeypatch.undo()  # the next worker is healthy


def assert_every_slot_once_and_published(schedule: Schedule) -> None:
    slots = list(Slot.objects.filter(schedule=schedule))
    assert len(slots) == TOTAL
    assert len({slot.start for slot in slots}) == TOTAL
    assert all(slot.is_published and slot.published_at is not None for slot in slots)


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def test_a_killed_run_keeps_its_committed_batches_and_shows_as_stalled(queued, dies_after, monkeypatch, settings):
    killed_run(queued, dies_after, monkeypatch, batches=3)
    queued.refresh_from_db()
    assert (queued.publish_state, queued.publish_done) == (PublishState.RUNNING, 300)
    # Each committed batch made its times and published them in the same transaction.
    assert Slot.objects.filter(schedule=queued, is_published=True).count() == 300
    assert Slot.objects.filter(schedule=queued).latest("start").start == queued.publish_cursor
    assert not queued.publish_stalled  # it beat a moment ago
    settings.TIDBOK_PUBLISH_STALE_SECONDS = 0
    assert queued.publish_stalled


def test_the_sweep_resumes_a_stalled_run_from_its_cursor_and_makes_every_slot_once(
    queued, dies_after, monkeypatch, settings, django_capture_on_commit_callbacks
):
    killed_run(queued, dies_after, monkeypatch, batches=3)
    first_published = dict(Slot.objects.filter(schedule=queued).values_list("pk", "published_at"))
    # Another delivery while the heartbeat is fresh is a no-op: the run may still be alive.
    assert run(queued, task_id="task-2") == 0
    assert schedule_publish_resume_stale() == 0

    stale_at = later(settings.TIDBOK_PUBLISH_STALE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule_publish_resume_stale(now=stale_at) == 1

    queued.refresh_from_db()
    assert (queued.publish_state, queued.publish_done, queued.publish_attempts) == (PublishState.DONE, TOTAL, 2)
    assert_every_slot_once_and_published(queued)
    # The times of the batches made before the kill were published once, not again.
    assert dict(Slot.objects.filter(pk__in=first_published).values_list("pk", "published_at")) == first_published


def test_a_redelivered_message_takes_its_run_back_at_once(queued, dies_after, monkeypatch):
    """acks_late + reject_on_worker_lost put the message back when its process dies: the same
    task id claims the run again without waiting for the heartbeat to go stale."""
    killed_run(queued, dies_after, monkeypatch, batches=2, task_id="the-message")
    assert run(queued, task_id="the-message") == TOTAL - 200
    queued.refresh_from_db()
    assert queued.publish_state == PublishState.DONE
    assert_every_slot_once_and_published(queued)


def test_the_publish_task_is_acknowledged_late_and_rejected_when_its_worker_is_lost():
    assert schedule_publish_background.acks_late is True
    assert schedule_publish_background.reject_on_worker_lost is True


def test_the_sweep_runs_on_beat():
    entries = [entry["task"] for entry in celery_app.conf.beat_schedule.values()]
    assert "schedules.tasks.schedule_publish_resume_stale" in entries


@pytest.mark.django_db(transaction=True)
def test_an_execution_that_was_taken_over_stops_at_its_next_batch(
    scheduler, resource, appointment_type, monkeypatch, settings
):
    """Committed transactions, so the takeover lands after batch 2 commits, as a claim would."""
    settings.TIDBOK_PUBLISH_BATCH_SIZE = 100
    queued = big_schedule(scheduler, resource, appointment_type)
    Schedule.objects.filter(pk=queued.pk).update(
        publish_state=PublishState.QUEUED, publish_total=TOTAL, publish_heartbeat_at=timezone.now()
    )
    real = schedule_publishing._schedule_insert_slots
    calls = {"n": 0}

    def insert(schedule, times, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            # Once this batch has committed, the sweep judges this execution dead and another
            # one claims the run (between batches: a claim waits for the batch's row lock).
            transaction.on_commit(
                lambda: Schedule.objects.filter(pk=schedule.pk).update(publish_token="another-execution")
            )
        return real(schedule, times, **kwargs)

    monkeypatch.setattr(schedule_publishing, "_schedule_insert_slots", insert)
    assert run(queued) == 200
    queued.refresh_from_db()
    assert (queued.publish_state, queued.publish_token, queued.publish_done) == (
        PublishState.RUNNING,
        "another-execution",
        200,
    )


def test_a_run_that_keeps_killing_its_worker_fails_instead_of_looping(queued, dies_after, monkeypatch, settings):
    settings.TIDBOK_PUBLISH_MAX_ATTEMPTS = 2
    dies_after(0)
    for _attempt in range(2):
        with pytest.raises(WorkerKilled):
            run(queued, task_id="the-message")
    assert run(queued, task_id="the-message") == 0
    queued.refresh_from_db()
    assert (queued.publish_state, queued.publish_attempts) == (PublishState.FAILED, 2)


def test_the_type_removed_during_a_run_stops_it(queued, scheduler, monkeypatch):
    real = schedule_publishing._schedule_insert_slots

    def insert(schedule, times, **kwargs):
        made = real(schedule, times, **kwargs)
        Schedule.objects.filter(pk=schedule.pk).update(removed_at=timezone.now())
        return made

    monkeypatch.setattr(schedule_publishing, "_schedule_insert_slots", insert)
    assert run(queued) == 100
    queued.refresh_from_db()
    assert queued.publish_state == PublishState.FAILED


# --- The scheduler's page: state, progress and the resume button -------------------------------


def detail_url(schedule: Schedule) -> str:
    return reverse("workspace:schedule_detail", kwargs={"clinic_id": schedule.clinic_id, "schedule_id": schedule.pk})


@pytest.fixture
def sched(client, scheduler):
    login_with_second_factor(client, scheduler)
    return client


def test_the_page_shows_a_stalled_run_and_the_scheduler_resumes_it(
    sched, scheduler, queued, dies_after, monkeypatch, settings, django_capture_on_commit_callbacks
):
    killed_run(queued, dies_after, monkeypatch, batches=3)
    running = sched.get(detail_url(queued))
    assert running.context["in_progress"] and not running.context["stalled"]
    assert b'value="resume"' not in running.content
    assert b'<progress id="publish-progress" max="672" value="300">' in running.content

    settings.TIDBOK_PUBLISH_STALE_SECONDS = 0
    stalled = sched.get(detail_url(queued))
    assert stalled.context["stalled"]
    assert 'name="action" value="resume"' in stalled.content.decode()
    assert "Publiceringen har stannat" in stalled.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = sched.post(detail_url(queued), {"action": "resume"})
    assert response.status_code == 302
    queued.refresh_from_db()
    assert (queued.publish_state, queued.publish_done, queued.publish_actor) == (PublishState.DONE, TOTAL, scheduler)
    assert_every_slot_once_and_published(queued)
    event = AuditEvent.objects.get(action="schedule.publish_resume")
    assert (event.actor, event.clinic_id, event.object_id) == (scheduler, queued.clinic_id, str(queued.pk))
    done = sched.get(detail_url(queued))
    assert not done.context["in_progress"] and b'value="resume"' not in done.content


def test_a_run_still_making_progress_cannot_be_resumed(sched, queued, dies_after, monkeypatch):
    killed_run(queued, dies_after, monkeypatch, batches=1)
    response = sched.post(detail_url(queued), {"action": "resume"}, follow=True)
    assert "Publiceringen har inte stannat" in response.content.decode()
    queued.refresh_from_db()
    assert (queued.publish_state, queued.publish_done) == (PublishState.RUNNING, 100)
    assert not AuditEvent.objects.filter(action="schedule.publish_resume").exists()


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.LOCAL_ADMIN])
def test_only_a_scheduler_of_the_clinic_may_resume(client, queued, clinic, role, dies_after, monkeypatch, settings):
    killed_run(queued, dies_after, monkeypatch, batches=1)
    settings.TIDBOK_PUBLISH_STALE_SECONDS = 0
    login_with_second_factor(client, staff(role, clinic))
    assert client.post(detail_url(queued), {"action": "resume"}).status_code == 403
    with pytest.raises(PermissionDeniedError):
        schedule_publish_resume(actor=staff(role, clinic), schedule=queued)
    queued.refresh_from_db()
    assert queued.publish_state == PublishState.RUNNING
    assert not AuditEvent.objects.filter(action="schedule.publish_resume").exists()


def test_the_schedules_list_says_a_run_has_stalled(sched, queued, dies_after, monkeypatch, settings):
    killed_run(queued, dies_after, monkeypatch, batches=1)
    settings.TIDBOK_PUBLISH_STALE_SECONDS = 0
    page = sched.get(reverse("workspace:schedules", kwargs={"clinic_id": queued.clinic_id}))
    assert "Publiceringen har stannat" in page.content.decode()
