"""Who works where: the staff accounts a region IT admin manages, and who holds which role at a
clinic (guide 000, "Anslut", step 1; R-ACL-1)."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from django.db.models import Q, QuerySet

from accounts.mfa import ENROLLABLE_TYPES
from accounts.models import REGION_ROLES, Membership, Role, User

from .models import Clinic, Region


def _in_region(region_id: int) -> Q:
    return Q(memberships__clinic__region_id=region_id) | Q(memberships__region_id=region_id)


# Accounts region IT never manages: residents, and the Django admin's own accounts (superusers and
# admin staff), which only a superuser changes.
MANAGEABLE = Q(personnummer__isnull=True, is_superuser=False, is_staff=False)


def region_staff(*, region: Region) -> QuerySet[User]:
    """Every staff account with a role in the region (at one of its clinics, or for the region)."""
    return (
        User.objects.filter(MANAGEABLE)
        .filter(pk__in=User.objects.filter(_in_region(region.pk)).values("pk"))
        .order_by("last_name", "first_name", "email")
    )


def region_staff_member(*, region: Region, user_id: int) -> User | None:
    """One account of :func:`region_staff`, or None: an account in another region only, a
    superuser or a resident is not there for region IT (the page answers 404)."""
    return region_staff(region=region).filter(pk=user_id).first()


def memberships_in_region(*, user: User, region: Region) -> QuerySet[Membership]:
    in_region = Q(clinic__region_id=region.pk) | Q(region_id=region.pk)
    return (
        Membership.objects.filter(in_region, user=user)
        .select_related("clinic", "region")
        .order_by("clinic__name", "role")
    )


def has_memberships_elsewhere(*, user: User, region: Region) -> bool:
    """Roles in another region: then the account is not this region's alone to deactivate or reset."""
    in_region = Q(clinic__region_id=region.pk) | Q(region_id=region.pk)
    return Membership.objects.filter(user=user).exclude(in_region).exists()


def clinics_of_region(*, region: Region) -> QuerySet[Clinic]:
    return Clinic.objects.filter(region=region).order_by("name")


@dataclass(frozen=True)
class StaffRow:
    """A person and what they hold, as the staff pages list them."""

    user: User
    roles: list[str]
    has_second_factor: bool

    @property
    def invited(self) -> bool:
        """Invited, and the password not chosen yet."""
        return not self.user.has_usable_password()


def _second_factors(user_ids: list[int]) -> set[int]:
    return set(
        Authenticator.objects.filter(user_id__in=user_ids, type__in=ENROLLABLE_TYPES).values_list("user_id", flat=True)
    )


def region_staff_rows(*, region: Region) -> list[StaffRow]:
    """The region's staff, each with their roles in the region ("Scheduler, Vårdcentralen Solna")."""
    users = list(region_staff(region=region))
    roles: dict[int, list[str]] = {user.pk: [] for user in users}
    in_region = Q(clinic__region_id=region.pk) | Q(region_id=region.pk)
    memberships = Membership.objects.filter(in_region, user_id__in=roles).select_related("clinic", "region")
    for membership in memberships.order_by("clinic__name", "role"):
        roles[membership.user_id].append(membership_label(membership))
    factors = _second_factors(list(roles))
    return [StaffRow(user=user, roles=roles[user.pk], has_second_factor=user.pk in factors) for user in users]


def clinic_staff_rows(*, clinic: Clinic) -> list[StaffRow]:
    """Who holds which role at the clinic, region-wide roles of its region included: what a local
    admin may see (read-only) of their clinic."""
    where = Q(clinic=clinic) | Q(role__in=[r.value for r in REGION_ROLES], region_id=clinic.region_id)
    memberships = (
        Membership.objects.filter(where, user__personnummer__isnull=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__email", "role")
    )
    rows: dict[int, tuple[User, list[str]]] = {}
    for membership in memberships:
        _user, labels = rows.setdefault(membership.user_id, (membership.user, []))
        label = str(Role(membership.role).label)
        labels.append(f"{label} ({membership.unit_name})" if membership.unit_name else label)
    factors = _second_factors(list(rows))
    return [StaffRow(user=user, roles=labels, has_second_factor=pk in factors) for pk, (user, labels) in rows.items()]


def membership_label(membership: Membership) -> str:
    """ "Scheduler, Vårdcentralen Solna" or "Proxy booker, Region Stockholm (1177 Vårdguiden på telefon)"."""
    where = membership.clinic.name if membership.clinic else (membership.region.name if membership.region else "")
    label = f"{Role(membership.role).label}, {where}"
    return f"{label} ({membership.unit_name})" if membership.unit_name else label
