"""Periodic work for accounts."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task
def audit_events_purge() -> int:
    """R-SEC-7: nightly, delete only audit events older than the retention period."""
    return services.audit_events_purge()
