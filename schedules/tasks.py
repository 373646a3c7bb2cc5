"""Thin Celery wrappers: tasks take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import services
from .models import Slot


def _then_bulk_files(published: int) -> int:
    """Times reached the web: the FHIR bulk files follow (a task runs after the commit, so the
    refresh is queued at once, folded with any already waiting)."""
    if published:
        from .bulk import refresh_queue

        refresh_queue()
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


@shared_task
def schedule_publish_background(schedule_id: int, actor_id: int) -> int:
    return services.schedule_publish_run(schedule_id=schedule_id, actor_id=actor_id)


@shared_task
def bulk_publish_refresh() -> dict[str, int]:
    from .bulk import refresh

    return refresh()
