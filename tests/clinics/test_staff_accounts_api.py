"""The staff API for staff accounts and roles (guide 000, "Anslut", step 1; R-ACL-1, R-AUTH-2,
R-SEC-2): the same rules and audit events as region IT's pages, every role decided."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail

from accounts.models import AuditEvent, Membership, Role, User

from ..core.test_api import problem_of
from ..factories import ClinicFactory, ResidentFactory, staff
from ..workspace import login

pytestmark = pytest.mark.django_db


def api(clinic, rest: str = "") -> str:
    return f"/api/v1/staff/clinics/{clinic.pk}/{rest}"


@pytest.fixture
def it_client(client, region_it):
    return login(client, region_it)


def test_region_it_invites_gives_takes_deactivates_and_resets_through_the_api(
    it_client, clinic, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = it_client.post(
            api(clinic, "staff-accounts/"),
            {
                "email": "nils@regionstockholm.se",
                "first_name": "Nils",
                "last_name": "Nord",
                "role": "support",
                "clinic": clinic.pk,
            },
            content_type="application/json",
        )
    assert created.status_code == 201, created.content
    member_id = created.json()["id"]
    assert created.json()["memberships"][0]["role"] == "support" and len(mail.outbox) == 1

    listed = it_client.get(api(clinic, "staff-accounts/")).json()
    [row] = [row for row in listed if row["id"] == member_id]
    assert (row["email"], row["invited"], row["has_second_factor"]) == ("nils@regionstockholm.se", True, False)

    given = it_client.post(
        api(clinic, f"staff-accounts/{member_id}/roles/"),
        {"role": "proxy_booker", "unit_name": "1177 på telefon"},
        content_type="application/json",
    )
    assert given.status_code == 201 and given.json()["region"] == clinic.region.code
    taken = it_client.delete(api(clinic, f"staff-accounts/{member_id}/roles/{given.json()['id']}/"))
    assert taken.status_code == 204

    off = it_client.patch(
        api(clinic, f"staff-accounts/{member_id}/"), {"is_active": False}, content_type="application/json"
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert it_client.post(api(clinic, f"staff-accounts/{member_id}/second-factor-reset/")).status_code == 204
    actions = set(AuditEvent.objects.filter(action__startswith="staff.").values_list("action", flat=True))
    assert actions == {
        "staff.invited",
        "staff.role_granted",
        "staff.role_revoked",
        "staff.deactivated",
        "staff.second_factor_reset",
    }


def test_bad_input_is_a_400_with_swedish_field_errors_and_changes_nothing(it_client, clinic):
    response = it_client.post(
        api(clinic, "staff-accounts/"),
        {"email": "inte-en-adress", "first_name": "", "last_name": "Nord", "role": "scheduler"},
        content_type="application/json",
    )

    problem = problem_of(response)
    assert response.status_code == 400
    assert problem["errors"]["email"] == ["Ange en e-postadress, till exempel namn@regionstockholm.se."]
    assert problem["errors"]["first_name"] == ["Ange förnamnet."]
    assert not User.objects.filter(last_name="Nord").exists()


def test_the_last_role_and_ones_own_account_are_refused(it_client, clinic, region_it, scheduler):
    last = scheduler.memberships.get()
    assert it_client.delete(api(clinic, f"staff-accounts/{scheduler.pk}/roles/{last.pk}/")).status_code == 403
    own = it_client.post(api(clinic, f"staff-accounts/{region_it.pk}/second-factor-reset/"))
    assert own.status_code == 403
    assert Membership.objects.filter(pk=last.pk).exists() and Authenticator.objects.filter(user=region_it).exists()


@pytest.mark.parametrize("role", [Role.LOCAL_ADMIN, Role.SCHEDULER, Role.SUPPORT])
def test_only_region_it_manages_staff_a_local_admin_reads_the_clinics_roles(client, clinic, role, scheduler):
    login(client, staff(role, clinic))

    assert client.get(api(clinic, "staff-accounts/")).status_code == 403
    assert client.post(api(clinic, f"staff-accounts/{scheduler.pk}/second-factor-reset/")).status_code == 403
    roles = client.get(api(clinic, "roles/"))
    if role == Role.LOCAL_ADMIN:
        assert roles.status_code == 200 and scheduler.email in {row["email"] for row in roles.json()}
    else:
        assert roles.status_code == 403


def test_another_region_residents_superusers_and_sessions_without_a_second_factor_get_nothing(
    client, it_client, clinic, region_it
):
    uppsala = ClinicFactory(region__code="03", region__name="Region Uppsala")
    outsider = staff(Role.SCHEDULER, uppsala)
    superuser = staff(Role.SCHEDULER, clinic)
    superuser.is_superuser = superuser.is_staff = True
    superuser.save()
    for person in (outsider, superuser):
        assert it_client.get(api(clinic, f"staff-accounts/{person.pk}/")).status_code == 404
        reset = it_client.post(api(clinic, f"staff-accounts/{person.pk}/second-factor-reset/"))
        assert reset.status_code == 404
    assert it_client.get(api(uppsala, "staff-accounts/")).status_code == 404

    client.force_login(ResidentFactory())
    assert client.get(api(clinic, "staff-accounts/")).status_code == 403
    client.force_login(region_it)  # no second factor in this session (R-SEC-2)
    assert client.get(api(clinic, "staff-accounts/")).status_code == 403
