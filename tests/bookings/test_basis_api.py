"""The staff API for booking bases and open summons (R-TYPE-4, R-REL-1, R-ACL-1, R-LOG-4,
R-SEC-3): list, read, issue, revoke, send; who may call each, and the audit events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, Role
from bookings.models import BasisKind, BasisState, BookingBasis, BookingStatus, InboxMessage
from bookings.services import booking_create
from clinics.models import ClinicRelation

from ..core.test_api import problem_of
from ..factories import AppointmentTypeFactory, BookingBasisFactory, make_personnummer, staff, tomorrow_at
from ..pages import make_slot
from .test_staff_api import login

pytestmark = pytest.mark.django_db


def url(clinic, rest: str = "") -> str:
    return f"/api/v1/staff/clinics/{clinic.pk}/{rest}"


def day(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def referral_type(clinic):
    return AppointmentTypeFactory(
        clinic=clinic, internal_name="Remissbesök 45 min", web_name="Besök efter remiss", requires_booking_basis=True
    )


def test_a_scheduler_issues_lists_and_revokes_a_basis(client, clinic, scheduler, resident, referral_type, resource):
    login(client, scheduler)
    created = client.post(
        url(clinic, "booking-bases/"),
        {
            "personnummer": resident.personnummer,
            "appointment_type": referral_type.pk,
            "valid_until": day(30),
            "max_bookings": 2,
            "note": "Remiss",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["state"], body["max_bookings"], body["uses"]) == ("basis", "active", 2, 0)
    basis = BookingBasis.objects.get(pk=body["id"])
    booking = booking_create(resident=resident, slot_id=make_slot(referral_type, resource, tomorrow_at(9, days=2)).pk)

    listed = client.get(url(clinic, "booking-bases/"), {"state": "active"})
    assert [row["id"] for row in listed.json()] == [basis.pk]
    assert listed.json()[0]["uses"] == 1

    revoked = client.post(url(clinic, f"booking-bases/{basis.pk}/revoke/"), content_type="application/json")
    assert revoked.status_code == 200
    assert revoked.json()["bookings_kept"] == 1 and revoked.json()["basis"]["state"] == "revoked"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    again = client.post(url(clinic, f"booking-bases/{basis.pk}/revoke/"), content_type="application/json")
    assert again.status_code == 403 and problem_of(again)["code"] == "APPOINTMENT_IS_NOT_ALLOWED"
    actions = list(AuditEvent.objects.filter(resident=resident).values_list("action", flat=True).order_by("pk"))
    assert actions == ["booking_basis.issue", "booking_basis.resident_shown", "booking_basis.revoke"]


def test_an_open_summons_is_sent_through_the_api(client, clinic, scheduler, appointment_type):
    login(client, scheduler)
    personnummer = make_personnummer()

    response = client.post(
        url(clinic, "open-summons/"),
        {
            "personnummer": personnummer,
            "appointment_type": appointment_type.pk,
            "valid_from": day(1),
            "valid_until": day(20),
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    summons = BookingBasis.objects.get(pk=response.json()["id"])
    assert summons.kind == BasisKind.OPEN_SUMMONS and summons.resident.personnummer == personnummer
    assert InboxMessage.objects.filter(booking_basis=summons).exists()
    assert ClinicRelation.objects.filter(resident=summons.resident, clinic=clinic).exists()
    assert AuditEvent.objects.filter(action="open_summons.send", resident=summons.resident).exists()


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("booking-bases/", {"personnummer": "19850314-0000"}, "personnummer"),
        ("booking-bases/", {"valid_until": "2020-01-01"}, "valid_until"),
        ("booking-bases/", {"max_bookings": 0}, "max_bookings"),
        ("booking-bases/", {"appointment_type": 999999}, "appointment_type"),
        ("open-summons/", {"valid_from": None}, "valid_from"),
        ("open-summons/", {"valid_from": "2099-02-01", "valid_until": "2099-01-01"}, "valid_until"),
    ],
)
def test_bad_input_is_a_400_problem_and_writes_nothing(
    client, clinic, scheduler, appointment_type, path, payload, field
):
    login(client, scheduler)
    data = {
        "personnummer": make_personnummer(),
        "appointment_type": appointment_type.pk,
        "valid_from": day(1),
        "valid_until": day(10),
        **payload,
    }
    data = {k: v for k, v in data.items() if v is not None}

    response = client.post(url(clinic, path), data, content_type="application/json")

    assert response.status_code == 400, response.content
    assert field in str(problem_of(response))
    assert not BookingBasis.objects.exists() and not InboxMessage.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_personnummer_is_never_taken_from_the_query(client, clinic, scheduler, appointment_type):
    login(client, scheduler)
    response = client.post(
        url(clinic, f"booking-bases/?personnummer={make_personnummer()}"),
        {"appointment_type": appointment_type.pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not BookingBasis.objects.exists()


# --- Who may do what (R-ACL-1) ------------------------------------------------------------------------

READERS = {"scheduler", "local_admin", "region_it", "support"}
ISSUERS = {"scheduler", "local_admin", "region_it"}
PERSONAS = ["scheduler", "support", "local_admin", "region_it", "other_clinic_scheduler", "resident", "anonymous"]


def _endpoints(basis, appointment_type):
    return [
        ("list", READERS, "get", "booking-bases/", None, 200),
        ("detail", READERS, "get", f"booking-bases/{basis.pk}/", None, 200),
        (
            "issue",
            ISSUERS,
            "post",
            "booking-bases/",
            {"personnummer": make_personnummer(), "appointment_type": appointment_type.pk},
            201,
        ),
        ("revoke", ISSUERS, "post", f"booking-bases/{basis.pk}/revoke/", {}, 200),
        (
            "summons",
            ISSUERS,
            "post",
            "open-summons/",
            {
                "personnummer": make_personnummer(),
                "appointment_type": appointment_type.pk,
                "valid_from": day(1),
                "valid_until": day(5),
            },
            201,
        ),
    ]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", ["list", "detail", "issue", "revoke", "summons"])
def test_every_basis_endpoint_is_for_its_roles_at_this_clinic_only(
    client, clinic, other_clinic, resident, appointment_type, persona, name
):
    basis = BookingBasisFactory(appointment_type=appointment_type)
    [(_name, allowed, method, path, payload, success)] = [
        e for e in _endpoints(basis, appointment_type) if e[0] == name
    ]
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
    bases_before = BookingBasis.objects.count()

    if method == "get":
        response = client.get(url(clinic, path))
    else:
        response = client.post(url(clinic, path), payload, content_type="application/json")

    if persona in allowed:
        assert response.status_code == success, response.content
        return
    expected = 404 if persona == "other_clinic_scheduler" else 403
    assert response.status_code == expected, response.content
    assert problem_of(response)["code"] == ("NOT_FOUND" if expected == 404 else "PERMISSION_DENIED")
    assert BookingBasis.objects.count() == bases_before
    basis.refresh_from_db()
    assert basis.state == BasisState.ACTIVE
    assert not AuditEvent.objects.exists()


def test_another_clinics_basis_is_not_found_in_this_clinics_url(client, clinic, other_clinic, scheduler):
    theirs = BookingBasisFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))
    login(client, scheduler)
    assert client.get(url(clinic, f"booking-bases/{theirs.pk}/")).status_code == 404
    response = client.post(url(clinic, f"booking-bases/{theirs.pk}/revoke/"), content_type="application/json")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
