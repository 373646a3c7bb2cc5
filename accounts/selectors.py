"""Who may do what (R-ACL-1, R-ACL-2), and the audit log as region IT reads it (R-LOG-4, R-SEC-7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import dates
from core.errors import PermissionDeniedError
from core.spreadsheet import csv_cell

from .models import AuditEvent, Membership, Role, User
from .services import audit_record
from .sessions import STAFF_MEMBER_AT_LOAD

if TYPE_CHECKING:  # accounts sits below clinics: the clinic is only named in annotations
    from clinics.models import Clinic


def resident_for_personnummer(*, personnummer: str) -> User | None:
    """The resident with this normalised personnummer (R-AUTH-4), if they have ever logged in."""
    return User.objects.filter(personnummer=personnummer).first()


def user_is_staff_member(user: User) -> bool:
    if user.is_staff or user.is_superuser:
        return True
    # The request's user: its session's query asked already (accounts.sessions), this request.
    at_load = getattr(user, STAFF_MEMBER_AT_LOAD, None)
    return at_load if at_load is not None else user.memberships.exists()


# Roles held for a whole region rather than at one clinic.
REGION_WIDE_ROLES = (Role.REGION_IT, Role.PROXY_BOOKER)


def staff_roles(roles: Iterable[Role]) -> set[Role]:
    """The roles that grant what ``roles`` allow: a region IT admin may do what a local admin may
    in every clinic of their region (SPEC §1), and no more."""
    roles = set(roles)
    if Role.LOCAL_ADMIN in roles:
        roles.add(Role.REGION_IT)
    return roles


def user_has_clinic_role(*, user: User, clinic: Clinic, roles: Iterable[Role]) -> bool:
    """R-ACL-1: a membership with one of ``roles`` at the clinic, or a region-wide one in its
    region. The same rule as ``clinics.selectors.clinics_for_staff``, asked of the memberships."""
    roles = staff_roles(roles)
    where = Q(clinic_id=clinic.pk)
    region_roles = [r for r in roles if r in REGION_WIDE_ROLES]
    if region_roles:
        where |= Q(role__in=region_roles, region_id=clinic.region_id)
    return Membership.objects.filter(where, user=user, role__in=roles).exists()


def user_is_region_it(*, user: User, clinic: Clinic) -> bool:
    return Membership.objects.filter(user=user, role=Role.REGION_IT, region_id=clinic.region_id).exists()


def proxy_membership(*, user: User, clinic: Clinic) -> Membership | None:
    return Membership.objects.filter(user=user, role=Role.PROXY_BOOKER, region_id=clinic.region_id).first()


def proxy_memberships(*, user: User) -> list[Membership]:
    """The regions a proxy booker books in, each with the unit they book from (R-BOOK-4)."""
    return list(
        Membership.objects.filter(user=user, role=Role.PROXY_BOOKER, region__isnull=False)
        .select_related("region")
        .order_by("region__name")
    )


# --- The audit log as region IT reads and exports it (R-LOG-4, R-SEC-7) ---------------------

# What staff did, in words, for the audit log page and its export; other actions show their code.
AUDIT_ACTION_LABELS = {
    "web_log.read": _("Read the web booking log"),
    "web_log.resident_shown": _("Saw the resident in the web booking log"),
    "web_log.exported": _("Exported the resident in the web booking log"),
    "booking.read": _("Opened a booking"),
    "booking_basis.read": _("Opened a booking basis"),
    "booking_basis.resident_shown": _("Saw the resident in the list of booking bases"),
    "booking_basis.issue": _("Issued a booking basis"),
    "booking_basis.revoke": _("Revoked a booking basis or open summons"),
    "open_summons.send": _("Sent an open summons"),
    "audit_log.read": _("Read the audit log"),
    "audit_log.exported": _("Exported the audit log"),
    "admin.list": _("Saw the resident in a list in the Django admin"),
    "admin.read": _("Opened the resident's data in the Django admin"),
    "staff.invited": _("Invited a staff member"),
    "staff.invitation_resent": _("Sent a staff invitation again"),
    "staff.role_granted": _("Gave a staff member a role"),
    "staff.role_revoked": _("Took a role from a staff member"),
    "staff.deactivated": _("Deactivated a staff account"),
    "staff.reactivated": _("Activated a staff account again"),
    "staff.second_factor_reset": _("Reset a staff member's second factor"),
    # Residents' own changes to who may act for them (R-GUARD-1, R-POA-1), kept with the rest.
    "custody.registered": _("The population register listed a child in the guardian's custody"),
    "custody.ended": _("The population register no longer lists the child in the guardian's custody"),
    "power_of_attorney.granted": _("The resident gave a power of attorney"),
    "power_of_attorney.accepted": _("The attorney accepted a power of attorney"),
    "power_of_attorney.ended": _("A power of attorney was ended"),
}
_ROLE_LABELS = {"superuser": _("Superuser"), "staff": _("Staff (Django admin)")}


def audit_role_labels(role: str) -> str:
    """``"scheduler,support"`` as the roles' names in the active language."""
    labels = []
    for code in filter(None, role.split(",")):
        label = _ROLE_LABELS.get(code) or (Role(code).label if code in Role.values else code)
        labels.append(str(label))
    return ", ".join(labels)


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def audit_events_for_clinic(
    *,
    actor: User,
    clinic: Clinic,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    resident: User | None = None,
    action: str = "audit_log.read",
) -> QuerySet[AuditEvent]:
    """The clinic's audit events, and those of its region at no clinic, newest first, for a
    region IT admin of its region only (R-LOG-4, R-SEC-7). Reading
    (or exporting, ``action="audit_log.exported"``) the audit log is itself access to
    residents' data and is recorded too, with the period asked for."""
    if not user_is_region_it(user=actor, clinic=clinic):
        raise PermissionDeniedError()
    # Events at no clinic but in the clinic's region (residents seen in the Django admin) are
    # region IT's to see as well, on every clinic's page of the region (R-SEC-1, R-SEC-7).
    in_scope = Q(clinic=clinic) | Q(clinic__isnull=True, region_id=clinic.region_id)
    events = AuditEvent.objects.filter(in_scope).select_related("actor", "resident")
    if date_from:
        events = events.filter(created_at__gte=_local_midnight(date_from))
    if date_to:
        events = events.filter(created_at__lt=_local_midnight(date_to + dt.timedelta(days=1)))
    if resident is not None:
        events = events.filter(resident=resident)
    # The query runs later, when the page is rendered: the reader's own visit is its newest row.
    audit_record(
        actor=actor,
        action=action,
        clinic=clinic,
        resident=resident,
        detail=" ".join(f"{name}={value}" for name, value in (("from", date_from), ("to", date_to)) if value),
    )
    return events.order_by("-created_at", "-pk")


def audit_csv_header() -> list[str]:
    return [
        str(_("When")),
        str(_("Staff member")),
        str(_("E-mail")),
        str(_("Role")),
        str(_("Unit")),
        str(_("Resident")),
        str(_("Personal identity number")),
        str(_("What")),
        str(_("Event code")),
        str(_("Object")),
        str(_("Details")),
    ]


def audit_csv_row(*, event: AuditEvent) -> list[str]:
    """R-SEC-7: who, in which role, at which unit, about which resident, did what, when."""
    resident = event.resident
    cells = [
        # To the second, as the audit page shows it; Swedish local time as Excel reads it.
        dates.when(event.created_at, "spreadsheet_seconds"),
        event.actor.get_full_name() or event.actor.get_username(),
        event.actor.email,
        audit_role_labels(event.role),
        event.unit_name,
        resident.get_full_name() if resident else "",
        resident.personnummer_display if resident else "",
        str(AUDIT_ACTION_LABELS.get(event.action, "")),
        event.action,
        f"{event.object_type} {event.object_id}".strip(),
        event.detail,
    ]
    # Names, units and details are typed by people: none may open as a formula (CSV injection).
    return [csv_cell(str(cell)) for cell in cells]
