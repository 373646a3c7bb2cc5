"""R-PUB-1 across the layers: clinics saves a type's new web name without importing schedules;
schedules hears of it (clinics.signals) and republishes the type's free times in the same
transaction, through the publisher."""

from __future__ import annotations

import pytest
from django.db import transaction

from clinics.services import appointment_type_save
from schedules.models import Slot

from ..factories import reloaded

pytestmark = pytest.mark.django_db


def test_a_new_web_name_unpublishes_the_free_times_until_the_publisher_runs(
    local_admin, clinic, appointment_type, slot, django_capture_on_commit_callbacks
):
    assert slot.is_published is True

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        appointment_type_save(
            actor=local_admin, clinic=clinic, instance=appointment_type, web_name="Vaccination, new name"
        )
        slot = reloaded(slot)
        assert slot.is_published is False

    assert callbacks
    slot.refresh_from_db()
    assert slot.is_published is True


def test_the_republish_rolls_back_with_the_rename(local_admin, clinic, appointment_type, slot):
    with pytest.raises(RuntimeError), transaction.atomic():
        appointment_type_save(actor=local_admin, clinic=clinic, instance=appointment_type, web_name="Another name")
        raise RuntimeError("the change is abandoned")

    slot.refresh_from_db()
    appointment_type.refresh_from_db()
    assert slot.is_published is True
    assert appointment_type.web_name != "Another name"


def test_the_same_web_name_leaves_the_published_times_alone(local_admin, clinic, appointment_type, slot):
    appointment_type_save(actor=local_admin, clinic=clinic, instance=appointment_type, web_info="Ta med legitimation.")
    slot.refresh_from_db()
    assert slot.is_published is True
    assert Slot.objects.filter(appointment_type=appointment_type, is_published=False).count() == 0
