"""The staff API of the resident page (R-REL-1, R-REL-3, R-LOG-4, R-ACL-1, R-SEC-3): look up,
approve and withdraw communication, send a message; who may call each, and the audit events."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent, Role
from bookings.models import InboxMessage
from bookings.services import booking_create_for_resident
from clinics.models import ClinicRelation

from ..core.test_api import problem_of
from ..factories import SlotFactory, make_personnummer, staff, tomorrow_at
from .test_staff_api import login

pytestmark = pytest.mark.django_db


def url(clinic, rest: str) -> str:
    return f"/api/v1/staff/clinics/{clinic.pk}/residents/{rest}"


def post(client, clinic, rest: str, payload: dict):
    return client.post(url(clinic, rest), payload, content_type="application/json")


def test_look_up_approve_withdraw_and_write(client, clinic, scheduler, resident, appointment_type, resource):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10, days=3))
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)
    login(client, scheduler)

    looked = post(client, clinic, "lookup/", {"personnummer": resident.personnummer})
    assert looked.status_code == 200, looked.content
    body = looked.json()
    assert body["bookings"][0]["id"] == booking.pk and body["bookings"][0]["visible_on_web"] is True
    assert body["messages"][0]["kind"] == "summons"
    assert AuditEvent.objects.filter(action="resident.view", resident=resident).exists()

    approved = post(client, clinic, "communication/", {"personnummer": resident.personnummer, "approved": True})
    assert approved.status_code == 200 and approved.json()["approved_for_communication"] is True
    assert ClinicRelation.objects.get(resident=resident, clinic=clinic).approved_for_communication

    withdrawn = post(client, clinic, "communication/", {"personnummer": resident.personnummer, "approved": False})
    assert withdrawn.status_code == 200
    assert [b["id"] for b in withdrawn.json()["bookings_no_longer_visible"]] == [booking.pk]
    relation = ClinicRelation.objects.get(resident=resident, clinic=clinic)
    assert not relation.approved_for_communication and not relation.on_start_page

    sent = post(client, clinic, "messages/", {"personnummer": resident.personnummer, "subject": "Hej", "body": "Text"})
    assert sent.status_code == 201
    assert InboxMessage.objects.filter(resident=resident, subject="Hej").exists()
    actions = set(AuditEvent.objects.filter(resident=resident).values_list("action", flat=True))
    assert {"communication.approve", "communication.withdraw", "message.send"} <= actions


def test_bad_input_is_a_400_and_an_unknown_resident_a_404(client, clinic, scheduler, resident):
    login(client, scheduler)

    bad = post(client, clinic, "lookup/", {"personnummer": "19850314-0000"})
    empty = post(client, clinic, "messages/", {"personnummer": resident.personnummer, "subject": "", "body": ""})
    unknown = post(client, clinic, "communication/", {"personnummer": make_personnummer(), "approved": True})

    assert (bad.status_code, empty.status_code, unknown.status_code) == (400, 400, 404)
    assert problem_of(empty)["code"] == "INVALID_INPUT"
    assert not InboxMessage.objects.exists() and not ClinicRelation.objects.exists()


PERSONAS = ["scheduler", "local_admin", "region_it", "support", "other_clinic_scheduler", "resident", "anonymous"]
ALLOWED = {"scheduler", "local_admin", "region_it"}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("rest", "extra", "success"),
    [
        ("lookup/", {}, 200),
        ("communication/", {"approved": True}, 200),
        ("messages/", {"subject": "Hej", "body": "Hej"}, 201),
    ],
    ids=["lookup", "communication", "messages"],
)
def test_every_resident_endpoint_is_for_its_roles_at_this_clinic_only(
    client, clinic, other_clinic, resident, persona, rest, extra, success
):
    user = {
        "scheduler": lambda: staff(Role.SCHEDULER, clinic),
        "support": lambda: staff(Role.SUPPORT, clinic),
        "local_admin": lambda: staff(Role.LOCAL_ADMIN, clinic),
        "region_it": lambda: staff(Role.REGION_IT, clinic),
        "other_clinic_scheduler": lambda: staff(Role.SCHEDULER, other_clinic),
        "resident": lambda: resident,
        "anonymous": lambda: None,
    }[persona]()
    if user is not None:
        login(client, user)

    response = post(client, clinic, rest, {"personnummer": resident.personnummer, **extra})

    if persona in ALLOWED:
        assert response.status_code == success, response.content
        return
    expected = 404 if persona == "other_clinic_scheduler" else 403
    assert response.status_code == expected, response.content
    assert not AuditEvent.objects.exists() and not InboxMessage.objects.exists()
    assert not ClinicRelation.objects.exists()


def test_the_personnummer_is_never_taken_from_the_query(client, clinic, scheduler, resident):
    login(client, scheduler)

    response = client.post(
        f"{url(clinic, 'lookup/')}?personnummer={resident.personnummer}", {}, content_type="application/json"
    )

    assert response.status_code == 400
    assert not AuditEvent.objects.exists()
