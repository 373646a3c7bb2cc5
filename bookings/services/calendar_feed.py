"""The resident's private calendar feed: made, remade and revoked by the resident (R-NOTE-5)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from ..models import CalendarFeed
from ..selectors import calendar_feed_token_hash


@transaction.atomic
def calendar_feed_create(*, resident: User, created_by: User | None = None, now: dt.datetime | None = None) -> str:
    """A new secret feed address for ``resident``, replacing any earlier one (which stops working
    at once). The token is returned once, to be shown once; only its hash is kept. ``created_by``:
    a guardian or attorney making it for the resident; it then answers only while they may act for
    them (R-GUARD-2, R-POA-1)."""
    token = secrets.token_urlsafe(32)
    # A double-click sends two of these at once: update_or_create locks the row, and when both find
    # none the second insert meets the one-feed-per-resident constraint, reads the first's row and
    # replaces it, so the last answer's address is the one that works.
    CalendarFeed.objects.update_or_create(
        resident=resident,
        defaults={
            "token_hash": calendar_feed_token_hash(token),
            "created_at": now or timezone.now(),
            "created_by": created_by if created_by is not None and created_by.pk != resident.pk else None,
        },
    )
    return token


def calendar_feed_revoke(*, resident: User) -> bool:
    """The feed address stops working; False when the resident had none."""
    deleted, _ = CalendarFeed.objects.filter(resident=resident).delete()
    return bool(deleted)
