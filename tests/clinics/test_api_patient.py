"""The clinics API names whom the caller acts for with ``patient``, as the bookings API does
(R-GUARD-2, R-POA-1): the relations, types and case types are the patient's; a patient the caller
may not act for is 404; an attorney whose power covers chosen clinics acts only there."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from bookings.services import power_of_attorney_accept, power_of_attorney_grant
from clinics.models import ClinicRelation, RelationSource
from clinics.services import relation_add

from ..factories import ResidentFactory, make_personnummer

pytestmark = pytest.mark.django_db

UNTIL = timezone.localdate() + dt.timedelta(days=90)
RELATIONS = "/api/v1/relations/"


def types_url(clinic_id: int) -> str:
    return f"/api/v1/clinics/{clinic_id}/appointment-types/"


@pytest.fixture
def limited_attorney(resident, other_resident, clinic, other_clinic, appointment_type) -> Client:
    """Anna has both clinics on her start page; Bertil holds her power of attorney for the other
    clinic only, and asks through the API."""
    for place in (clinic, other_clinic):
        relation_add(resident=resident, clinic=place, source=RelationSource.START_PAGE)
    given = power_of_attorney_grant(
        grantor=resident,
        personnummer=other_resident.personnummer,
        valid_until=UNTIL,
        all_clinics=False,
        clinic_ids=[other_clinic.pk],
    )
    power_of_attorney_accept(grantee=other_resident, power_id=given.pk)
    api = Client()
    api.force_login(other_resident)
    return api


def test_relations_are_the_named_patients_and_a_stranger_is_404(limited_attorney, resident, other_clinic):
    stranger = ResidentFactory(personnummer=make_personnummer(dt.date(1970, 1, 1)))

    own = limited_attorney.get(RELATIONS)
    grantors = limited_attorney.get(RELATIONS, {"patient": resident.pk})

    assert own.status_code == 200 and own.json() == []
    assert [c["id"] for c in grantors.json()] == [other_clinic.pk]  # only the clinic the power covers
    for patient in (stranger.pk, "abc", 999999999):
        assert limited_attorney.get(RELATIONS, {"patient": patient}).status_code == 404
        assert limited_attorney.get("/api/v1/clinics/", {"patient": patient}).status_code == 404
        assert limited_attorney.get(f"/api/v1/clinics/{other_clinic.pk}/", {"patient": patient}).status_code == 404
        assert limited_attorney.get(types_url(other_clinic.pk), {"patient": patient}).status_code == 404


def test_no_patient_for_a_visitor(client, resident, clinic):
    assert client.get("/api/v1/clinics/", {"patient": resident.pk}).status_code == 404
    assert client.get(f"/api/v1/clinics/{clinic.pk}/", {"patient": resident.pk}).status_code == 404
    answer = client.get(f"/api/v1/clinics/{clinic.pk}/")
    assert answer.status_code == 200 and answer.json()["case_types"]


def test_an_attorney_acts_only_at_the_clinics_the_power_covers(
    limited_attorney, resident, clinic, other_clinic, appointment_type
):
    outside = limited_attorney.get(types_url(clinic.pk), {"patient": resident.pk})
    inside = limited_attorney.get(types_url(other_clinic.pk), {"patient": resident.pk})
    card_outside = limited_attorney.get(f"/api/v1/clinics/{clinic.pk}/", {"patient": resident.pk})
    card_inside = limited_attorney.get(f"/api/v1/clinics/{other_clinic.pk}/", {"patient": resident.pk})
    search = limited_attorney.get("/api/v1/clinics/", {"patient": resident.pk}).json()
    listed = {row["id"]: row["case_types"] for row in search}

    assert outside.status_code == 404 and inside.status_code == 200
    assert card_outside.json()["case_types"] == [] and card_inside.json()["case_types"]
    assert listed[clinic.pk] == [] and listed[other_clinic.pk]
    # Taking the other clinic off (or onto) the grantor's start page is refused and changes nothing.
    removed = limited_attorney.delete(f"{RELATIONS}{clinic.pk}/?patient={resident.pk}")
    added = limited_attorney.post(
        RELATIONS, {"patient": resident.pk, "clinic": clinic.pk}, content_type="application/json"
    )
    assert removed.status_code == 404 and added.status_code == 404
    assert ClinicRelation.objects.get(resident=resident, clinic=clinic).on_start_page


def test_an_attorney_changes_the_grantors_start_page_at_a_covered_clinic(
    limited_attorney, resident, other_resident, other_clinic
):
    removed = limited_attorney.delete(f"{RELATIONS}{other_clinic.pk}/?patient={resident.pk}")

    assert removed.status_code == 204
    assert not ClinicRelation.objects.get(resident=resident, clinic=other_clinic).on_start_page
    assert not ClinicRelation.objects.filter(resident=other_resident).exists()
    added = limited_attorney.post(
        RELATIONS, {"patient": resident.pk, "clinic": other_clinic.pk}, content_type="application/json"
    )
    assert added.status_code == 201
    assert ClinicRelation.objects.get(resident=resident, clinic=other_clinic).on_start_page
