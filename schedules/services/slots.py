"""Single slots, type changes and blocks (R-SCHED-2, R-PUB-1, R-PUB-2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from clinics.models import AppointmentType, Resource
from core import dates
from core.errors import ValidationFailed

from .. import free_times
from ..models import Block, Slot, SlotStatus
from ..selectors import LOCAL_TZ
from .common import _publish_later, _require_scheduler, times_changed_later
from .overlap import _resource_lock, schedule_collisions
from .patterns import _blocked_ranges, _is_blocked
from .web_publishing import _unpublish

# --- Single slots, type changes, blocks (R-SCHED-2, R-PUB-1, R-PUB-2) --------------------------


@transaction.atomic
def slot_add(
    *, actor: User, resource: Resource, appointment_type: AppointmentType, start: dt.datetime, end: dt.datetime
) -> Slot:
    """A single time in the calendar (R-SCHED-2). R-OPS-6: refused if it overlaps a time already
    on the resource, checked under the resource's row lock on every database."""
    _require_scheduler(actor, resource.clinic)
    errors: dict[str, list[Any]] = {}
    if appointment_type.clinic_id != resource.clinic_id:
        errors["appointment_type"] = [_("Choose an appointment type of this clinic.")]
    if end <= start:
        errors["end"] = [_("The end must be after the start.")]
    elif start <= timezone.now():
        errors["start"] = [_("A new time must be in the future.")]
    if errors:
        raise ValidationFailed(errors)
    _resource_lock(resource.pk)
    collisions = schedule_collisions(resource_id=resource.pk, times=[(start, end)]).slots
    if collisions:
        raise ValidationFailed({"start": [_overlap_message(collisions[0])]})
    try:
        with transaction.atomic():
            slot = Slot.objects.create(
                clinic_id=resource.clinic_id,
                resource=resource,
                appointment_type=appointment_type,
                start=start,
                end=end,
                is_blocked=_is_blocked(start, end, _blocked_ranges(resource.pk, start, end)),
            )
    except IntegrityError:
        # The last line on PostgreSQL (slot_resource_no_overlap), for a writer that skipped the lock.
        raise ValidationFailed({"start": [_("The resource already has a time that overlaps this one.")]}) from None
    _publish_later([slot.pk])
    return slot


def _overlap_message(slot: Slot) -> str:
    return _("The resource already has a time that overlaps this one: %(when)s.") % {
        "when": dates.span(slot.start, slot.end)
    }


@dataclass(frozen=True)
class TypeChange:
    """What a type change did: ``changed`` times got the new type, ``booked_kept`` booked times
    kept the type they were booked as."""

    changed: int
    booked_kept: int


@transaction.atomic
def slots_change_type(*, actor: User, slots: QuerySet[Slot], appointment_type: AppointmentType) -> TypeChange:
    """Give slots another type. Booked slots keep theirs (the booking is for what was booked);
    how many did is counted under the same row locks. R-PUB-1: if the web name changes, the
    times reappear through the publisher."""
    locked = slots.select_for_update()
    booked_kept = locked.filter(status=SlotStatus.BOOKED).count()
    slots = locked.exclude(status=SlotStatus.BOOKED).select_related("appointment_type")
    changed = []
    for slot in slots:
        _require_scheduler(actor, slot.clinic)
        if appointment_type.clinic_id != slot.clinic_id:
            raise ValidationFailed({"appointment_type": [_("Choose an appointment type of this clinic.")]})
        if slot.appointment_type.web_name != appointment_type.web_name:
            changed.append(slot.pk)
    ids = list(slots.values_list("pk", flat=True))
    Slot.objects.filter(pk__in=ids).update(appointment_type=appointment_type)
    free_times.invalidate_on_commit([appointment_type.clinic_id])
    _publish_later(_unpublish(Slot.objects.filter(pk__in=changed, status=SlotStatus.FREE)))
    return TypeChange(changed=len(ids), booked_kept=booked_kept)


@dataclass(frozen=True)
class BlockCreated:
    """A new block and how many booked times inside it stay booked (staff decide on those)."""

    block: Block
    booked_kept: int


@transaction.atomic
def block_create(
    *,
    actor: User,
    resource: Resource,
    start: dt.datetime,
    end: dt.datetime,
    reason: str = "",
    now: dt.datetime | None = None,
) -> BlockCreated:
    """R-PUB-2: the block takes its free times off the web in this same transaction.
    Booked times inside it stay booked; staff decide whether to cancel them.

    A block may span several days. It may not start on a day that has passed, nor end before now: a block
    in the past changes nothing and only hides a typing mistake. Today from midnight is allowed, so "block
    the rest of today" needs no start time."""
    _require_scheduler(actor, resource.clinic)
    now = now or timezone.now()
    if end <= start:
        raise ValidationFailed({"end": [_("The end must be after the start.")]})
    if timezone.localtime(start, LOCAL_TZ).date() < timezone.localtime(now, LOCAL_TZ).date():
        raise ValidationFailed({"start": [_("The first day has already passed. Choose today or a later day.")]})
    if end <= now:
        raise ValidationFailed({"end": [_("The period has already passed. Choose an end later than now.")]})
    block = Block.objects.create(
        clinic_id=resource.clinic_id, resource=resource, start=start, end=end, reason=reason[:200], created_by=actor
    )
    Slot.objects.filter(resource=resource, start__lt=end, end__gt=start).update(
        is_blocked=True, is_published=False, published_at=None
    )
    times_changed_later([resource.clinic_id])
    booked_kept = Slot.objects.filter(resource=resource, start__lt=end, end__gt=start, status=SlotStatus.BOOKED).count()
    return BlockCreated(block=block, booked_kept=booked_kept)


@transaction.atomic
def block_delete(*, actor: User, block: Block) -> None:
    _require_scheduler(actor, block.clinic)
    covered = Slot.objects.filter(resource_id=block.resource_id, start__lt=block.end, end__gt=block.start)
    block.delete()
    other_block = Block.objects.filter(
        resource_id=OuterRef("resource_id"), start__lt=OuterRef("end"), end__gt=OuterRef("start")
    )
    ids = list(covered.exclude(Exists(other_block)).values_list("pk", flat=True))
    Slot.objects.filter(pk__in=ids).update(is_blocked=False)
    _publish_later(ids)
