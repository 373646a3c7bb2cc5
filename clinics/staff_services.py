"""Region IT manages the region's staff accounts (guide 000, "Anslut", step 1; R-ACL-1, R-AUTH-2):
invite by e-mail, give and take roles at the region's clinics and for the region, deactivate an
account, and reset a lost second factor.

Every change is an audit event written in the change's own transaction (R-LOG-4, R-SEC-7), and the
invitation e-mail goes out through the outbox after the commit (R-OPS-1). What region IT may touch:
accounts with a role in its region only, never a resident, a superuser or a Django admin account,
never its own account (no one raises themselves), and an account that also works in another region
is not this region's alone to deactivate or reset.
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import REGION_ROLES, Membership, Role, User
from accounts.selectors import user_is_region_it
from accounts.services import audit_record, user_sessions_end
from core.errors import DomainError, ErrorCode, PermissionDeniedError, ValidationFailed
from core.outbox.services import outbox_add

from .models import Clinic, Region
from .staff_selectors import MANAGEABLE, has_memberships_elsewhere, membership_label, memberships_in_region

INVITATION_TASK = "accounts.tasks.staff_invitation_send"
CLINIC_ROLES = (Role.LOCAL_ADMIN, Role.SCHEDULER, Role.SUPPORT)


def _region_it(*, actor: User, clinic: Clinic) -> Region:
    """The region the actor manages from this clinic's page: only region IT of the clinic's region."""
    if not user_is_region_it(user=actor, clinic=clinic):
        raise PermissionDeniedError()
    return clinic.region


def _manageable(*, actor: User, region: Region, member: User) -> None:
    if member.pk == actor.pk:
        raise PermissionDeniedError(_("You cannot change your own account or roles. Ask another region IT admin."))
    if not User.objects.filter(MANAGEABLE, pk=member.pk).exists():
        raise DomainError(ErrorCode.NOT_FOUND)


def _whole_account(*, region: Region, member: User) -> None:
    if has_memberships_elsewhere(user=member, region=region):
        raise PermissionDeniedError(
            _(
                "This person also has roles in another region, so the account is not only yours to change. "
                "Take away your region's roles, or ask the other region's IT admin."
            )
        )


def _role_and_place(
    *, region: Region, role: str, clinic_id: int | None, unit_name: str
) -> tuple[Role, Clinic | None, str]:
    """The role to give and where: a clinic role at one of the region's clinics, a region role for
    the region (a proxy booker with the unit they book from, R-BOOK-4)."""
    errors: dict[str, list] = {}
    if role not in Role.values:
        raise ValidationFailed({"role": [_("Choose a role.")]})
    chosen = Role(role)
    clinic = None
    unit_name = unit_name.strip()[:200]
    if chosen in REGION_ROLES:
        if chosen == Role.PROXY_BOOKER and not unit_name:
            errors["unit_name"] = [_("Enter the unit the proxy booker books from, for example “1177 på telefon”.")]
        if chosen != Role.PROXY_BOOKER:
            unit_name = ""
    else:
        clinic = Clinic.objects.filter(pk=clinic_id or 0, region=region).first()
        if clinic is None:
            errors["clinic"] = [_("Choose the clinic where the role applies.")]
        unit_name = ""
    if errors:
        raise ValidationFailed(errors)
    return chosen, clinic, unit_name


def _where(membership: Membership) -> dict:
    """Where an event about a membership goes in the audit log: at its clinic, or in its region."""
    if membership.clinic_id:
        return {"clinic": membership.clinic}
    return {"clinic": None, "region_id": membership.region_id}


def _lock(member: User) -> None:
    User.objects.select_for_update().filter(pk=member.pk).values_list("pk", flat=True).get()


def _who(member: User) -> str:
    return f"{member.get_full_name() or '-'} <{member.email}>"


@transaction.atomic
def staff_invite(
    *,
    actor: User,
    clinic: Clinic,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    role_clinic_id: int | None = None,
    unit_name: str = "",
) -> User:
    """Create a staff account with its first role and send the invitation (a set-password link; the
    second factor is set up at the first login, R-AUTH-2)."""
    region = _region_it(actor=actor, clinic=clinic)
    email = email.strip().lower()
    first_name, last_name = first_name.strip()[:150], last_name.strip()[:150]
    errors: dict[str, list] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [_("Enter an e-mail address, for example namn@regionstockholm.se.")]
    else:
        if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username=email).exists():
            errors["email"] = [
                _("There is already an account with this e-mail address. Give the person a role on their page instead.")
            ]
    if not first_name:
        errors["first_name"] = [_("Enter the first name.")]
    if not last_name:
        errors["last_name"] = [_("Enter the last name.")]
    try:
        chosen, role_clinic, unit_name = _role_and_place(
            region=region, role=role, clinic_id=role_clinic_id, unit_name=unit_name
        )
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    if errors:
        raise ValidationFailed(errors)
    try:
        with transaction.atomic():
            member = User(username=email, email=email, first_name=first_name, last_name=last_name)
            member.set_unusable_password()
            member.save()
    except IntegrityError:  # the same address invited at the same moment
        raise ValidationFailed({"email": [_("There is already an account with this e-mail address.")]}) from None
    membership = Membership.objects.create(
        user=member,
        role=chosen,
        clinic=role_clinic,
        region=region if role_clinic is None else None,
        unit_name=unit_name,
    )
    audit_record(
        actor=actor,
        action="staff.invited",
        obj=member,
        detail=f"{_who(member)}: {membership_label(membership)}",
        **_where(membership),
    )
    outbox_add(name=INVITATION_TASK, args=[member.pk, region.name])
    return member


@transaction.atomic
def staff_invitation_resend(*, actor: User, clinic: Clinic, member: User) -> None:
    """Send the invitation again (the first link expired or the e-mail was lost)."""
    region = _region_it(actor=actor, clinic=clinic)
    _manageable(actor=actor, region=region, member=member)
    if member.has_usable_password() or not member.is_active:
        raise PermissionDeniedError(_("This person has already chosen a password."))
    audit_record(actor=actor, action="staff.invitation_resent", clinic=clinic, obj=member, detail=_who(member))
    outbox_add(name=INVITATION_TASK, args=[member.pk, region.name])


@transaction.atomic
def staff_role_grant(
    *,
    actor: User,
    clinic: Clinic,
    member: User,
    role: str,
    role_clinic_id: int | None = None,
    unit_name: str = "",
) -> Membership:
    """Give ``member`` a role at one of the region's clinics, or a region role for the region."""
    region = _region_it(actor=actor, clinic=clinic)
    _manageable(actor=actor, region=region, member=member)
    chosen, role_clinic, unit_name = _role_and_place(
        region=region, role=role, clinic_id=role_clinic_id, unit_name=unit_name
    )
    scope = {"clinic": role_clinic} if role_clinic is not None else {"region": region}
    if Membership.objects.filter(user=member, role=chosen, **scope).exists():
        raise ValidationFailed({"role": [_("The person already has this role there.")]})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=member, role=chosen, unit_name=unit_name, **scope)
    except IntegrityError:  # granted twice at the same moment
        raise ValidationFailed({"role": [_("The person already has this role there.")]}) from None
    audit_record(
        actor=actor,
        action="staff.role_granted",
        obj=membership,
        detail=f"{_who(member)}: {membership_label(membership)}",
        **_where(membership),
    )
    return membership


