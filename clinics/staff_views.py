"""Staff accounts and roles in the workspace (guide 000, "Anslut", step 1): region IT invites staff,
gives and takes roles in its region, deactivates accounts and resets a lost second factor; a local
admin sees who holds which role at their clinic (read-only). The views find the clinic and the
person (R-ACL-1: a person outside the region is 404) and call :mod:`clinics.staff_services`."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedHttpRequest
from accounts.models import REGION_ROLES, Role, User
from core import params
from core.errors import DomainError

from .models import Clinic
from .staff_forms import RoleTextForm, StaffInviteTextForm
from .staff_selectors import (
    clinic_staff_rows,
    clinics_of_region,
    has_memberships_elsewhere,
    memberships_in_region,
    region_staff_rows,
)
from .staff_services import (
    staff_deactivate,
    staff_invitation_resend,
    staff_invite,
    staff_reactivate,
    staff_role_grant,
    staff_role_revoke,
    staff_second_factor_reset,
)
from .workspace import WorkspaceClinic, clinic_for, staff_member_for, staff_required, workspace_clinic

ADMIN = (Role.LOCAL_ADMIN,)  # region IT of the clinic's region is admitted as well (clinic_for)
REGION_IT = (Role.REGION_IT,)
GET_POST = require_http_methods(["GET", "POST"])
# The roles region IT gives, in the order the form lists them.
GRANTABLE = [Role.LOCAL_ADMIN, Role.SCHEDULER, Role.SUPPORT, Role.PROXY_BOOKER, Role.REGION_IT]


def _page(request: HttpRequest, template: str, ws: WorkspaceClinic, status: int = 200, **context: Any) -> HttpResponse:
    return render(request, f"workspace/staff/{template}", {"ws": ws, "clinic": ws.clinic, **context}, status=status)


def _region_it(request: AuthenticatedHttpRequest, clinic_id: int) -> tuple[Clinic, WorkspaceClinic]:
    clinic = clinic_for(request, clinic_id, REGION_IT)
    return clinic, workspace_clinic(user=request.user, clinic=clinic)


def _refused(request: HttpRequest, error: DomainError) -> dict[str, list[Any]]:
    if error.field_errors:
        return {field: list(errors) for field, errors in error.field_errors.items()}
    messages.error(request, error.message)
    return {}


def _role_choices(clinic: Clinic) -> dict[str, Any]:
    return {"roles": [(role.value, role.label, role in REGION_ROLES) for role in GRANTABLE]}


def _role_values(data) -> dict[str, Any]:
    return {
        "role": data.get("role", ""),
        "role_clinic_id": params.optional_id(data.get("clinic", "")),
        "unit_name": data.get("unit_name", ""),
    }


# --- Who holds which role at the clinic (local admin, read-only) ---------------------------------


@staff_required
def clinic_roles(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, ADMIN)
    ws = workspace_clinic(user=request.user, clinic=clinic)
    return _page(request, "clinic_roles.html", ws, rows=clinic_staff_rows(clinic=clinic))


# --- Region IT: the region's staff accounts ------------------------------------------------------


@staff_required
def staff_accounts(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = _region_it(request, clinic_id)
    return _page(request, "accounts.html", ws, rows=region_staff_rows(region=clinic.region))


@staff_required
@GET_POST
def staff_invite_view(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = _region_it(request, clinic_id)
    values: dict[str, Any] = {"first_name": "", "last_name": "", "email": "", "role": "", "clinic": str(clinic.pk)}
    values["unit_name"] = ""
    errors: dict[str, list[Any]] = {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in values}
        try:
            member = staff_invite(
                actor=request.user,
                clinic=clinic,
                email=values["email"],
                first_name=values["first_name"],
                last_name=values["last_name"],
                **_role_values(request.POST),
            )
        except DomainError as error:
            errors = _refused(request, error)
        else:
            messages.success(
                request,
                _("%(name)s is invited. The invitation with a link to choose a password is sent to %(email)s.")
                % {"name": member.get_full_name(), "email": member.email},
            )
            return redirect("workspace:staff_member", clinic_id=clinic.pk, member_id=member.pk)
    return _page(
        request,
        "invite.html",
        ws,
        status=400 if request.method == "POST" else 200,
        values=values,
        errors=errors,
        form=StaffInviteTextForm(values=values, errors=errors),
        role_form=RoleTextForm(values=values, errors=errors, clinics=clinics_of_region(region=clinic.region)),
        **_role_choices(clinic),
    )


def _member_page(
    request: AuthenticatedHttpRequest,
    clinic: Clinic,
    ws: WorkspaceClinic,
    member: User,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[Any]] | None = None,
    status: int = 200,
) -> HttpResponse:
    values = values or {"role": "", "clinic": str(clinic.pk), "unit_name": ""}
    errors = errors or {}
    return _page(
        request,
        "member.html",
        ws,
        status=status,
        member=member,
        memberships=list(memberships_in_region(user=member, region=clinic.region)),
        elsewhere=has_memberships_elsewhere(user=member, region=clinic.region),
        second_factors=Authenticator.objects.filter(user=member).exists(),
        is_self=member.pk == request.user.pk,
        values=values,
        errors=errors,
        role_form=RoleTextForm(values=values, errors=errors, clinics=clinics_of_region(region=clinic.region)),
        **_role_choices(clinic),
    )


@staff_required
def staff_member(request: AuthenticatedHttpRequest, clinic_id: int, member_id: int) -> HttpResponse:
    clinic, ws = _region_it(request, clinic_id)
    return _member_page(request, clinic, ws, staff_member_for(clinic=clinic, member_id=member_id))


@staff_required
def staff_role_grant_view(request: AuthenticatedHttpRequest, clinic_id: int, member_id: int) -> HttpResponse:
    clinic, ws = _region_it(request, clinic_id)
    member = staff_member_for(clinic=clinic, member_id=member_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    values = {name: request.POST.get(name, "") for name in ("role", "clinic", "unit_name")}
    try:
        membership = staff_role_grant(actor=request.user, clinic=clinic, member=member, **_role_values(request.POST))
    except DomainError as error:
        return _member_page(request, clinic, ws, member, values=values, errors=_refused(request, error), status=400)
    where = membership.clinic.name if membership.clinic else clinic.region.name
    messages.success(
        request,
        _("%(name)s is now %(role)s at %(where)s.")
        % {"name": member.get_full_name(), "role": str(Role(membership.role).label).lower(), "where": where},
    )
    return redirect("workspace:staff_member", clinic_id=clinic.pk, member_id=member.pk)


def _confirmed_action(
    request: AuthenticatedHttpRequest,
    clinic_id: int,
    member_id: int,
    *,
    template: str,
    act,
    done: str,
    **context: Any,
) -> HttpResponse:
    """A change to a person's account: GET asks to confirm, POST does it."""
    clinic, ws = _region_it(request, clinic_id)
    member = staff_member_for(clinic=clinic, member_id=member_id)
    if request.method == "POST":
        try:
            act(actor=request.user, clinic=clinic, member=member)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, done % {"name": member.get_full_name() or member.email})
        return redirect("workspace:staff_member", clinic_id=clinic.pk, member_id=member.pk)
    return _page(request, template, ws, member=member, **context)


