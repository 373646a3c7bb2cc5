"""Region IT manages the region's staff (guide 000, "Anslut", step 1; R-ACL-1, R-AUTH-2): invitations
with a set-password link and the second factor at the first login, roles given and taken per clinic
and for the region, deactivation, the reset of a lost second factor; every change on the audit log
in its own transaction; nothing outside the region, no superuser, never oneself. A local admin sees
who holds which role at the clinic, read-only."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Role, User
from clinics import staff_services
from clinics.staff_services import staff_invite, staff_role_grant, staff_second_factor_reset
from core.errors import PermissionDeniedError
from core.outbox.models import OutboxMessage

from ..factories import ClinicFactory, ResidentFactory, UserFactory, login_with_second_factor, staff
from ..workspace import flashed, login, text, ws_url

INVITE = {
    "first_name": "Nora",
    "last_name": "Nyberg",
    "email": "nora.nyberg@regionstockholm.se",
    "role": Role.SCHEDULER.value,
}


@pytest.fixture
def uppsala(db):
    return ClinicFactory(name="Vårdcentralen Uppsala", region__code="03", region__name="Region Uppsala")


@pytest.fixture
def it_client(client, region_it):
    return login(client, region_it)


def _invite(it_client, page_clinic, **changes):
    return it_client.post(ws_url(page_clinic, "staff_invite"), {**INVITE, "clinic": page_clinic.pk, **changes})


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.TIDBOK_PUBLIC_URL = "https://tidbok.example.se"


def _link(message) -> str:
    match = re.search(r"https://tidbok\.example\.se(/accounts/password/reset/key/\S+/)", message.body)
    assert match, message.body
    return match[1]


# --- Invitations ---------------------------------------------------------------------------------


def test_an_invitation_creates_the_account_and_role_audits_it_and_mails_a_set_password_link(
    it_client, clinic, region_it, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(it_client, clinic)

    nora = User.objects.get(email=INVITE["email"])
    assert response.status_code == 302 and response.url == ws_url(clinic, "staff_member", member_id=nora.pk)
    assert not nora.has_usable_password() and nora.is_active and nora.personnummer is None
    assert [(m.role, m.clinic_id, m.region_id) for m in nora.memberships.all()] == [("scheduler", clinic.pk, None)]
    event = AuditEvent.objects.get(action="staff.invited")
    assert (event.actor, event.clinic, event.object_id) == (region_it, clinic, str(nora.pk))
    assert "Schemaläggare, Vårdcentralen Solna" in event.detail and INVITE["email"] in event.detail
    [message] = mail.outbox
    assert message.to == [INVITE["email"]] and message.subject == "Du har fått ett konto i Tidbok"
    assert "Region Stockholm har gett dig ett konto i Tidbok" in message.body
    assert OutboxMessage.objects.filter(name=staff_services.INVITATION_TASK).count() == 1


def test_the_invited_person_chooses_a_password_and_must_set_up_a_second_factor(
    client, it_client, clinic, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(it_client, clinic)
    link = _link(mail.outbox[0])
    client.logout()

    form = client.get(link, follow=True)
    assert form.status_code == 200
    password = "ett-långt-lösenord-2026"
    done = client.post(form.redirect_chain[-1][0], {"password1": password, "password2": password})
    assert done.status_code == 302

    nora = User.objects.get(email=INVITE["email"])
    assert nora.check_password(password)
    assert client.get(link, follow=True).context["token_fail"]  # the link works once
    login = client.post(reverse("account_login"), {"login": INVITE["email"], "password": password})
    assert login.status_code == 302
    # No second factor yet: the workspace sends her to set one up first (R-AUTH-2).
    workspace = client.get(reverse("workspace:picker"))
    assert workspace.status_code == 302 and "/accounts/2fa/" in workspace.url


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "inte-en-adress"}, "email", "Ange en e-postadress, till exempel namn@regionstockholm.se."),
        ({"first_name": " "}, "first_name", "Ange förnamnet."),
        ({"last_name": ""}, "last_name", "Ange efternamnet."),
        ({"role": ""}, "role", "Välj en roll."),
        ({"clinic": ""}, "clinic", "Välj mottagningen där rollen gäller."),
        ({"role": "proxy_booker"}, "unit_name", "Ange enheten som ombudsbokaren bokar från"),
    ],
)
def test_a_bad_invitation_says_what_is_wrong_in_swedish_and_changes_nothing(it_client, clinic, changes, field, message):
    users = User.objects.count()

    response = _invite(it_client, clinic, **changes)

    assert response.status_code == 400
    content = text(response)
    assert "Det finns ett problem" in content and message in content and f'href="#field-{field}"' in content
    assert User.objects.count() == users
    assert not AuditEvent.objects.filter(action="staff.invited").exists() and not OutboxMessage.objects.exists()


def test_an_address_that_has_an_account_is_refused(it_client, clinic, scheduler):
    response = _invite(it_client, clinic, email=scheduler.email.upper())

    assert response.status_code == 400
    assert "Det finns redan ett konto med den här e-postadressen." in text(response)


def test_a_clinic_of_another_region_cannot_be_chosen(it_client, clinic, uppsala):
    response = _invite(it_client, clinic, clinic=uppsala.pk)

    assert response.status_code == 400 and not User.objects.filter(email=INVITE["email"]).exists()


def test_a_proxy_booker_is_invited_for_the_region_with_the_unit(it_client, clinic):
    _invite(it_client, clinic, role="proxy_booker", unit_name="1177 på telefon")

    membership = Membership.objects.get(user__email=INVITE["email"])
    assert (membership.region, membership.clinic, membership.unit_name) == (clinic.region, None, "1177 på telefon")
    event = AuditEvent.objects.get(action="staff.invited")
    assert (event.clinic, event.region) == (None, clinic.region)  # on the region's audit log


def test_the_invitation_is_sent_again_until_a_password_is_chosen(it_client, clinic, django_capture_on_commit_callbacks):
    _invite(it_client, clinic)
    nora = User.objects.get(email=INVITE["email"])
    url = ws_url(clinic, "staff_invitation_resend", member_id=nora.pk)

    with django_capture_on_commit_callbacks(execute=True):
        it_client.post(url)
    assert len(mail.outbox) == 1 and AuditEvent.objects.filter(action="staff.invitation_resent").count() == 1

    nora.set_password("ett-långt-lösenord-2026")
    nora.save()
    refused = it_client.post(url)
    assert "Personen har redan valt ett lösenord." in flashed(refused)


def test_a_failing_audit_write_undoes_the_whole_invitation(region_it, clinic):
    with (
        mock.patch.object(staff_services, "audit_record", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        staff_invite(actor=region_it, clinic=clinic, **INVITE, role_clinic_id=clinic.pk)

    assert not User.objects.filter(email=INVITE["email"]).exists()
    assert not Membership.objects.filter(user__email=INVITE["email"]).exists() and not OutboxMessage.objects.exists()


# --- Roles ----------------------------------------------------------------------------------------


def test_region_it_gives_and_takes_roles_in_the_region_each_on_the_audit_log(it_client, clinic, scheduler):
    kista = ClinicFactory(name="Barnavårdscentralen Kista")

    given = it_client.post(
        ws_url(clinic, "staff_role_grant", member_id=scheduler.pk), {"role": "local_admin", "clinic": kista.pk}
    )

    assert given.status_code == 302
    membership = Membership.objects.get(user=scheduler, role=Role.LOCAL_ADMIN)
    assert membership.clinic == kista
    granted = AuditEvent.objects.get(action="staff.role_granted")
    assert granted.clinic == kista and "Lokal administratör, Barnavårdscentralen Kista" in granted.detail

    revoke_url = ws_url(clinic, "staff_role_revoke", member_id=scheduler.pk, membership_id=membership.pk)
    assert "Ta bort" in text(it_client.get(revoke_url))  # asks first
    assert it_client.post(revoke_url).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEvent.objects.get(action="staff.role_revoked").clinic == kista


def test_the_same_role_twice_is_a_field_error(it_client, clinic, scheduler):
    response = it_client.post(
        ws_url(clinic, "staff_role_grant", member_id=scheduler.pk), {"role": "scheduler", "clinic": clinic.pk}
    )

    assert response.status_code == 400 and "Personen har redan den här rollen där." in text(response)


def test_the_last_role_is_not_taken_deactivate_instead(it_client, clinic, scheduler):
    membership = scheduler.memberships.get()

    response = it_client.post(
        ws_url(clinic, "staff_role_revoke", member_id=scheduler.pk, membership_id=membership.pk), follow=True
    )

    assert "Det här är personens sista roll." in text(response)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_region_it_cannot_raise_itself_or_change_its_own_account(region_it, clinic):
    with pytest.raises(PermissionDeniedError):
        staff_role_grant(actor=region_it, clinic=clinic, member=region_it, role="local_admin", role_clinic_id=clinic.pk)
    with pytest.raises(PermissionDeniedError):
        staff_second_factor_reset(actor=region_it, clinic=clinic, member=region_it)

    assert list(region_it.memberships.values_list("role", flat=True)) == ["region_it"]
    assert not AuditEvent.objects.filter(action__startswith="staff.").exists()


def test_region_it_of_one_region_cannot_touch_another_region(it_client, clinic, uppsala):
    outsider = staff(Role.SCHEDULER, uppsala)
    for name in ("staff_member", "staff_role_grant", "staff_deactivate", "staff_second_factor_reset"):
        url = ws_url(clinic, name, member_id=outsider.pk)
        assert it_client.get(url).status_code in (404, 405), name
        assert it_client.post(url, {"role": "support", "clinic": clinic.pk}).status_code == 404, name
    assert list(outsider.memberships.values_list("role", flat=True)) == ["scheduler"] and outsider.is_active
    # Nor the other region's clinic pages themselves (R-ACL-1).
    assert it_client.get(ws_url(uppsala, "staff_accounts")).status_code == 404


@pytest.mark.parametrize("who", ["superuser", "admin_staff", "resident"])
def test_superusers_admin_staff_and_residents_are_not_region_its_to_manage(it_client, clinic, who):
    if who == "resident":
        person = ResidentFactory()
        Membership.objects.create(user=person, role=Role.SCHEDULER, clinic=clinic)  # as if given in the admin
    else:
        person = staff(Role.SCHEDULER, clinic)
        person.is_superuser = who == "superuser"
        person.is_staff = True
        person.save()

    assert it_client.get(ws_url(clinic, "staff_member", member_id=person.pk)).status_code == 404
    assert it_client.post(ws_url(clinic, "staff_deactivate", member_id=person.pk)).status_code == 404
    assert person.email not in text(it_client.get(ws_url(clinic, "staff_accounts"))) or who == "resident"
    person.refresh_from_db()
    assert person.is_active


# --- Deactivation and a lost second factor --------------------------------------------------------


def test_a_deactivated_account_is_logged_out_and_cannot_log_back_in(it_client, client_factory, clinic, scheduler):
    theirs = login(client_factory(), scheduler)
    assert theirs.get(ws_url(clinic, "timebook")).status_code == 200

    confirm = it_client.get(ws_url(clinic, "staff_deactivate", member_id=scheduler.pk))
    assert "Avaktivera kontot" in text(confirm)
    it_client.post(ws_url(clinic, "staff_deactivate", member_id=scheduler.pk))

    scheduler.refresh_from_db()
    assert not scheduler.is_active
    assert theirs.get(ws_url(clinic, "timebook")).status_code == 302  # logged out
    assert AuditEvent.objects.get(action="staff.deactivated").object_id == str(scheduler.pk)
    it_client.post(ws_url(clinic, "staff_reactivate", member_id=scheduler.pk))
    scheduler.refresh_from_db()
    assert scheduler.is_active and AuditEvent.objects.filter(action="staff.reactivated").count() == 1


def test_an_account_with_roles_in_another_region_is_not_one_regions_to_deactivate(it_client, clinic, uppsala):
    both = staff(Role.SCHEDULER, clinic)
    Membership.objects.create(user=both, role=Role.SCHEDULER, clinic=uppsala)

    response = it_client.post(ws_url(clinic, "staff_deactivate", member_id=both.pk), follow=True)

    assert "har roller i en annan region" in text(response)
    both.refresh_from_db()
    assert both.is_active


def test_a_lost_second_factor_is_reset_the_person_logged_out_and_asked_to_enrol_again(
    it_client, client_factory, clinic, scheduler
):
    theirs = login(client_factory(), scheduler)
    assert Authenticator.objects.filter(user=scheduler).exists()

    it_client.post(ws_url(clinic, "staff_second_factor_reset", member_id=scheduler.pk))

    assert not Authenticator.objects.filter(user=scheduler).exists()
    assert theirs.get(ws_url(clinic, "timebook")).status_code == 302
    event = AuditEvent.objects.get(action="staff.second_factor_reset")
    assert "1 authenticator(s), 1 session(s) ended" in event.detail
    # Logged in with the password again, the workspace asks for a new second factor first.
    scheduler.set_password("ett-långt-lösenord-2026")
    scheduler.save()
    theirs.post(reverse("account_login"), {"login": scheduler.email, "password": "ett-långt-lösenord-2026"})
    again = theirs.get(ws_url(clinic, "timebook"))
    assert again.status_code == 302 and "/accounts/2fa/" in again.url


def test_a_reset_that_fails_half_way_keeps_the_authenticators(region_it, clinic, scheduler):
    TOTP.activate(scheduler, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    with (
        mock.patch.object(staff_services, "audit_record", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        staff_second_factor_reset(actor=region_it, clinic=clinic, member=scheduler)

    assert Authenticator.objects.filter(user=scheduler).exists()


# --- Pages ----------------------------------------------------------------------------------------


def test_the_region_list_shows_every_staff_account_of_the_region_only(it_client, clinic, scheduler, uppsala):
    outsider = staff(Role.SCHEDULER, uppsala)
    outsider.email = "utanfor@regionuppsala.se"
    outsider.save()
    invited = UserFactory(email="ny@regionstockholm.se", first_name="Ny", last_name="Inbjuden")
    invited.set_unusable_password()
    invited.save()
    Membership.objects.create(user=invited, role=Role.SUPPORT, clinic=clinic)

    content = text(it_client.get(ws_url(clinic, "staff_accounts")))

    assert scheduler.email in content and "Schemaläggare, Vårdcentralen Solna" in content
    assert "Inbjuden, har inte valt lösenord än" in content
    assert outsider.email not in content


def test_a_local_admin_sees_who_holds_which_role_at_the_clinic_read_only(client, clinic, local_admin, scheduler):
    proxy = staff(Role.PROXY_BOOKER, clinic, unit_name="1177 på telefon")
    login(client, local_admin)

    response = client.get(ws_url(clinic, "clinic_roles"))

    content = text(response)
    assert response.status_code == 200
    assert scheduler.email in content and proxy.email in content and "Ombudsbokare (1177 på telefon)" in content
    assert "<form" not in content.split("<main", 1)[1].split("</main>")[0].replace(
        'form method="post" action="/i18n', ""
    )
    assert "personalkonton" not in content  # no way to the region IT pages
    assert client.get(ws_url(clinic, "staff_accounts")).status_code == 403


def test_the_pages_speak_english_when_chosen(it_client, clinic, scheduler, settings):
    it_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    content = text(it_client.get(ws_url(clinic, "staff_member", member_id=scheduler.pk)))

    assert "Give a role" in content and "Reset a lost second factor" in content


def test_the_service_refuses_anyone_but_region_it(local_admin, clinic, scheduler):
    with pytest.raises(PermissionDeniedError):
        staff_role_grant(actor=local_admin, clinic=clinic, member=scheduler, role="support", role_clinic_id=clinic.pk)
    with pytest.raises(PermissionDeniedError):
        staff_invite(actor=scheduler, clinic=clinic, **INVITE, role_clinic_id=clinic.pk)

    assert not Membership.objects.filter(user=scheduler, role=Role.SUPPORT).exists()
    assert not User.objects.filter(email=INVITE["email"]).exists()


@pytest.fixture
def client_factory():
    return Client


def test_a_second_factor_session_is_needed(client, clinic, region_it):
    client.force_login(region_it)  # no second factor in this session
    assert client.get(ws_url(clinic, "staff_accounts")).status_code == 302
    login_with_second_factor(client, region_it)
    assert client.get(ws_url(clinic, "staff_accounts")).status_code == 200


def test_region_its_staff_changes_are_on_its_audit_log_page_in_words(it_client, clinic, scheduler):
    it_client.post(ws_url(clinic, "staff_role_grant", member_id=scheduler.pk), {"role": "support", "clinic": clinic.pk})
    it_client.post(ws_url(clinic, "staff_second_factor_reset", member_id=scheduler.pk))

    content = text(it_client.get(ws_url(clinic, "audit_log")))

    assert "Gav en person i personalen en roll" in content
    assert "Återställde den andra faktorn för en person i personalen" in content