@transaction.atomic
def staff_role_revoke(*, actor: User, clinic: Clinic, member: User, membership_id: int) -> Membership:
    """Take a role in the region away. The account's last role is not taken: deactivate it instead,
    so that no account is left that no region IT admin sees."""
    region = _region_it(actor=actor, clinic=clinic)
    _manageable(actor=actor, region=region, member=member)
    # The person's row first: two revocations at once take turns, so the second sees the first's
    # result and the last role stays.
    _lock(member)
    membership = memberships_in_region(user=member, region=region).filter(pk=membership_id).first()
    if membership is None:
        raise DomainError(ErrorCode.NOT_FOUND)
    if not Membership.objects.filter(user=member).exclude(pk=membership.pk).exists():
        raise PermissionDeniedError(
            _("This is the person's last role. Deactivate the account instead if they no longer work here.")
        )
    label = membership_label(membership)
    where = _where(membership)
    membership.delete()
    audit_record(actor=actor, action="staff.role_revoked", obj=member, detail=f"{_who(member)}: {label}", **where)
    return membership


@transaction.atomic
def staff_deactivate(*, actor: User, clinic: Clinic, member: User) -> User:
    """The person can no longer log in, and is logged out where they are logged in now."""
    region = _region_it(actor=actor, clinic=clinic)
    _manageable(actor=actor, region=region, member=member)
    _whole_account(region=region, member=member)
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.is_active:
        member.is_active = False
        member.save(update_fields=["is_active"])
        user_sessions_end(user=member)
        audit_record(actor=actor, action="staff.deactivated", clinic=clinic, obj=member, detail=_who(member))
    return member


@transaction.atomic
def staff_reactivate(*, actor: User, clinic: Clinic, member: User) -> User:
    region = _region_it(actor=actor, clinic=clinic)
    _manageable(actor=actor, region=region, member=member)
    _whole_account(region=region, member=member)
    member = User.objects.select_for_update().get(pk=member.pk)
    if not member.is_active:
        member.is_active = True
        member.save(update_fields=["is_active"])
        audit_record(actor=actor, action="staff.reactivated", clinic=clinic, obj=member, detail=_who(member))
    return member


@transaction.atomic
def staff_second_factor_reset(*, actor: User, clinic: Clinic, member: User) -> int:
    """A lost phone or security key (R-AUTH-2): remove every authenticator of the account (TOTP,
    security keys, recovery codes) and end its sessions. At the next login, after the password, the
    person must set up a second factor again. Returns how many authenticators were removed."""
    region = _region_it(actor=actor, clinic=clinic)
    _manageable(actor=actor, region=region, member=member)
    _whole_account(region=region, member=member)
    _lock(member)
    removed = Authenticator.objects.filter(user=member).delete()[0]
    sessions = user_sessions_end(user=member)
    audit_record(
        actor=actor,
        action="staff.second_factor_reset",
        clinic=clinic,
        obj=member,
        detail=f"{_who(member)}: {removed} authenticator(s), {sessions} session(s) ended",
    )
    return removed
