"""Who may do what (R-ACL-1, R-ACL-2)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from clinics.models import Clinic

from .models import Membership, Role, User


def user_is_staff_member(user: User) -> bool:
    return user.is_staff or user.is_superuser or user.memberships.exists()


def _membership_q(user: User, roles: Iterable[Role]) -> Q:
    roles = list(roles)
    q = Q(memberships__user=user, memberships__role__in=roles)
    if Role.REGION_IT in roles or Role.PROXY_BOOKER in roles:
        region_roles = [r for r in roles if r in (Role.REGION_IT, Role.PROXY_BOOKER)]
        q |= Q(region__memberships__user=user, region__memberships__role__in=region_roles)
    return q


def clinics_for_staff(*, user: User, roles: Iterable[Role]) -> QuerySet[Clinic]:
    """Clinics where the user holds one of ``roles``. A region IT admin may do what a local
    admin may in every clinic of their region (SPEC §1), and no more."""
    roles = set(roles)
    if Role.LOCAL_ADMIN in roles:
        roles.add(Role.REGION_IT)
    if not user.is_authenticated:
        return Clinic.objects.none()
    return Clinic.objects.filter(_membership_q(user, roles)).distinct()


def user_has_clinic_role(*, user: User, clinic: Clinic, roles: Iterable[Role]) -> bool:
    return clinics_for_staff(user=user, roles=roles).filter(pk=clinic.pk).exists()


def user_is_region_it(*, user: User, clinic: Clinic) -> bool:
    return Membership.objects.filter(user=user, role=Role.REGION_IT, region_id=clinic.region_id).exists()


def proxy_membership(*, user: User, clinic: Clinic) -> Membership | None:
    return Membership.objects.filter(user=user, role=Role.PROXY_BOOKER, region_id=clinic.region_id).first()
