"""A slot's resource and clinic are checked by the database with one composite key, (resource_id,
clinic_id) → the resource's (id, clinic_id): the resource and the clinic must exist and the clinic
must be the resource's. PostgreSQL only (the production database); keys are checked at commit,
here at once."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from clinics.models import Resource
from schedules.models import Slot

from ..factories import ClinicFactory, ResourceFactory, SlotFactory, tomorrow_at

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the composite key is PostgreSQL's"),
]


def _checked_now(write) -> None:
    """Run ``write`` in a savepoint with the keys checked as each row changes."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        write()


def _slot(**fields) -> Slot:
    return Slot(start=tomorrow_at(9), end=tomorrow_at(9, 20), **fields)


def test_a_slot_of_a_resource_and_its_clinic_goes_in(resource, appointment_type):
    _checked_now(lambda: _slot(clinic=resource.clinic, resource=resource, appointment_type=appointment_type).save())
    assert Slot.objects.filter(resource=resource).count() == 1


def test_a_slot_whose_clinic_is_not_its_resources_is_refused(resource, appointment_type):
    elsewhere = ClinicFactory()
    with pytest.raises(IntegrityError):
        _checked_now(lambda: _slot(clinic=elsewhere, resource=resource, appointment_type=appointment_type).save())
    assert not Slot.objects.filter(resource=resource).exists()


def test_a_slot_of_a_resource_that_does_not_exist_is_refused(clinic, appointment_type):
    missing = Resource(pk=10**9, clinic=clinic)
    with pytest.raises(IntegrityError):
        _checked_now(lambda: _slot(clinic=clinic, resource=missing, appointment_type=appointment_type).save())


def test_a_slot_of_a_clinic_that_does_not_exist_is_refused(resource, appointment_type):
    def write() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO schedules_slot (clinic_id, resource_id, appointment_type_id, start, "end", status,
                                            is_published, is_blocked, created_at)
                VALUES (%s, %s, %s, %s, %s, 'free', false, false, now())
                """,
                [10**9, resource.pk, appointment_type.pk, tomorrow_at(9), tomorrow_at(9, 20)],
            )

    with pytest.raises(IntegrityError):
        _checked_now(write)


def test_a_slot_cannot_be_moved_to_another_clinic_than_its_resources(resource):
    slot = SlotFactory(resource=resource, clinic=resource.clinic)
    elsewhere = ClinicFactory()
    with pytest.raises(IntegrityError):
        _checked_now(lambda: Slot.objects.filter(pk=slot.pk).update(clinic=elsewhere))


def test_a_resource_with_slots_can_neither_go_nor_change_clinic_under_them(resource):
    SlotFactory(resource=resource, clinic=resource.clinic)
    elsewhere = ClinicFactory()
    with pytest.raises(IntegrityError):
        _checked_now(lambda: Resource.objects.filter(pk=resource.pk).update(clinic=elsewhere))

    def delete_behind_djangos_back() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM clinics_resource WHERE id = %s", [resource.pk])

    with pytest.raises(IntegrityError):
        _checked_now(delete_behind_djangos_back)


def test_deleting_a_resource_takes_its_slots_with_it(resource):
    SlotFactory(resource=resource, clinic=resource.clinic)
    other = SlotFactory(resource=ResourceFactory(clinic=resource.clinic), clinic=resource.clinic)
    _checked_now(resource.delete)
    assert list(Slot.objects.values_list("pk", flat=True)) == [other.pk]
