"""What FHIR publishes (R-PUB, R-VIS-1, R-VIS-2): the portal's own rule, read through its
selectors (:func:`clinics.selectors.web_bookable_types_for_all`,
:data:`schedules.selectors.OFFERED_SLOT_Q`, :func:`schedules.selectors.booking_notice_q`,
:func:`clinics.selectors.visibility_cutoff`), so the
feed cannot offer a time the portal would not."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.db.models import Q, QuerySet
from django.utils import timezone

from clinics.models import AppointmentType, Clinic, Resource
from clinics.selectors import q_matches, visibility_cutoff, web_bookable_types_for_all
from schedules.models import Slot, SlotStatus
from schedules.selectors import OFFERED_SLOT_Q, booking_notice_q


def public_types() -> QuerySet[AppointmentType]:
    """The types published: the portal's web-bookable rule for anyone (see
    :func:`clinics.selectors.web_bookable_types_for_all`), never a copy of it."""
    return web_bookable_types_for_all()


FREE_Q = OFFERED_SLOT_Q
BUSY_Q = Q(status__in=[SlotStatus.HELD, SlotStatus.BOOKED]) | Q(is_blocked=True)


def _window_q(now: dt.datetime) -> Q:
    """R-VIS-1 for every type at once: one condition per distinct number of days shown ahead."""
    days = set(public_types().values_list("visibility_days", flat=True))
    window = Q(pk__in=[])
    for n in days:
        cutoff = visibility_cutoff(appointment_type=AppointmentType(visibility_days=n), now=now)
        match = (
            Q(appointment_type__visibility_days__isnull=True) if n is None else Q(appointment_type__visibility_days=n)
        )
        window |= match & Q(start__lt=cutoff)
    return window


def public_slots(now: dt.datetime | None = None) -> QuerySet[Slot]:
    """Future slots of published types inside the visibility window and outside their type's
    notice for booking, that are either offered on the web (free: free, published, not blocked) or
    taken (busy: booked, held or blocked). A free time the publisher has not reached yet is not
    shown at all (R-PUB-3)."""
    now = now or timezone.now()
    return (
        Slot.objects.filter(appointment_type__in=public_types(), start__gt=now)
        .filter(_window_q(now))
        .filter(booking_notice_q(now=now))  # R-POL-1: the portal's own filter, each type's notice
        .filter(FREE_Q | BUSY_Q)
    )


def clinic_phones(clinic_ids: set[int]) -> dict[int, str]:
    """The clinics' phone numbers, for the booking-phone of their slots."""
    return dict(Clinic.objects.filter(pk__in=clinic_ids).values_list("pk", "phone"))


class SlotRow(NamedTuple):
    """A slot as read with ``values_list(*SLOT_FIELDS)``: what its Slot resource is built from,
    without a model instance (which costs more than the rest of the resource, and the bulk
    file builds tens of thousands at a time)."""

    id: int
    clinic_id: int
    resource_id: int
    appointment_type_id: int
    start: dt.datetime
    end: dt.datetime
    status: str
    is_published: bool
    is_blocked: bool

    @property
    def pk(self) -> int:
        return self.id


SLOT_FIELDS = SlotRow._fields


def slot_status(slot: Slot | SlotRow) -> str:
    return "free" if q_matches(OFFERED_SLOT_Q, slot) else "busy"


def public_schedules(slots: QuerySet[Slot]) -> list[tuple[Resource, AppointmentType]]:
    """The (resource, type) pairs that have a published slot, in a stable order."""
    return schedules_of(set(slots.order_by().values_list("resource_id", "appointment_type_id").distinct()))


def schedules_of(pairs: set[tuple[int, int]]) -> list[tuple[Resource, AppointmentType]]:
    """The (resource, type) of each ``(resource id, type id)`` that still exists, in a stable order."""
    resources = Resource.objects.in_bulk({r for r, _t in pairs})
    types = AppointmentType.objects.select_related("clinic__region").in_bulk({t for _r, t in pairs})
    return [(resources[r], types[t]) for r, t in sorted(pairs) if r in resources and t in types]
