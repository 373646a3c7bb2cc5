"""Booking bases under real parallel PostgreSQL connections (R-TYPE-4): a basis is never used
more times than it allows, and revoking races a booking cleanly: the booking is either made
before the revocation (and reported as kept) or refused. The negative control takes the locks
away and shows the same race then books twice on a one-use basis."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial

import pytest
from django.utils import timezone

from accounts.models import Role
from bookings.basis_selectors import usable_basis
from bookings.models import BasisState, Booking, BookingBasis, BookingStatus
from bookings.services import booking as booking_services
from bookings.services import booking_basis_revoke, booking_create
from core.errors import BookingError, ErrorCode
from schedules.selectors import LOCAL_TZ

from ..factories import AppointmentTypeFactory, BookingBasisFactory, SlotFactory, staff, tomorrow_at
from .test_concurrency import outcome, run_in_parallel, slot_lock_only

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 8


@pytest.fixture
def referral_type(clinic):
    return AppointmentTypeFactory(clinic=clinic, web_name="Besök efter remiss", requires_booking_basis=True)


def separate_slots(appointment_type, n: int):
    """``n`` free times that do not overlap, so only the basis can stop a booking."""
    return [
        SlotFactory(appointment_type=appointment_type, start=tomorrow_at(8 + n % 8, days=2 + n // 8)) for n in range(n)
    ]


@pytest.mark.parametrize("allowed", [1, 3])
def test_parallel_bookings_use_a_basis_exactly_as_many_times_as_it_allows(resident, referral_type, allowed):
    basis = BookingBasisFactory(appointment_type=referral_type, resident=resident, max_bookings=allowed)
    slots = separate_slots(referral_type, ATTEMPTS)

    results = run_in_parallel([partial(booking_create, resident=resident, slot_id=s.pk) for s in slots])

    assert outcome(results) == {"booked": allowed, ErrorCode.BOOKING_BASIS_REQUIRED: ATTEMPTS - allowed}
    basis.refresh_from_db()
    assert basis.uses == allowed and basis.state == BasisState.USED
    assert Booking.objects.filter(booking_basis=basis, status=BookingStatus.ACTIVE).count() == allowed


def test_revoking_while_the_resident_books_either_keeps_the_booking_or_refuses_it(clinic, referral_type):
    scheduler = staff(Role.SCHEDULER, clinic)
    rounds = 6
    for _ in range(rounds):
        basis = BookingBasisFactory(appointment_type=referral_type)
        [slot] = separate_slots(referral_type, 1)

        booked, revoked = run_in_parallel(
            [
                partial(booking_create, resident=basis.resident, slot_id=slot.pk),
                partial(booking_basis_revoke, actor=scheduler, clinic=clinic, basis_id=basis.pk),
            ]
        )

        assert isinstance(revoked, tuple), revoked
        _basis, kept = revoked
        made = Booking.objects.filter(booking_basis=basis, status=BookingStatus.ACTIVE)
        if isinstance(booked, Booking):
            # Made before the revocation took the basis' lock: kept, and counted as kept.
            assert kept == 1 and made.count() == 1
        else:
            assert booked == ErrorCode.BOOKING_BASIS_REQUIRED
            assert kept == 0 and not made.exists()


# --- Negative control ---------------------------------------------------------------------------


@contextmanager
def without_basis_locks(monkeypatch, parties: int):
    """No resident lock and no row lock on the basis, and every attempt held after reading the
    basis until all have read it: the window the locks close, made certain."""
    barrier = threading.Barrier(parties)

    def basis_without_lock(*, resident, slot, access, now):
        day = timezone.localtime(slot.start, LOCAL_TZ).date()
        basis = usable_basis(resident=resident, appointment_type_id=slot.appointment_type_id, on_day=day)
        barrier.wait(timeout=30)
        if basis is None:
            raise BookingError(ErrorCode.BOOKING_BASIS_REQUIRED)
        return basis

    monkeypatch.setattr(booking_services, "_lock_resident_and_slot", slot_lock_only)
    monkeypatch.setattr(booking_services, "_basis_and_check", basis_without_lock)
    yield


def test_control_without_the_locks_a_one_use_basis_books_twice(resident, referral_type, monkeypatch):
    basis = BookingBasisFactory(appointment_type=referral_type, resident=resident)
    slots = separate_slots(referral_type, 2)

    with without_basis_locks(monkeypatch, parties=2):
        results = run_in_parallel([partial(booking_create, resident=resident, slot_id=s.pk) for s in slots])

    assert outcome(results) == {"booked": 2}
    assert Booking.objects.filter(booking_basis=basis).count() == 2  # one use, two bookings
    assert BookingBasis.objects.get(pk=basis.pk).uses == 1  # and the count lost an update
