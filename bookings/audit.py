"""The security audit log as the clinic workspace writes it (R-LOG-4).

Who looked at which resident's data is a record a resident may ask for and region IT must be
able to answer, so a page that shows many residents notes each one of them, not only the
resident the staff member searched for. Region IT reads and exports the log through
accounts.selectors (R-SEC-7).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from accounts.models import AuditEvent, User
from accounts.services import audit_record, audit_role
from clinics.models import Clinic


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
    if not seen:
        return []
    role = audit_role(actor=actor, clinic=clinic)  # the same for every row of one read
    # One commit for an export of thousands of rows, not one per resident.
    with transaction.atomic():
        return [
            audit_record(actor=actor, action=action, clinic=clinic, resident=resident, role=role)
            for _pk, resident in sorted(seen.items())
        ]
