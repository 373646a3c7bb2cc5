"""What the bulk export's tests share: parts of two lines, so a handful of slots spans several
parts, and one clinic's slots an hour apart from nine tomorrow."""

from __future__ import annotations

from typing import Any

import pytest

from ..factories import AppointmentTypeFactory, ClinicFactory, ResourceFactory, SlotFactory, tomorrow_at

PART = 2


@pytest.fixture
def small_bulk_parts(settings):
    settings.TIDBOK_PUBLIC_URL = "https://tidbok.example.se"
    settings.TIDBOK_BULK_PART_LINES = PART


def bulk_world(slot_count: int) -> dict[str, Any]:
    """A clinic's type and resource with ``slot_count`` slots, in start order."""
    clinic = ClinicFactory()
    appointment_type = AppointmentTypeFactory(clinic=clinic, web_name="Besök")
    resource = ResourceFactory(clinic=clinic)
    slots = [
        SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9 + n))
        for n in range(slot_count)
    ]
    return {"type": appointment_type, "resource": resource, "slots": slots}
