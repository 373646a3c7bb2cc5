"""Retention: the web booking log (R-LOG-3) and the stored first answers of idempotent POSTs."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import IdempotencyRecord

from ..models import (
    WebBookingLogEntry,
)

# --- Web booking log retention (R-LOG-3) ------------------------------------------------------


def web_log_purge(
    *,
    now: dt.datetime | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[int, float], None] | None = None,
) -> int:
    """Delete rows older than 31 days in short batches, each its own transaction, by primary
    key. The log only points at bookings, so deleting it takes no lock on them. ``on_batch``
    hears each batch's row count and how long its transaction (and so its row locks) lasted."""
    now = now or timezone.now()
    batch_size = batch_size or settings.TIDBOK_LOG_PURGE_BATCH
    cutoff = now - dt.timedelta(days=settings.TIDBOK_LOG_RETENTION_DAYS)
    total = 0
    while True:
        ids = list(
            WebBookingLogEntry.objects.filter(changed_at__lt=cutoff)
            .order_by("changed_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        began = time.perf_counter()
        with transaction.atomic():
            deleted, _details = WebBookingLogEntry.objects.filter(pk__in=ids).delete()
        if on_batch is not None:
            on_batch(deleted, time.perf_counter() - began)
        total += deleted


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Stored first answers are kept a day: long enough for any client's retries."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=1)
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
