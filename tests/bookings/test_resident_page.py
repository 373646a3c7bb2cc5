"""The staff's resident page: found by a posted personnummer behind an opaque token (R-SEC-3), the
read audited (R-LOG-4); approving and withdrawing communication (R-REL-1, R-REL-3) with the
bookings that stop being visible named first; a free-text message to the inbox."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Role, User
from bookings.models import InboxMessage, MessageKind
from bookings.selectors import bookings_for_resident
from bookings.services import booking_create_for_resident, clinic_message_send
from clinics.models import ClinicRelation
from clinics.services import communication_approve, communication_withdraw
from core.errors import PermissionDeniedError, ValidationFailed

from ..factories import SlotFactory, make_personnummer, staff, tomorrow_at
from ..pages import text
from ..workspace import login as workspace_login


def page_url(clinic, name: str = "resident_page") -> str:
    return reverse(f"workspace:{name}", args=[clinic.pk])


def find(client, clinic, personnummer: str) -> str:
    """Post the personnummer; the page's URL names only a token."""
    response = client.post(page_url(clinic), {"personnummer": personnummer})
    assert response.status_code == 302, response
    assert personnummer not in response.url and personnummer[2:] not in response.url
    token = re.search(r"\?sok=([\w-]+)$", response.url)
    assert token, response.url
    return token[1]


@pytest.fixture
def booked(scheduler, resident, appointment_type, resource):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10, days=3))
    return booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)


def test_the_page_shows_the_resident_at_this_clinic_and_audits_the_read(sched, clinic, resident, booked):
    token = find(sched, clinic, resident.personnummer)

    content = text(sched.get(f"{page_url(clinic)}?sok={token}"))

    assert resident.get_full_name() in content
    assert "Uppföljning 30 min" in content  # staff see the timebook name
    assert reverse("workspace:booking_detail", args=[clinic.pk, booked.pk]) in content
    assert "Kallelse" in content or "Summons" in content  # the summons the booking sent (R-BOOK-9)
    event = AuditEvent.objects.get(action="resident.view")
    assert (event.resident_id, event.clinic_id) == (resident.pk, clinic.pk)


def test_an_unknown_personnummer_shows_an_empty_state_and_creates_nobody(sched, clinic):
    before = User.objects.count()
    token = find(sched, clinic, make_personnummer(dt.date(1940, 1, 1)))

    response = sched.get(f"{page_url(clinic)}?sok={token}")

    assert response.status_code == 200 and "Ingen invånare hittades" in text(response)
    assert User.objects.count() == before
    assert not AuditEvent.objects.filter(action="resident.view").exists()


def test_a_bad_personnummer_is_refused_with_a_message(sched, clinic):
    response = sched.post(page_url(clinic), {"personnummer": "19850314-0000"})

    assert response.status_code == 400
    assert 'aria-invalid="true"' in text(response)


def test_an_unknown_token_asks_for_a_new_search(sched, clinic):
    response = sched.get(f"{page_url(clinic)}?sok=finns-inte")

    assert response.status_code == 302 and response.url == page_url(clinic)


def test_approve_then_withdraw_lists_the_bookings_that_stop_being_visible(sched, clinic, resident, booked):
    ClinicRelation.objects.filter(resident=resident, clinic=clinic).update(on_start_page=False)
    assert not bookings_for_resident(resident=resident).exists()
    token = find(sched, clinic, resident.personnummer)

    approved = sched.post(page_url(clinic, "resident_approve"), {"sok": token})

    assert approved.status_code == 302
    relation = ClinicRelation.objects.get(resident=resident, clinic=clinic)
    assert relation.approved_for_communication and relation.on_start_page  # R-REL-1
    assert list(bookings_for_resident(resident=resident)) == [booked]

    confirm = sched.get(f"{page_url(clinic, 'resident_withdraw')}?sok={token}")
    assert confirm.status_code == 200
    assert "Besök" in text(confirm) and "slutar synas" in text(confirm)
    relation.refresh_from_db()
    assert relation.approved_for_communication  # the confirm step changes nothing

    sched.post(page_url(clinic, "resident_withdraw"), {"sok": token})

    after = ClinicRelation.objects.get(pk=relation.pk)
    assert not after.approved_for_communication and not after.on_start_page  # R-REL-3
    assert not bookings_for_resident(resident=resident).exists()
    actions = list(AuditEvent.objects.filter(resident=resident).values_list("action", flat=True))
    assert "communication.approve" in actions and "communication.withdraw" in actions


def test_approve_answers_405_to_a_get_and_changes_nothing(sched, clinic, resident):
    token = find(sched, clinic, resident.personnummer)

    assert sched.get(f"{page_url(clinic, 'resident_approve')}?sok={token}").status_code == 405
    assert not ClinicRelation.objects.filter(resident=resident).exists()


def test_a_message_reaches_the_inbox_with_how_to_reach_the_clinic(sched, client, clinic, resident):
    token = find(sched, clinic, resident.personnummer)
    url = page_url(clinic, "resident_message")
    assert sched.get(f"{url}?sok={token}").status_code == 200

    refused = sched.post(url, {"sok": token, "subject": "", "body": ""})
    assert refused.status_code == 400 and not InboxMessage.objects.exists()

    sent = sched.post(url, {"sok": token, "subject": "Provsvar", "body": "Dina prover ser bra ut."})

    assert sent.status_code == 302
    message = InboxMessage.objects.get(resident=resident)
    assert (message.kind, message.subject, message.clinic_id) == (MessageKind.INFO, "Provsvar", clinic.pk)
    assert AuditEvent.objects.filter(action="message.send", resident=resident).exists()
    client.logout()
    client.force_login(resident)
    shown = text(client.get(reverse("bookings:message", args=[message.pk])))
    assert "Dina prover ser bra ut." in shown and "Du kan inte svara" in shown and clinic.phone in shown


def test_services_refuse_staff_without_the_role_and_bad_input(clinic, resident, support, scheduler, other_scheduler):
    for actor in (support, other_scheduler):
        with pytest.raises(PermissionDeniedError):
            communication_approve(actor=actor, resident=resident, clinic=clinic)
        with pytest.raises(PermissionDeniedError):
            communication_withdraw(actor=actor, resident=resident, clinic=clinic)
        with pytest.raises(PermissionDeniedError):
            clinic_message_send(actor=actor, clinic=clinic, resident=resident, subject="Hej", body="Hej")
    with pytest.raises(ValidationFailed) as too_long:
        clinic_message_send(actor=scheduler, clinic=clinic, resident=resident, subject="Hej", body="x" * 2001)
    assert "body" in too_long.value.field_errors
    assert not InboxMessage.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("role", [Role.LOCAL_ADMIN, Role.REGION_IT])
def test_local_admins_and_region_it_use_the_page_too(client, clinic, resident, role):
    workspace_login(client, staff(role, clinic))
    token = find(client, clinic, resident.personnummer)

    assert client.get(f"{page_url(clinic)}?sok={token}").status_code == 200


def test_a_token_from_one_clinic_does_not_open_another(client, clinic, other_clinic, resident):
    user = staff(Role.SCHEDULER, clinic)
    Membership.objects.create(user=user, role=Role.SCHEDULER, clinic=other_clinic)
    workspace_login(client, user)
    token = find(client, clinic, resident.personnummer)

    response = client.get(f"{page_url(other_clinic)}?sok={token}")

    assert response.status_code == 302 and response.url == page_url(other_clinic)
