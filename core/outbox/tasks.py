"""Thin Celery wrappers around the outbox relay and its clean-up (R-OPS-1)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task
def outbox_relay() -> int:
    """The sweep: whatever the after-commit relay could not send (a broker outage, a crash)."""
    return services.outbox_relay()


@shared_task
def outbox_purge() -> int:
    return services.outbox_purge()
