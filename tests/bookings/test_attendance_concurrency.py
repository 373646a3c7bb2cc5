"""R-ATT-1 under real parallel PostgreSQL connections: two desks change one visit's mark at the same
moment (one undoes it, the other marks the resident late). The booking row lock makes them happen
one after the other, so the audit log tells what happened to the mark in the order it happened. The
negative control takes the lock away and shows the same race then leaves an audit log that says
a mark was undone that was never the one removed."""

from __future__ import annotations

import datetime as dt
import threading
import time
from contextlib import contextmanager

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from bookings.models import Attendance, AttendanceState, Booking
from bookings.services import attendance as attendance_services
from bookings.services import attendance_mark, attendance_undo

from .test_attendance import visit
from .test_concurrency import run_in_parallel

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
_thread = threading.local()


def audit_replays_to_the_stored_mark(booking: Booking) -> bool:
    """Replay the audit log of the booking's marks in order: every undo must name the mark it
    removed, and the replay must end where the database is."""
    state: str | None = None
    for action, detail in (
        AuditEvent.objects.filter(action__startswith="attendance.", object_id=str(booking.pk))
        .order_by("pk")
        .values_list("action", "detail")
    ):
        if action == "attendance.mark":
            state = detail
        elif state != detail:
            return False
        else:
            state = None
    stored = Attendance.objects.filter(booking=booking).values_list("state", flat=True).first()
    return state == stored


def race(scheduler, booking: Booking) -> list[object]:
    """An undo and a "late" mark of a visit marked "arrived" (before), at the same moment on two
    connections."""

    def undo() -> None:
        _thread.name = "undo"
        attendance_undo(actor=scheduler, booking_id=booking.pk)

    def late() -> None:
        _thread.name = "late"
        attendance_mark(actor=scheduler, booking_id=booking.pk, state=AttendanceState.LATE)

    return run_in_parallel([undo, late])


@pytest.fixture
def started(resident, appointment_type, resource) -> Booking:
    return visit(resident, appointment_type, resource, timezone.now().replace(microsecond=0) - dt.timedelta(hours=1))


def test_r_att_1_parallel_undo_and_mark_keep_the_audit_log_true(scheduler, started):
    for _round in range(ROUNDS):
        attendance_mark(actor=scheduler, booking_id=started.pk, state=AttendanceState.ARRIVED)
        # In either order both succeed: an undo of "arrived" then a new "late", or "late" then its undo.
        assert race(scheduler, started) == [None, None]
        assert audit_replays_to_the_stored_mark(started)
        Attendance.objects.filter(booking=started).delete()
        AuditEvent.objects.filter(action__startswith="attendance.").delete()


@contextmanager
def without_the_booking_lock(monkeypatch):
    """Read the booking without locking it, and hold both desks after they have read the current mark
    until each has; then let the mark go first: the window a missing lock leaves open, made certain."""
    barrier = threading.Barrier(2)
    original_check = attendance_services._check_same_day

    def locked_booking_without_locking(*, actor, booking_id):
        return Booking.objects.select_related("clinic", "resident").get(pk=booking_id)

    def check_then_wait(mark, today):
        original_check(mark, today)
        barrier.wait(timeout=30)
        if getattr(_thread, "name", "") == "undo":
            time.sleep(0.5)

    monkeypatch.setattr(attendance_services, "_locked_booking", locked_booking_without_locking)
    monkeypatch.setattr(attendance_services, "_check_same_day", check_then_wait)
    yield


def test_control_without_the_lock_the_audit_log_names_a_mark_that_was_not_removed(scheduler, started, monkeypatch):
    attendance_mark(actor=scheduler, booking_id=started.pk, state=AttendanceState.ARRIVED)
    with without_the_booking_lock(monkeypatch):
        assert race(scheduler, started) == [None, None]

    # The undo says it removed "arrived"; what it removed was "late", and the log no longer adds up.
    assert not audit_replays_to_the_stored_mark(started)
