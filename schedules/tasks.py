"""Thin Celery wrappers: tasks take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import services
from .models import Slot


def _then_bulk_files(published: int) -> int:
    """Times reached the web: the FHIR bulk files follow (a task runs after the commit, so the
    refresh is queued at once, folded with any already waiting)."""
    if published:
        services.bulk_refresh_later()
    return published


@shared_task
def slots_publish(slot_ids: list[int]) -> int:
    return _then_bulk_files(services.slots_publish(slot_ids=slot_ids))


@shared_task
def schedule_slots_publish(schedule_id: int) -> int:
    ids = Slot.objects.filter(schedule_id=schedule_id).values_list("pk", flat=True)
    return _then_bulk_files(services.slots_publish(slot_ids=ids))


@shared_task
def slots_publish_pending() -> int:
    return _then_bulk_files(services.slots_publish_pending())


@shared_task
def holds_release_expired() -> int:
    return services.holds_release_expired()


# R-OPS-3: acknowledged only when it returns, and put back on the queue if the process running it
# dies (kill -9, the OOM killer), so the run is taken up again at once by a live worker. Safe:
# the run is claimed by task id and resumes from its committed cursor; a run that keeps killing
# workers fails after TIDBOK_PUBLISH_MAX_ATTEMPTS claims instead of looping for ever.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def schedule_publish_background(self, schedule_id: int, actor_id: int | None = None) -> int:
    return services.schedule_publish_run(schedule_id=schedule_id, actor_id=actor_id, task_id=self.request.id or "")


@shared_task
def schedule_publish_resume_stale() -> int:
    return services.schedule_publish_resume_stale()
