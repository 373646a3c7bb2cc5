"""Holds: a time kept for a resident while they confirm (R-BOOK-3)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import resident_lock
from core import metrics
from core.errors import BookingError, ErrorCode

from ..models import Hold, HoldState, Slot, SlotStatus
from ..selectors import slot_check_offered
from .common import times_changed_later
from .web_publishing import slot_free

logger = logging.getLogger(__name__)

# --- Holds (R-BOOK-3) -------------------------------------------------------------------------


def _lock_slot_rows(slot_ids: Iterable[int]) -> None:
    """Row-lock slots in id order: every path that changes a slot and its holds or bookings
    locks the slot first, so no two of them wait on each other in a circle."""
    list(Slot.objects.select_for_update().filter(pk__in=sorted(set(slot_ids))).order_by("pk").values_list("pk"))


def hold_release(*, hold: Hold) -> bool:
    """End an active hold and free its slot. The caller runs in a transaction and has locked
    the slot (see :func:`_lock_slot_rows`); the conditional UPDATE lets only one of the worker
    and the resident release a given hold."""
    claimed = Hold.objects.filter(pk=hold.pk, state=HoldState.ACTIVE).update(state=HoldState.RELEASED)
    if not claimed:
        return False
    # Under the slot lock: free it only if it is still merely held, never if it was booked.
    if Slot.objects.filter(pk=hold.slot_id, status=SlotStatus.HELD).exists():
        slot_free(slot_id=hold.slot_id)
    hold.state = HoldState.RELEASED
    return True


@transaction.atomic
def hold_create(
    *,
    resident: User,
    slot_id: int,
    rebook_of: Any = None,
    check: Callable[[Slot, dt.datetime], None] | None = None,
    now: dt.datetime | None = None,
) -> Hold:
    """Set a time aside for the resident for TIDBOK_HOLD_MINUTES (R-BOOK-3). The slot leaves
    the web at once. A resident holds one time at a time: a new hold releases the old one.
    ``check`` replaces the check that the slot is offered to the resident (R-BOOK-7: a time held
    to move a booking ``rebook_of`` to is checked by the rebooking's rules instead)."""
    now = now or timezone.now()
    resident_lock(resident=resident)
    own_holds = list(Hold.objects.filter(resident=resident, state=HoldState.ACTIVE))
    _lock_slot_rows([slot_id, *(h.slot_id for h in own_holds)])
    slot = Slot.objects.select_related("clinic__region", "appointment_type").filter(pk=slot_id).first()
    if slot is None:
        # Removed since the page was shown (R-PUB-2): to the resident, simply no longer there.
        raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED)
    if check is not None:
        # The caller's rule for this hold, under the same locks: a rebooking's checks live in
        # bookings, which builds on schedules (bookings.services.hold_create_for_rebook).
        check(slot, now)
    else:
        slot_check_offered(slot=slot, resident=resident, now=now)
    # The checks above passed, so any active hold left on this slot is the resident's own or
    # one that has run out without the worker having swept it yet: both give way.
    for old in [*own_holds, *Hold.objects.filter(slot=slot, state=HoldState.ACTIVE).exclude(resident=resident)]:
        hold_release(hold=old)
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.HELD, is_published=False, published_at=None)
    times_changed_later([slot.clinic_id])  # the held time is busy in the FHIR feed at once, not at the next sweep
    metrics.count_on_commit("tidbok_holds")
    return Hold.objects.create(
        slot=slot,
        resident=resident,
        rebook_of=rebook_of,
        expires_at=now + dt.timedelta(minutes=settings.TIDBOK_HOLD_MINUTES),
    )


@transaction.atomic
def hold_cancel(*, resident: User, hold: Hold) -> None:
    if hold.resident_id != resident.pk:
        raise BookingError(ErrorCode.NOT_FOUND)
    _lock_slot_rows([hold.slot_id])
    hold_release(hold=hold)


def holds_release_expired(*, now: dt.datetime | None = None) -> int:
    """The worker's sweep (R-BOOK-3): each expired hold is released in its own transaction."""
    now = now or timezone.now()
    released = 0
    for hold in Hold.objects.filter(state=HoldState.ACTIVE, expires_at__lte=now).order_by("expires_at")[:1000]:
        try:
            with transaction.atomic():
                _lock_slot_rows([hold.slot_id])
                released += hold_release(hold=hold)
        except OperationalError:
            # A lock timeout or deadlock victim: the next sweep picks this hold up again.
            logger.warning("could not release hold %s this round", hold.pk, exc_info=True)
    return released
