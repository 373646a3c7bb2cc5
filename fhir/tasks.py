"""Thin Celery wrapper: the bulk files' refresh, safe to run twice (R-PUB)."""

from __future__ import annotations

from celery import shared_task

from . import bulk


@shared_task
def bulk_publish_refresh() -> dict[str, int]:
    return bulk.refresh()
