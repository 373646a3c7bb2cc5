"""Receivers of what the lower apps announce (clinics/signals.py, and saves of the clinic's
settings); connected in SchedulesConfig.ready."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from clinics.models import AppointmentType, CaseType, Clinic, Region
from clinics.signals import appointment_type_web_name_changed

from . import free_times
from .services import slots_republish_for_type


@receiver(appointment_type_web_name_changed)
def republish_renamed_type(sender: Any, *, appointment_type: AppointmentType, **kwargs: Any) -> None:
    """R-PUB-1: a new web name reaches residents through the publisher like any new time."""
    slots_republish_for_type(appointment_type=appointment_type)


# The free-times cache keeps the clinic's side of the gate (the type, its clinic and region, the
# BOOK case type) under the clinic's version: any change to them bumps it after the commit, as a
# change to the times does. A new type, clinic or region had nothing cached under its id, and a
# gate is cached only once the clinic's BOOK case type exists (one per clinic and kind), so only
# changes and deletions bump.
@receiver(post_save, sender=AppointmentType)
@receiver(post_delete, sender=AppointmentType)
@receiver(post_save, sender=CaseType)
@receiver(post_delete, sender=CaseType)
def free_times_gate_changed(sender: Any, *, instance: AppointmentType | CaseType, **kwargs: Any) -> None:
    if not kwargs.get("created"):
        _invalidate_on_commit([instance.clinic_id])


@receiver(post_save, sender=Clinic)
@receiver(post_delete, sender=Clinic)
def free_times_clinic_changed(sender: Any, *, instance: Clinic, **kwargs: Any) -> None:
    if not kwargs.get("created"):
        _invalidate_on_commit([instance.pk])


@receiver(post_save, sender=Region)
def free_times_region_changed(sender: Any, *, instance: Region, created: bool, **kwargs: Any) -> None:
    if not created:
        _invalidate_on_commit(Clinic.objects.filter(region=instance).values_list("pk", flat=True))


def _invalidate_on_commit(clinic_ids: Iterable[int]) -> None:
    # In a savepoint of its own: the outbox hands every later row of the transaction to the first
    # after-commit relay registered while that relay's savepoint is open. A save of a type may
    # come first in a longer transaction (a script, a test that sets a type up and then books);
    # this way the rows added after it stay with the relay registered where they were added.
    with transaction.atomic():
        free_times.invalidate_on_commit(clinic_ids)
