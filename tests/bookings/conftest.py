"""Fixtures of the resident page tests."""

from __future__ import annotations

import pytest
from django.test import Client

from bookings.services import booking_create

from ..factories import (
    AppointmentTypeFactory,
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


TEMPLATE = "https://mote.region.example/{room}"


@pytest.fixture
def video_clinic(clinic):
    """The clinic with a meeting link template (video visits)."""
    clinic.meeting_url_template = TEMPLATE
    clinic.save()
    return clinic


@pytest.fixture
def video_type(video_clinic):
    return AppointmentTypeFactory(
        clinic=video_clinic, internal_name="Video läkare", web_name="Videobesök", is_video_visit=True
    )


@pytest.fixture
def video_booking(resident, video_type, resource):
    """Anna's video visit three days ahead, its link made from the clinic's template."""
    return booking_create(resident=resident, slot_id=make_slot(video_type, resource, tomorrow_at(13, 0, days=3)).pk)
