"""What the outbox can tell about itself: how far behind its sending is."""

from __future__ import annotations

import datetime as dt

from django.db.models import Min
from django.utils import timezone

from .models import OutboxMessage


def outbox_lag_seconds(*, now: dt.datetime | None = None) -> float:
    """How long the oldest message that is due has waited unsent (0 when none waits): the
    after-commit relay sends within moments, the sweep within seconds, so minutes mean the broker
    or the workers are away. Reads only the unsent rows' index (outbox_unsent)."""
    now = now or timezone.now()
    oldest = OutboxMessage.objects.filter(sent_at__isnull=True, available_at__lte=now).aggregate(
        oldest=Min("available_at")
    )["oldest"]
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
