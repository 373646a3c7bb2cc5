"""The clinic workspace's frame: who is staff, which clinic they act for, in which role (R-ACL-1).

Workspace views take a ``clinic_id`` from the URL and call :func:`clinic_for` with the roles
the page needs; anyone else gets 403, and a clinic the user has no membership at looks the
same as one that does not exist (404).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from rest_framework import permissions

from accounts.http import AuthenticatedHttpRequest, AuthenticatedRequest
from accounts.mfa import session_passed_second_factor
from accounts.models import Membership, Role, User
from accounts.selectors import user_is_staff_member

from .models import Clinic
from .selectors import clinics_for_staff
from .staff_selectors import region_staff_member

ALL_CLINIC_ROLES = (Role.LOCAL_ADMIN, Role.SCHEDULER, Role.SUPPORT, Role.REGION_IT)


def staff_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Workspace pages need a logged-in staff member (the MFA middleware has already made sure
    they have a second factor, R-AUTH-2)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url="account_login")
        if not user_is_staff_member(request.user) or request.user.is_resident:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def clinic_for(
    request: AuthenticatedHttpRequest | AuthenticatedRequest, clinic_id: int, roles: Iterable[Role]
) -> Clinic:
    """The clinic in the URL, if the user holds one of ``roles`` there (a region IT admin
    counts as local admin in their region). 404 if they have no role at all there."""
    user: User = request.user
    clinic = clinics_for_staff(user=user, roles=roles).filter(pk=clinic_id).select_related("region").first()
    if clinic is not None:
        return clinic
    if clinics_for_staff(user=user, roles=ALL_CLINIC_ROLES).filter(pk=clinic_id).exists():
        raise PermissionDenied
    raise Http404


@dataclass(frozen=True)
class WorkspaceClinic:
    clinic: Clinic
    roles: frozenset[str]

    @property
    def role_labels(self) -> str:
        return ", ".join(sorted(str(Role(role).label) for role in self.roles))

    @property
    def is_admin(self) -> bool:
        return bool(self.roles & {Role.LOCAL_ADMIN, Role.REGION_IT})

    @property
    def is_scheduler(self) -> bool:
        return Role.SCHEDULER in self.roles

    @property
    def is_support(self) -> bool:
        return Role.SUPPORT in self.roles

    @property
    def is_region_it(self) -> bool:
        return Role.REGION_IT in self.roles


def workspace_clinics(*, user: User) -> list[WorkspaceClinic]:
    """The clinics a staff member works at, with their roles there, for the clinic picker."""
    roles: dict[int, set[str]] = {}
    for membership in Membership.objects.filter(user=user).select_related("clinic", "region"):
        if membership.clinic_id:
            roles.setdefault(membership.clinic_id, set()).add(membership.role)
        elif membership.role == Role.REGION_IT and membership.region_id is not None:
            for clinic_id in Clinic.objects.filter(region_id=membership.region_id).values_list("pk", flat=True):
                roles.setdefault(clinic_id, set()).add(Role.REGION_IT)
    clinics = Clinic.objects.filter(pk__in=roles).select_related("region").order_by("name")
    return [WorkspaceClinic(clinic=clinic, roles=frozenset(roles[clinic.pk])) for clinic in clinics]


def workspace_clinic(*, user: User, clinic: Clinic) -> WorkspaceClinic:
    for item in workspace_clinics(user=user):
        if item.clinic.pk == clinic.pk:
            return item
    raise Http404


def staff_member_for(*, clinic: Clinic, member_id: int) -> User:
    """A staff member of the clinic's region, for region IT's staff pages and API alike; a person
    outside the region is 404 (R-ACL-1)."""
    member = region_staff_member(region=clinic.region, user_id=member_id)
    if member is None:
        raise Http404
    return member


class IsClinicStaff(permissions.BasePermission):
    """Staff endpoints: a logged-in staff member who is not acting as a resident, in a browser
    session that passed its second factor (R-SEC-2; an app token never reaches staff data). Which
    clinic and role is checked per view with :func:`clinic_for` (R-ACL-1)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and not user.is_resident
            and user_is_staff_member(user)
            and session_passed_second_factor(request, user)
        )
