"""Thin Celery wrapper: the bulk files' refresh, safe to run twice (R-PUB)."""

from __future__ import annotations

from celery import shared_task

from . import bulk


@shared_task
def bulk_publish_refresh() -> dict[str, int]:
    """At most once every TIDBOK_BULK_REFRESH_SECONDS: asked sooner, it is put off until then."""
    wait = bulk.refresh_wait()
    if wait:
        if bulk.postpone_first(wait):
            bulk_publish_refresh.apply_async(countdown=wait)
        return {}
    return bulk.refresh()
