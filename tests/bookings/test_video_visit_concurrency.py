"""A scheduler replacing a video visit's link while the resident rebooks it, on real parallel
PostgreSQL connections: the link change takes the resident's lock as every booking change does,
so it lands either before the rebooking (which then carries the new link over) or is refused on the
moved booking — never written to the old booking after the rebooking copied the old link, and never
a database error. The negative control takes the lock away from the link change: the two then take
their row locks in opposite orders and PostgreSQL breaks the deadlock by failing one of them, or the
change is written to the old booking and lost."""

from __future__ import annotations

import time
from functools import partial

import pytest

from bookings.models import Booking, BookingStatus
from bookings.services import booking as booking_services
from bookings.services import booking_create, booking_meeting_link_set, booking_rebook
from bookings.services import video as video_services
from core.errors import ErrorCode

from ..factories import tomorrow_at
from ..pages import make_slot
from .test_concurrency import run_in_parallel

pytestmark = pytest.mark.django_db(transaction=True)

NEW_LINK = "https://video.example.se/m/replaced"


@pytest.fixture
def slow_rebooking(monkeypatch):
    """The rebooking has read the booking (and its link) and is still checking the new time."""
    check = booking_services.rebook_check

    def slow_check(**kwargs):
        time.sleep(0.5)
        return check(**kwargs)

    monkeypatch.setattr(booking_services, "rebook_check", slow_check)


def _race(resident, scheduler, video_type, resource):
    booking = booking_create(resident=resident, slot_id=make_slot(video_type, resource, tomorrow_at(9, days=3)).pk)
    later = make_slot(video_type, resource, tomorrow_at(11, days=3))

    def set_link_a_little_later():
        time.sleep(0.15)  # the rebooking has taken its locks and read the link by now
        return booking_meeting_link_set(actor=scheduler, booking_id=booking.pk, meeting_url=NEW_LINK)

    rebooked, link_set = run_in_parallel(
        [
            partial(booking_rebook, resident=resident, booking_id=booking.pk, new_slot_id=later.pk),
            set_link_a_little_later,
        ]
    )
    return rebooked, link_set


def test_a_link_change_racing_a_rebooking_is_never_lost(resident, scheduler, video_type, resource, slow_rebooking):
    rebooked, link_set = _race(resident, scheduler, video_type, resource)

    assert isinstance(rebooked, Booking), rebooked
    # Waited for the rebooking's lock, then found the booking moved: refused, nothing half-written.
    assert link_set == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert Booking.objects.get(resident=resident, status=BookingStatus.ACTIVE).meeting_url != NEW_LINK
    assert not Booking.objects.filter(meeting_url=NEW_LINK).exists()


def test_control_without_the_lock_the_race_deadlocks_or_loses_the_change(
    resident, scheduler, video_type, resource, slow_rebooking, monkeypatch
):
    monkeypatch.setattr(video_services, "resident_lock", lambda **kwargs: None)

    rebooked, link_set = _race(resident, scheduler, video_type, resource)

    deadlocked = any("deadlock detected" in str(result) for result in (rebooked, link_set))
    lost = isinstance(link_set, Booking) and Booking.objects.get(pk=link_set.pk).status == BookingStatus.REBOOKED
    assert deadlocked or lost, (rebooked, link_set)
