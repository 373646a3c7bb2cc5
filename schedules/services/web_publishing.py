"""Publishing slots to the web and taking them off it (R-PUB-1, R-PUB-3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import F, QuerySet
from django.utils import timezone

from clinics.models import AppointmentType, FreedTimes

from ..models import Slot, SlotStatus
from ..signals import slots_freed_for_waitlist
from .common import _free_times_changed, _publish_later, bulk_refresh_later

# --- Publishing (R-PUB-1, R-PUB-3) -----------------------------------------------------------


def slots_publish(*, slot_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Put free, unblocked future slots on the web. A conditional UPDATE, so running it twice,
    or racing a booking, publishes nothing that has been taken meanwhile."""
    now = now or timezone.now()
    ids = list(slot_ids)
    pending = Slot.objects.filter(
        pk__in=ids, status=SlotStatus.FREE, is_blocked=False, is_published=False, start__gt=now
    )
    # R-WAIT-2: a type that offers freed times to its waitlist first lets the waitlist claim
    # them before they reach the web; what nobody claims is published below (R-PUB-1).
    for_waitlist = list(pending.filter(appointment_type__freed_times=FreedTimes.WAITLIST).values_list("pk", flat=True))
    if for_waitlist:
        slots_freed_for_waitlist.send(sender=Slot, slot_ids=for_waitlist, now=now)
    published = pending.update(is_published=True, published_at=now)
    if published:
        _free_times_changed(ids)
    return published


def slots_publish_pending(*, now: dt.datetime | None = None, batch_size: int = 5000) -> int:
    """Sweep up free slots whose publish task was lost. Uses ``slot_pending_publish_idx``."""
    now = now or timezone.now()
    total = 0
    while True:
        ids = list(
            Slot.objects.filter(status=SlotStatus.FREE, is_blocked=False, is_published=False, start__gt=now)
            .order_by("start")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        total += slots_publish(slot_ids=ids, now=now)


def _unpublish(slots: QuerySet[Slot]) -> list[int]:
    ids = list(slots.values_list("pk", flat=True))
    Slot.objects.filter(pk__in=ids).update(is_published=False, published_at=None)
    if ids:
        _free_times_changed(ids)
    return ids


def slot_free(*, slot_id: int) -> None:
    """A booked, held or offered time is free again. It comes back through the publisher (R-PUB-1),
    unless its type has since been taken off its schedule: then it goes (R-PUB-2). The caller
    holds the slot's row lock; both statements only touch a slot that is still taken."""
    taken = Slot.objects.filter(pk=slot_id, status__in=[SlotStatus.HELD, SlotStatus.BOOKED, SlotStatus.OFFERED])
    removed = taken.filter(schedule__removed_at__isnull=False, appointment_type_id=F("schedule__appointment_type_id"))
    if removed.delete()[0]:
        bulk_refresh_later()
        return
    if taken.update(status=SlotStatus.FREE, is_published=False, published_at=None):
        _publish_later([slot_id])  # the bulk files follow once it is published again


def slots_republish_for_type(*, appointment_type: AppointmentType) -> None:
    """R-PUB-1: the type's web name changed, so its free times reappear through the publisher."""
    ids = _unpublish(Slot.objects.filter(appointment_type=appointment_type, status=SlotStatus.FREE))
    _publish_later(ids)
