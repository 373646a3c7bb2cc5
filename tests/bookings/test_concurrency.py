"""R-BOOK-1, R-BOOK-2, R-BOOK-7 under real parallel PostgreSQL connections.

Each attempt runs in its own thread with its own database connection; a barrier releases them
together. The negative controls take the protection away and show the same test then sees
double bookings, so a green run here means the locks and constraints are doing the work.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest
from django.db import connection, connections

from bookings.models import Booking, BookingStatus, WebBookingLogEntry
from bookings.services import booking as booking_services
from bookings.services import booking_create, booking_rebook
from core.errors import DomainError, ErrorCode
from schedules.models import Slot, SlotStatus

from ..factories import ResidentFactory, SlotFactory, tomorrow_at

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 24


def run_in_parallel(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same moment, each on its own connection; return for each its value,
    the code of the DomainError it raised, any other exception, or None if it had not returned
    when its thread was given up on."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except DomainError as exc:
            results[index] = exc.code
        except Exception as exc:  # anything unexpected is reported by the assertions
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def outcome(results: Sequence[object]) -> Counter:
    return Counter("booked" if isinstance(r, Booking) else r for r in results)


def test_many_residents_racing_for_one_slot_give_exactly_one_booking(slot):
    residents = [ResidentFactory() for _ in range(ATTEMPTS)]

    results = run_in_parallel([partial(booking_create, resident=r, slot_id=slot.pk) for r in residents])

    assert outcome(results) == {"booked": 1, ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED: ATTEMPTS - 1}
    assert Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).count() == 1
    assert Booking.objects.count() == 1
    assert WebBookingLogEntry.objects.count() == 1
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED and not slot.is_published


def test_a_double_submit_by_one_resident_books_once(slot, resident):
    results = run_in_parallel([lambda: booking_create(resident=resident, slot_id=slot.pk) for _ in range(10)])

    assert outcome(results)["booked"] == 1
    assert set(outcome(results)) <= {"booked", ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED}
    assert Booking.objects.filter(resident=resident).count() == 1


def test_one_resident_racing_for_overlapping_slots_gets_only_one(appointment_type, resident):
    # The same hour on ten different resources: R-BOOK-2 must hold under the race too.
    slots = [SlotFactory(appointment_type=appointment_type, start=tomorrow_at(9)) for _ in range(10)]

    results = run_in_parallel([partial(booking_create, resident=resident, slot_id=s.pk) for s in slots])

    assert outcome(results) == {"booked": 1, ErrorCode.USER_IS_ALREADY_OCCUPIED: 9}
    assert Booking.objects.filter(resident=resident, status=BookingStatus.ACTIVE).count() == 1
    assert Slot.objects.filter(status=SlotStatus.BOOKED).count() == 1


def test_two_residents_rebooking_into_one_slot_one_wins_and_the_loser_keeps_their_booking(appointment_type, resource):
    first, second, target = (
        SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(h)) for h in (8, 9, 10)
    )
    anna, bertil = ResidentFactory(), ResidentFactory()
    anna_booking = booking_create(resident=anna, slot_id=first.pk)
    bertil_booking = booking_create(resident=bertil, slot_id=second.pk)

    results = run_in_parallel(
        [
            lambda: booking_rebook(resident=anna, booking_id=anna_booking.pk, new_slot_id=target.pk),
            lambda: booking_rebook(resident=bertil, booking_id=bertil_booking.pk, new_slot_id=target.pk),
        ]
    )

    assert outcome(results) == {"booked": 1, ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED: 1}
    winner = next(r for r in results if isinstance(r, Booking))
    loser_booking = bertil_booking if winner.resident_id == anna.pk else anna_booking
    loser_booking.refresh_from_db()
    assert loser_booking.status == BookingStatus.ACTIVE
    assert loser_booking.slot is not None and loser_booking.slot.status == SlotStatus.BOOKED
    assert Booking.objects.get(slot=target, status=BookingStatus.ACTIVE).resident_id == winner.resident_id
    assert Booking.objects.filter(status=BookingStatus.ACTIVE).count() == 2


# --- Negative controls -------------------------------------------------------------------------


@contextmanager
def without_locks(monkeypatch, barrier_parties: int):
    """Remove the resident and slot locks, and hold every attempt at the insert until all have
    passed their checks: the window a missing lock leaves open, made certain."""
    barrier = threading.Barrier(barrier_parties)
    original_check = booking_services._basis_and_check

    def check_then_wait(**kwargs):
        basis = original_check(**kwargs)
        barrier.wait(timeout=30)
        return basis

    def slot_without_locking(*, resident, slot_id):
        return Slot.objects.select_related("clinic__region", "appointment_type", "resource").get(pk=slot_id)

    # The resident's and the slot's locks are one statement on PostgreSQL: both go.
    monkeypatch.setattr(booking_services, "_lock_resident_and_slot", slot_without_locking)
    monkeypatch.setattr(booking_services, "_basis_and_check", check_then_wait)
    yield


def slot_lock_only(*, resident, slot_id):
    """The web booking's first read (``_lock_resident_and_slot``) without the resident's lock."""
    return booking_services._lock_slots([slot_id])[slot_id]


@contextmanager
def without_unique_constraint():
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX booking_one_active_per_slot")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM bookings_webbookinglogentry")
            # The bookings' notifications (R-NOTE-3) point at them.
            cursor.execute("DELETE FROM notifications_notification")
            cursor.execute("DELETE FROM notifications_notificationevent")
            cursor.execute("DELETE FROM bookings_booking")
            cursor.execute(
                "CREATE UNIQUE INDEX booking_one_active_per_slot ON bookings_booking (slot_id) WHERE status = 'active'"
            )


def test_control_without_locks_and_constraint_the_race_double_books(slot, monkeypatch):
    residents = [ResidentFactory() for _ in range(5)]
    with without_locks(monkeypatch, barrier_parties=5), without_unique_constraint():
        run_in_parallel([partial(booking_create, resident=r, slot_id=slot.pk) for r in residents])
        double_booked = Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).count()

    # The same race the tests above survive produces several bookings once protection is gone.
    assert double_booked == 5


def test_control_without_locks_the_constraint_alone_still_gives_one_clean_winner(slot, monkeypatch):
    residents = [ResidentFactory() for _ in range(5)]
    with without_locks(monkeypatch, barrier_parties=5):
        results = run_in_parallel([partial(booking_create, resident=r, slot_id=slot.pk) for r in residents])

    assert outcome(results) == {"booked": 1, ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED: 4}
    assert Booking.objects.count() == 1
    assert WebBookingLogEntry.objects.count() == 1


def test_parallel_retries_with_one_idempotency_key_book_once(slot, resident):
    """Real parallel HTTP requests on PostgreSQL: the same POST sent five times at once."""
    from django.test import Client

    def post():
        client = Client()
        client.force_login(resident)
        return client.post(
            "/api/v1/bookings/",
            {"slot": slot.pk},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="double-tap-1",
        )

    responses = run_in_parallel([post for _ in range(5)])

    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.json()["id"] for r in responses}) == 1
    assert Booking.objects.filter(resident=resident).count() == 1
