"""Thin Celery wrappers: tasks take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def inbox_notify(message_id: int) -> bool:
    return services.inbox_notify(message_id=message_id)


@shared_task
def inbox_notify_sweep() -> int:
    return services.inbox_notify_sweep()


@shared_task
def web_log_purge() -> int:
    return services.web_log_purge()


@shared_task
def idempotency_purge() -> int:
    return services.idempotency_purge()
