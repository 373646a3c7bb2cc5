"""Thin Celery wrappers: the bulk files' refresh, a walk of short steps, each safe to run
twice (R-PUB, see fhir.bulk)."""

from __future__ import annotations

from celery import shared_task

from . import bulk

# A refresh asked for while a walk is under way is asked again after this many seconds.
WALK_BUSY_RETRY_SECONDS = 10


@shared_task
def bulk_publish_refresh() -> bool:
    """At most once every TIDBOK_BULK_REFRESH_SECONDS: asked sooner, it is put off until then.
    Starts a walk, whose steps follow as :func:`bulk_publish_step` tasks."""
    wait = bulk.refresh_wait()
    if wait:
        if bulk.postpone_first(wait):
            bulk_publish_refresh.apply_async(countdown=wait)
        return False
    if bulk.refresh_start():
        return True
    if bulk.postpone_first(WALK_BUSY_RETRY_SECONDS):
        bulk_publish_refresh.apply_async(countdown=WALK_BUSY_RETRY_SECONDS)
    return False


@shared_task
def bulk_publish_step(token: str, low: int) -> int | None:
    """One Slot part of the walk ``token``; queues the next step itself (through the outbox)."""
    step = bulk.walk_step(token, low)
    return step.next_id if step else None
