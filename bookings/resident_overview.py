"""Reads for the staff's resident page: one resident at one clinic — the relation, the
communication approval, the resident's bookings there and the clinic's messages to them.

The read writes its audit row itself (R-LOG-4): staff cannot see the page without the record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from accounts.acting import Representative, representatives_of
from accounts.models import User
from accounts.selectors import resident_for_personnummer, user_has_clinic_role
from accounts.services import audit_record
from clinics.models import Clinic, ClinicRelation
from clinics.services import COMMUNICATION_ROLES
from core.errors import PermissionDeniedError

from .models import AttendanceState, Booking, BookingStatus, InboxMessage
from .selectors import bookings_for_resident

# Visits stay on the page as long as the resident can still see them (R-BOOK-5).
SHOWN_AFTER_START = dt.timedelta(hours=2)
MESSAGES_SHOWN = 20
NO_SHOWS_SHOWN = 20


@dataclass
class ResidentAtClinic:
    resident: User
    relation: ClinicRelation | None
    bookings: list[Booking]
    # The bookings the resident sees on the web now (R-BOOK-5): withdrawing the approval may hide them.
    visible_ids: set[int] = field(default_factory=set)
    messages: list[InboxMessage] = field(default_factory=list)
    # R-ATT-2: the visits here reception marked "did not come", newest first, and how many in all.
    no_shows: list[Booking] = field(default_factory=list)
    no_show_count: int = 0
    # R-POA-2: the guardians and attorneys who may act for the resident now.
    representatives: list[Representative] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        return self.relation is not None and self.relation.approved_for_communication

    @property
    def has_relation(self) -> bool:
        return self.relation is not None and self.relation.is_active


def resident_at_clinic_for_staff(
    *, actor: User, clinic: Clinic, personnummer: str, now: dt.datetime | None = None
) -> ResidentAtClinic | None:
    """The resident with this personnummer as ``clinic`` knows them, for a scheduler, local admin
    or region IT admin there (R-ACL-1); audited (R-LOG-4). None for someone who has never used
    Tidbok: there is nothing to read, so nothing is audited and nothing is created (R-SEC-3)."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=COMMUNICATION_ROLES):
        raise PermissionDeniedError()
    now = now or timezone.now()
    resident = resident_for_personnummer(personnummer=personnummer)
    if resident is None:
        return None
    audit_record(actor=actor, action="resident.view", clinic=clinic, resident=resident)
    bookings = list(
        Booking.objects.select_related("appointment_type", "resource", "created_by")
        .filter(resident=resident, clinic=clinic, status=BookingStatus.ACTIVE, start__gte=now - SHOWN_AFTER_START)
        .order_by("start")
    )
    # Only this clinic's: staff see their own clinic's figures of a resident (R-ACL-1).
    no_shows = Booking.objects.filter(resident=resident, clinic=clinic, attendance__state=AttendanceState.NO_SHOW)
    return ResidentAtClinic(
        resident=resident,
        relation=ClinicRelation.objects.filter(resident=resident, clinic=clinic).first(),
        bookings=bookings,
        visible_ids=set(
            bookings_for_resident(resident=resident, now=now).filter(clinic=clinic).values_list("pk", flat=True)
        ),
        messages=list(
            InboxMessage.objects.filter(resident=resident, clinic=clinic).order_by("-created_at")[:MESSAGES_SHOWN]
        ),
        no_shows=list(no_shows.select_related("appointment_type").order_by("-start")[:NO_SHOWS_SHOWN]),
        no_show_count=no_shows.count(),
        representatives=representatives_of(patient=resident, now=now),
    )


def bookings_hidden_by_withdrawal(*, resident: User, clinic: Clinic, now: dt.datetime | None = None) -> list[Booking]:
    """R-REL-3: withdrawing the approval ends the relation, so every booking at this clinic the
    resident sees on the web now stops being visible there."""
    return list(
        bookings_for_resident(resident=resident, now=now)
        .filter(clinic=clinic)
        .select_related("appointment_type", "resource")
        .order_by("start")
    )
