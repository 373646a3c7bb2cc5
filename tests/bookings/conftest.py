"""Fixtures of the resident page tests."""

from __future__ import annotations

import pytest
from django.test import Client

from bookings.services import booking_create

from ..factories import (
    tomorrow_at,
)
from ..pages import make_slot


@pytest.fixture
def day_slots(appointment_type, resource):
    """Two free times on one day three days ahead, at 10:00 and 10:30 Stockholm time."""
    return [
        make_slot(appointment_type, resource, tomorrow_at(10, 0, days=3)),
        make_slot(appointment_type, resource, tomorrow_at(10, 30, days=3)),
    ]


@pytest.fixture
def other_client(other_resident):
    other = Client()
    other.force_login(other_resident)
    return other


@pytest.fixture
def booked(resident, appointment_type, resource):
    """An active web booking of ``resident`` three days ahead (which also creates the relation)."""
    slot = make_slot(appointment_type, resource, tomorrow_at(9, 0, days=3))
    return booking_create(resident=resident, slot_id=slot.pk)
