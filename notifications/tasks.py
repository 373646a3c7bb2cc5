"""Thin Celery wrappers: tasks take ids (or the recorded payload) and are safe to run twice."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from . import services


@shared_task
def notification_event_record(payload: dict[str, Any]) -> int:
    return services.notification_event_record(payload=payload).pk


@shared_task(bind=True, max_retries=None)
def notification_deliver(self: Task, notification_id: int) -> bool:
    """R-NOTE-3: retried with exponential back-off until the service marks it failed (it counts
    the attempts in the database, where a killed worker cannot lose them)."""
    try:
        return services.notification_deliver(notification_id=notification_id)
    except services.DeliveryDeferred as deferred:
        raise self.retry(countdown=deferred.countdown, exc=deferred) from None


@shared_task
def notification_sweep() -> int:
    return services.notification_sweep()


@shared_task
def reminders_due() -> int:
    return services.reminders_due()
