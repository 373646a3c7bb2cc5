"""Thin Celery wrappers: tasks take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task
def inbox_notify(message_id: int) -> bool:
    """Replaced by the notifications app (R-NOTE-2), which writes only to verified addresses.
    Kept so that outbox rows written before the change are marked sent instead of retried."""
    return False


@shared_task
def web_log_purge() -> int:
    return services.web_log_purge()


@shared_task
def web_log_detached_drop() -> int:
    return services.web_log_detached_drop()


@shared_task
def web_log_partitions_ensure() -> int:
    return services.web_log_partitions_ensure()


@shared_task
def idempotency_purge() -> int:
    return services.idempotency_purge()


@shared_task
def waitlist_offers_expire() -> int:
    return services.waitlist_offers_expire()
