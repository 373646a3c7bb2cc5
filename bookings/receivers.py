"""Receivers of what the lower apps announce (schedules/signals.py); connected in BookingsConfig.ready."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.dispatch import receiver

from schedules.signals import slots_freed_for_waitlist

from .services import waitlist_offer_freed_slots


@receiver(slots_freed_for_waitlist)
def offer_freed_slots(sender: Any, *, slot_ids: list[int], now: dt.datetime, **kwargs: Any) -> None:
    """R-WAIT-2, R-WAIT-3: the waitlist gets a freed time before the web does."""
    waitlist_offer_freed_slots(slot_ids=slot_ids, now=now)