def _posted_action(
    request: AuthenticatedHttpRequest, clinic_id: int, member_id: int, *, act, done: str
) -> HttpResponse:
    """A change with nothing to confirm, done from the person's page: POST only, and only after the
    region and the person are checked, so a GET from outside the region is still 404 (R-ACL-1)."""
    clinic, _ws = _region_it(request, clinic_id)
    staff_member_for(clinic=clinic, member_id=member_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return _confirmed_action(request, clinic_id, member_id, template="member.html", act=act, done=done)


@staff_required
@GET_POST
def staff_role_revoke_view(
    request: AuthenticatedHttpRequest, clinic_id: int, member_id: int, membership_id: int
) -> HttpResponse:
    clinic, _ws = _region_it(request, clinic_id)
    member = staff_member_for(clinic=clinic, member_id=member_id)
    membership = memberships_in_region(user=member, region=clinic.region).filter(pk=membership_id).first()
    if membership is None:
        raise Http404

    def revoke(*, actor: User, clinic: Clinic, member: User) -> None:
        staff_role_revoke(actor=actor, clinic=clinic, member=member, membership_id=membership_id)

    return _confirmed_action(
        request,
        clinic_id,
        member_id,
        template="confirm_revoke.html",
        act=revoke,
        done=_("The role is taken away from %(name)s."),
        membership=membership,
    )


@staff_required
@GET_POST
def staff_deactivate_view(request: AuthenticatedHttpRequest, clinic_id: int, member_id: int) -> HttpResponse:
    return _confirmed_action(
        request,
        clinic_id,
        member_id,
        template="confirm_deactivate.html",
        act=staff_deactivate,
        done=_("%(name)s's account is deactivated. They are logged out and can no longer log in."),
    )


@staff_required
def staff_reactivate_view(request: AuthenticatedHttpRequest, clinic_id: int, member_id: int) -> HttpResponse:
    return _posted_action(
        request, clinic_id, member_id, act=staff_reactivate, done=_("%(name)s's account is active again.")
    )


@staff_required
@GET_POST
def staff_second_factor_reset_view(request: AuthenticatedHttpRequest, clinic_id: int, member_id: int) -> HttpResponse:
    return _confirmed_action(
        request,
        clinic_id,
        member_id,
        template="confirm_second_factor_reset.html",
        act=staff_second_factor_reset,
        done=_(
            "%(name)s's second factor is removed and they are logged out. At their next login they set up a new one."
        ),
    )


@staff_required
def staff_invitation_resend_view(request: AuthenticatedHttpRequest, clinic_id: int, member_id: int) -> HttpResponse:
    return _posted_action(
        request, clinic_id, member_id, act=staff_invitation_resend, done=_("The invitation is sent to %(name)s again.")
    )
