"""The security audit log as the clinic workspace reads and writes it (R-LOG-4).

Who looked at which resident's data is a record a resident may ask for and region IT must be
able to answer, so a page that shows many residents notes each one of them, not only the
resident the staff member searched for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditEvent, User
from accounts.selectors import user_is_region_it
from accounts.services import audit_record
from clinics.models import Clinic
from schedules.selectors import local_midnight
from tidbok.errors import PermissionDeniedError

# What staff did, in words, for the audit log page; actions not listed show their code.
ACTION_LABELS = {
    "web_log.read": _("Read the web booking log"),
    "web_log.resident_shown": _("Saw the resident in the web booking log"),
    "web_log.exported": _("Exported the resident in the web booking log"),
    "booking.read": _("Opened a booking"),
    "booking_basis.read": _("Opened a booking basis"),
    "audit_log.read": _("Read the audit log"),
}


def audit_residents_shown(
    *,
    actor: User,
    clinic: Clinic,
    residents: Iterable[User],
    action: str,
    already_recorded: User | None = None,
) -> list[AuditEvent]:
    """One audit event per distinct resident a page or an export showed. A resident the read
    itself was already recorded for (a search by personnummer) is not recorded twice."""
    seen: dict[int, User] = {}
    for resident in residents:
        if already_recorded is None or resident.pk != already_recorded.pk:
            seen.setdefault(resident.pk, resident)
    # One commit for an export of thousands of rows, not one per resident.
    with transaction.atomic():
        return [
            audit_record(actor=actor, action=action, clinic=clinic, resident=resident)
            for _pk, resident in sorted(seen.items())
        ]


def audit_events_for_clinic(
    *,
    actor: User,
    clinic: Clinic,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    resident: User | None = None,
) -> QuerySet[AuditEvent]:
    """The clinic's audit events, newest first, for a region IT admin of its region only. Reading
    the audit log is itself access to residents' data and is recorded too."""
    if not user_is_region_it(user=actor, clinic=clinic):
        raise PermissionDeniedError()
    events = AuditEvent.objects.filter(clinic=clinic).select_related("actor", "resident")
    if date_from:
        events = events.filter(created_at__gte=local_midnight(date_from))
    if date_to:
        events = events.filter(created_at__lt=local_midnight(date_to + dt.timedelta(days=1)))
    if resident is not None:
        events = events.filter(resident=resident)
    # The query runs later, when the page is rendered: the reader's own visit is its newest row.
    audit_record(
        actor=actor,
        action="audit_log.read",
        clinic=clinic,
        resident=resident,
        detail=" ".join(f"{name}={value}" for name, value in (("from", date_from), ("to", date_to)) if value),
    )
    return events.order_by("-created_at", "-pk")
