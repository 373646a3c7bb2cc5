"""Writes for accounts: residents, serialising a resident's own changes, the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models

from clinics.models import Clinic

from .models import AuditEvent, User
from .personnummer import normalise_personnummer


def resident_get_or_create(*, personnummer: str, **defaults: Any) -> tuple[User, bool]:
    """Find or create the resident for a personnummer in any accepted form (R-AUTH-4)."""
    normalised = normalise_personnummer(personnummer)
    return User.objects.get_or_create(personnummer=normalised, defaults={"username": f"pnr-{normalised}", **defaults})


def resident_lock(*, resident: User) -> None:
    """Row-lock the resident for the rest of the transaction. Every booking change a resident
    makes takes this lock first, so a double-submit or two tabs run one after the other and
    the overlap rule (R-BOOK-2) sees the first one's result. Lock order is always resident,
    then slots by id, so two such transactions cannot deadlock."""
    User.objects.select_for_update().filter(pk=resident.pk).values_list("pk", flat=True).get()


def audit_record(
    *,
    actor: User,
    action: str,
    clinic: Clinic | None = None,
    resident: User | None = None,
    obj: models.Model | None = None,
    detail: str = "",
    unit_name: str = "",
) -> AuditEvent:
    """R-LOG-4: staff looked at or changed a resident's data."""
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        clinic=clinic,
        unit_name=unit_name or (clinic.name if clinic else ""),
        resident=resident,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail[:500],
    )
