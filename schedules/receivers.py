"""Receivers of what the lower apps announce (clinics/signals.py); connected in SchedulesConfig.ready."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from clinics.models import AppointmentType
from clinics.signals import appointment_type_web_name_changed

from .services import slots_republish_for_type


@receiver(appointment_type_web_name_changed)
def republish_renamed_type(sender: Any, *, appointment_type: AppointmentType, **kwargs: Any) -> None:
    """R-PUB-1: a new web name reaches residents through the publisher like any new time."""
    slots_republish_for_type(appointment_type=appointment_type)
