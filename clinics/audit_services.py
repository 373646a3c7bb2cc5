"""The Django admin's audit of the residents its pages showed (R-SEC-1, R-LOG-4, R-SEC-7): recorded by
clinic and by the regions each resident belongs to, so it sits above clinics."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import AuditEvent, User
from accounts.services import audit_role

from .models import Clinic


def _regions_of_residents(resident_ids: set[int]) -> dict[int, set[int]]:
    """The regions each resident belongs to as region IT sees it: the home region and every
    region of a clinic the resident is related to or has bookings at."""
    regions: dict[int, set[int]] = {pk: set() for pk in resident_ids}
    for lookup in ("relations__resident_id", "bookings__resident_id"):
        rows = Clinic.objects.filter(**{f"{lookup}__in": resident_ids}).values_list(lookup, "region_id").distinct()
        for resident_id, region_id in rows:
            regions[resident_id].add(region_id)
    residents = User.objects.filter(pk__in=resident_ids).exclude(home_region_code="")
    homes = dict(residents.values_list("pk", "home_region_code"))
    # A region with no clinic has no region IT page to show the event on.
    by_code = dict(Clinic.objects.filter(region__code__in=set(homes.values())).values_list("region__code", "region_id"))
    for resident_id, code in homes.items():
        if code in by_code:
            regions[resident_id].add(by_code[code])
    return regions


def audit_admin_residents_shown(
    *, actor: User, action: str, shown: Iterable[tuple[int, int | None]], detail: str = ""
) -> int:
    """R-SEC-1, R-LOG-4, R-SEC-7: one event per distinct (resident, clinic) a Django admin page
    showed. ``shown`` holds ``(resident_id, clinic_id or None)`` pairs. A row at no clinic (the
    resident's own account, a token) is recorded once for every region the resident belongs to,
    so that region IT of each of them finds it in the audit log and its export. Returns the
    number recorded."""
    pairs = sorted(set(shown), key=lambda pair: (pair[0], pair[1] or 0))
    if not pairs:
        return 0
    # Only residents: a staff member's own row (a token, a membership) is no resident data.
    residents = set(
        User.objects.filter(pk__in={pair[0] for pair in pairs}, personnummer__isnull=False).values_list("pk", flat=True)
    )
    pairs = [pair for pair in pairs if pair[0] in residents]
    clinics = Clinic.objects.in_bulk({clinic_id for _resident, clinic_id in pairs if clinic_id})
    regions = _regions_of_residents({resident_id for resident_id, clinic_id in pairs if not clinic_id})
    roles: dict[int | None, str] = {}
    events = []
    for resident_id, clinic_id in pairs:
        clinic = clinics.get(clinic_id) if clinic_id else None
        if clinic_id not in roles:
            roles[clinic_id] = audit_role(actor=actor, clinic=clinic)
        # A resident in no region at all is still recorded once (the admin's own audit list).
        region_ids: list[int | None] = [None] if clinic else [*sorted(regions[resident_id])] or [None]
        for region_id in region_ids:
            events.append(
                AuditEvent(
                    actor=actor,
                    role=roles[clinic_id],
                    action=action,
                    clinic=clinic,
                    region_id=region_id,
                    unit_name=clinic.name if clinic else "Django admin",
                    resident_id=resident_id,
                    detail=detail[:500],
                )
            )
    AuditEvent.objects.bulk_create(events)
    return len(events)
