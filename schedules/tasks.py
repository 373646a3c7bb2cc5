"""Thin Celery wrappers: tasks take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import services
from .models import Slot


@shared_task
def slots_publish(slot_ids: list[int]) -> int:
    return services.slots_publish(slot_ids=slot_ids)


@shared_task
def schedule_slots_publish(schedule_id: int) -> int:
    ids = Slot.objects.filter(schedule_id=schedule_id).values_list("pk", flat=True)
    return services.slots_publish(slot_ids=ids)


@shared_task
def slots_publish_pending() -> int:
    return services.slots_publish_pending()


@shared_task
def holds_release_expired() -> int:
    return services.holds_release_expired()


@shared_task
def schedule_publish_background(schedule_id: int, actor_id: int) -> int:
    return services.schedule_publish_run(schedule_id=schedule_id, actor_id=actor_id)
