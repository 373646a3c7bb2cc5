"""Resource names are what residents see (R-RES-1), and only the clinic's admins change them (R-ACL-1)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from clinics.models import Resource, ResourceKind
from clinics.services import resource_save, validate_resource_name
from core.errors import ErrorCode, PermissionDeniedError, ValidationFailed

from ..factories import ClinicFactory, RegionFactory, ResourceFactory, staff


def _name_message(exc: ValidationFailed) -> str:
    assert exc.code == ErrorCode.INVALID_INPUT
    assert list(exc.field_errors) == ["name"]
    # Staff read it in Swedish, the default language.
    return " ".join(str(message) for message in exc.field_errors["name"])


@pytest.mark.parametrize(
    ("name", "abbreviation"),
    [
        ("DSK", "DSK"),
        ("DSK Anna", "DSK"),
        ("Anna Ek, DSK", "DSK"),
        ("BVC-sköterska", "BVC"),
        ("SSK 2", "SSK"),
        ("ÖL", "ÖL"),
        # The rule is case-insensitive for the titles staff abbreviate in every case.
        ("ssk", "ssk"),
        ("Dsk Anna", "Dsk"),
        ("Anna Ek, usk", "usk"),
        ("bvc-sköterska", "bvc"),
    ],
)
def test_all_capital_abbreviation_is_refused_with_a_reason(local_admin, clinic, name, abbreviation):
    with pytest.raises(ValidationFailed) as exc:
        resource_save(actor=local_admin, clinic=clinic, name=name)

    message = _name_message(exc.value)
    assert abbreviation in message
    assert "förkortning" in message.lower()
    assert not Resource.objects.filter(clinic=clinic, name=name).exists()


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("rumsnamn", "rumsnamn"),
        ("Rumsnamn 3", "rumsnamn"),
        ("Stafettläkare", "stafettläkare"),
        ("stafettläkare Kalle", "stafettläkare"),
        ("StafettLäkare", "stafettläkare"),
        ("Bemanningspersonal", "bemanningspersonal"),
        ("Sjuksköterska (bemanningspersonal)", "bemanningspersonal"),
        ("BEMANNINGSPERSONAL", "bemanningspersonal"),
    ],
)
def test_banned_words_are_refused_in_any_case_with_a_reason(local_admin, clinic, name, word):
    with pytest.raises(ValidationFailed) as exc:
        resource_save(actor=local_admin, clinic=clinic, name=name)

    message = _name_message(exc.value)
    assert word in message.lower()
    assert "invånar" in message.lower()
    assert not Resource.objects.filter(clinic=clinic, name=name).exists()


@pytest.mark.parametrize(
    "name",
    ["Distriktssköterska", "Dr Anna Ek", "Sjuksköterska Åsa Öberg", "Läkare 2", "Barnmorska Eva-Lena Ek", "Anna E"],
)
def test_written_out_names_are_accepted(local_admin, clinic, name):
    resource = resource_save(actor=local_admin, clinic=clinic, name=name)

    resource.refresh_from_db()
    assert resource.name == name
    assert resource.clinic == clinic


def test_name_whitespace_is_normalised(local_admin, clinic):
    resource = resource_save(actor=local_admin, clinic=clinic, name="  Dr   Anna  Ek ")

    assert resource.name == "Dr Anna Ek"


def test_empty_name_is_refused(local_admin, clinic):
    with pytest.raises(ValidationFailed) as exc:
        resource_save(actor=local_admin, clinic=clinic, name="   ")

    assert "name" in exc.value.field_errors
    assert not Resource.objects.filter(clinic=clinic).exists()


def test_validator_returns_the_cleaned_name_and_refuses_abbreviations():
    assert validate_resource_name(" Distriktssköterska ") == "Distriktssköterska"
    with pytest.raises(ValidationFailed) as exc:
        validate_resource_name("DSK")
    assert "name" in exc.value.field_errors


def test_renaming_a_resource_to_an_abbreviation_is_refused_and_keeps_the_old_name(local_admin, clinic):
    resource = ResourceFactory(clinic=clinic, name="Distriktssköterska")

    with pytest.raises(ValidationFailed):
        resource_save(actor=local_admin, clinic=clinic, name="DSK", instance=resource)

    resource.refresh_from_db()
    assert resource.name == "Distriktssköterska"


def test_renaming_a_resource_to_a_written_out_name_is_saved(local_admin, clinic):
    resource = ResourceFactory(clinic=clinic, name="Distriktssköterska")

    resource_save(
        actor=local_admin, clinic=clinic, name="Dr Anna Ek", kind=ResourceKind.PRACTITIONER, instance=resource
    )

    resource.refresh_from_db()
    assert resource.name == "Dr Anna Ek"
    assert resource.kind == ResourceKind.PRACTITIONER


def test_duplicate_resource_name_in_the_same_clinic_is_refused(local_admin, clinic):
    ResourceFactory(clinic=clinic, name="Distriktssköterska")

    with pytest.raises(ValidationFailed) as exc:
        resource_save(actor=local_admin, clinic=clinic, name="Distriktssköterska")

    assert "name" in exc.value.field_errors
    assert Resource.objects.filter(clinic=clinic, name="Distriktssköterska").count() == 1


def test_unknown_resource_kind_is_refused(local_admin, clinic):
    with pytest.raises(ValidationFailed) as exc:
        resource_save(actor=local_admin, clinic=clinic, name="Distriktssköterska", kind="robot")

    assert "kind" in exc.value.field_errors


# --- R-ACL-1 ---------------------------------------------------------------------------------------


def test_local_admin_of_another_clinic_may_not_save_resources(clinic):
    outsider = staff(Role.LOCAL_ADMIN, ClinicFactory(name="Vårdcentralen Nacka"))

    with pytest.raises(PermissionDeniedError) as exc:
        resource_save(actor=outsider, clinic=clinic, name="Distriktssköterska")

    assert exc.value.code == ErrorCode.PERMISSION_DENIED
    assert not Resource.objects.filter(clinic=clinic).exists()


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.SUPPORT])
def test_clinic_staff_who_are_not_admins_may_not_save_resources(clinic, role):
    with pytest.raises(PermissionDeniedError):
        resource_save(actor=staff(role, clinic), clinic=clinic, name="Distriktssköterska")

    assert not Resource.objects.filter(clinic=clinic).exists()


def test_region_it_of_the_clinics_region_may_save_resources(region_it, clinic):
    resource = resource_save(actor=region_it, clinic=clinic, name="Distriktssköterska")

    assert Resource.objects.filter(pk=resource.pk, clinic=clinic).exists()


def test_region_it_of_another_region_may_not_save_resources(clinic):
    uppsala_it = staff(Role.REGION_IT, region=RegionFactory(name="Region Uppsala", code="03"))

    with pytest.raises(PermissionDeniedError):
        resource_save(actor=uppsala_it, clinic=clinic, name="Distriktssköterska")

    assert not Resource.objects.filter(clinic=clinic).exists()
