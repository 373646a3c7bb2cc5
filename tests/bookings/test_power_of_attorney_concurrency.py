"""R-POA-1 under real parallel PostgreSQL connections: ending a power of attorney waits for a
booking the attorney is making under it at that moment (both take the grantor's row lock first),
so "ended" never comes back while an action under the power can still commit. The negative control
takes the booking's lock away and shows the end then returns while the booking is still open."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connections, transaction
from django.utils import timezone

from accounts.models import PowerOfAttorney
from bookings.models import Booking
from bookings.services import booking as booking_services
from bookings.services import booking_create, power_of_attorney_accept, power_of_attorney_end, power_of_attorney_grant

from ..factories import ResidentFactory, SlotFactory, make_personnummer, tomorrow_at
from .test_concurrency import slot_lock_only

pytestmark = pytest.mark.django_db(transaction=True)

HOLD_SECONDS = 1.0


def _race(power: PowerOfAttorney, slot_id: int) -> tuple[float, float]:
    """The attorney books and keeps the transaction open a moment; meanwhile the grantor ends the
    power. Returns the moment just before the booking commits and when the end returned
    (monotonic seconds)."""
    inserted = threading.Event()
    times: dict[str, float] = {}
    errors: list[BaseException] = []

    def book() -> None:
        try:
            with transaction.atomic():
                booking_create(resident=power.grantor, actor=power.grantee, slot_id=slot_id)
                inserted.set()
                time.sleep(HOLD_SECONDS)
                # The lock is held until the commit just after this (the callbacks after the
                # commit may take a while, so the moment is taken inside).
                times["booked"] = time.monotonic()
        except BaseException as exc:  # reported below
            errors.append(exc)
            inserted.set()
        finally:
            connections.close_all()

    def end() -> None:
        try:
            assert inserted.wait(timeout=30)
            power_of_attorney_end(actor=power.grantor, power_id=power.pk)
            times["ended"] = time.monotonic()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book), threading.Thread(target=end)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return times["booked"], times["ended"]


@pytest.fixture
def power(db) -> PowerOfAttorney:
    grantor = ResidentFactory(personnummer=make_personnummer(dt.date(1947, 1, 1)), first_name="Cecilia")
    grantee = ResidentFactory(personnummer=make_personnummer(dt.date(1992, 7, 8)), first_name="Bertil")
    given = power_of_attorney_grant(
        grantor=grantor,
        personnummer=grantee.personnummer or "",
        valid_until=timezone.localdate() + dt.timedelta(days=30),
    )
    return power_of_attorney_accept(grantee=grantee, power_id=given.pk)


def test_ending_a_power_waits_for_the_action_under_it_R_POA_1(power):
    slot = SlotFactory(start=tomorrow_at(10, days=3))

    booked, ended = _race(power, slot.pk)

    assert ended >= booked
    assert Booking.objects.filter(resident=power.grantor, created_by=power.grantee).count() == 1
    assert PowerOfAttorney.objects.get(pk=power.pk).ended_at is not None


def test_negative_control_without_the_grantor_lock_the_end_returns_first(power, monkeypatch):
    """Without the booking's lock on the grantor, nothing makes the end wait."""
    monkeypatch.setattr(booking_services, "_lock_resident_and_slot", slot_lock_only)
    slot = SlotFactory(start=tomorrow_at(10, days=3))

    booked, ended = _race(power, slot.pk)

    assert ended < booked
