"""Web booking log (R-LOG-1, R-LOG-3), security audit log (R-LOG-4), inbox and R-ACL-2."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent, ContactDetails, Role
from bookings import tasks
from bookings.models import (
    Booking,
    BookingStatus,
    Channel,
    InboxMessage,
    LogStatus,
    MessageKind,
    WebBookingLogEntry,
)
from bookings.selectors import booking_for_resident, inbox_for_resident, inbox_unread_count
from bookings.services import (
    booking_cancel,
    booking_create,
    booking_create_by_proxy,
    booking_create_for_resident,
    booking_rebook,
    inbox_mark_read,
    inbox_message_send,
    web_log_purge,
)
from bookings.staff_selectors import booking_for_staff
from bookings.web_log_selectors import web_log_for_clinic
from core.errors import BookingError, ErrorCode, PermissionDeniedError
from schedules.models import Slot, SlotStatus
from schedules.selectors import LOCAL_TZ

from ..factories import AppointmentTypeFactory, SlotFactory, staff, tomorrow_at

RETENTION = dt.timedelta(days=31)


def make_slot(appointment_type, resource, start: dt.datetime, minutes: int = 20) -> Slot:
    return SlotFactory(
        appointment_type=appointment_type, resource=resource, start=start, end=start + dt.timedelta(minutes=minutes)
    )


@pytest.fixture
def start():
    return tomorrow_at(10, days=3)


@pytest.fixture
def now(start):
    return start - dt.timedelta(days=2)


@pytest.fixture
def web_slot(appointment_type, resource, start):
    return make_slot(appointment_type, resource, start)


@pytest.fixture
def later_slot(appointment_type, resource, start):
    return make_slot(appointment_type, resource, start + dt.timedelta(days=1, hours=3, minutes=30))


def local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value, LOCAL_TZ)


# --- R-LOG-1 ----------------------------------------------------------------------------------


def test_new_web_booking_logs_one_row_with_empty_previous_values(resident, clinic, web_slot, start, now):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)

    row = WebBookingLogEntry.objects.get()
    assert row.status == LogStatus.BOOKED
    assert row.changed_at == now
    assert (row.resident_id, row.clinic_id, row.booking_id) == (resident.pk, clinic.pk, booking.pk)
    assert row.channel == Channel.WEB
    assert row.is_late is False
    assert (row.previous_date, row.previous_start, row.previous_resource, row.previous_type) == (None, None, "", "")
    assert row.new_date == local(start).date()
    assert row.new_start == local(start).time()
    assert row.new_resource == "Distriktssköterska"
    assert row.new_type == "Uppföljning 30 min"


def test_rebooking_logs_one_row_with_previous_and_new_values(resident, web_slot, later_slot, start, now):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    changed_at = now + dt.timedelta(hours=1)

    new = booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=later_slot.pk, now=changed_at)

    assert WebBookingLogEntry.objects.count() == 2
    row = WebBookingLogEntry.objects.get(status=LogStatus.REBOOKED)
    assert row.changed_at == changed_at
    assert row.channel == Channel.WEB
    assert row.booking_id == new.pk
    assert (row.previous_date, row.previous_start) == (local(start).date(), local(start).time())
    assert (row.new_date, row.new_start) == (local(later_slot.start).date(), local(later_slot.start).time())
    assert row.previous_resource == row.new_resource == "Distriktssköterska"
    assert row.previous_type == row.new_type == "Uppföljning 30 min"
    assert row.is_late is False


def test_cancellation_logs_one_row_with_empty_new_values(resident, web_slot, start, now):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    changed_at = start - dt.timedelta(hours=3)

    booking_cancel(actor=resident, booking_id=booking.pk, now=changed_at)

    assert WebBookingLogEntry.objects.count() == 2
    row = WebBookingLogEntry.objects.get(status=LogStatus.CANCELLED)
    assert row.changed_at == changed_at
    assert row.channel == Channel.WEB
    assert row.is_late is True
    assert (row.previous_date, row.previous_start) == (local(start).date(), local(start).time())
    assert row.previous_resource == "Distriktssköterska"
    assert (row.new_date, row.new_start, row.new_resource, row.new_type) == (None, None, "", "")


def test_proxy_booking_and_cancellation_log_rows_with_proxy_channel(clinic, resident, resource, start, now):
    proxy_type = AppointmentTypeFactory(clinic=clinic, internal_name="Ombud Läkarbesök", web_name="Läkarbesök")
    proxy_booker = staff(Role.PROXY_BOOKER, clinic, unit_name="1177 Vårdguiden på telefon")
    slot = make_slot(proxy_type, resource, start)

    booking = booking_create_by_proxy(actor=proxy_booker, resident=resident, slot_id=slot.pk, now=now)
    booking_cancel(actor=proxy_booker, booking_id=booking.pk, now=now)

    rows = WebBookingLogEntry.objects.order_by("pk")
    assert [(r.status, r.channel) for r in rows] == [
        (LogStatus.BOOKED, Channel.PROXY),
        (LogStatus.CANCELLED, Channel.PROXY),
    ]
    assert rows[0].previous_date is None and rows[0].new_type == "Ombud Läkarbesök"
    assert rows[1].new_date is None and rows[1].previous_type == "Ombud Läkarbesök"
    assert all(r.resident_id == resident.pk for r in rows)


def test_staff_booking_and_cancellation_make_no_log_row(resident, scheduler, web_slot, now):
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=web_slot.pk, now=now)
    booking_cancel(actor=scheduler, booking_id=booking.pk, now=now)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert not WebBookingLogEntry.objects.exists()


def test_refused_change_makes_no_log_row(resident, other_resident, web_slot, now):
    booking_create(resident=resident, slot_id=web_slot.pk, now=now)

    with pytest.raises(BookingError):
        booking_create(resident=other_resident, slot_id=web_slot.pk, now=now)

    assert WebBookingLogEntry.objects.count() == 1
    assert not WebBookingLogEntry.objects.filter(resident=other_resident).exists()


# --- R-LOG-3 ----------------------------------------------------------------------------------


def _log_row(booking: Booking, changed_at: dt.datetime) -> WebBookingLogEntry:
    return WebBookingLogEntry.objects.create(
        changed_at=changed_at,
        status=LogStatus.BOOKED,
        clinic_id=booking.clinic_id,
        resident_id=booking.resident_id,
        booking=booking,
        channel=Channel.WEB,
    )


def _booking_snapshot(booking: Booking) -> Mapping[str, object]:
    return Booking.objects.filter(pk=booking.pk).values().get()


def test_web_log_purge_deletes_old_rows_in_batches_and_keeps_newer(resident, web_slot, now):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    WebBookingLogEntry.objects.all().delete()
    # On PostgreSQL the old rows fall in a month nobody made (the default partition), so they go
    # row by row, as all do on SQLite, and not as whole days.
    purge_at = now + dt.timedelta(days=100)
    old = [_log_row(booking, purge_at - RETENTION - dt.timedelta(days=d, seconds=1)) for d in range(5)]
    just_inside = _log_row(booking, purge_at - RETENTION + dt.timedelta(seconds=1))
    recent = _log_row(booking, purge_at - dt.timedelta(days=1))
    before = _booking_snapshot(booking)

    with CaptureQueriesContext(connection) as queries:
        deleted = web_log_purge(now=purge_at, batch_size=2)

    assert deleted == len(old)
    assert set(WebBookingLogEntry.objects.values_list("pk", flat=True)) == {just_inside.pk, recent.pk}
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("DELETE")]
    assert len(deletes) == 3  # 5 rows, batches of 2: 2 + 2 + 1
    assert all("bookings_booking" not in sql.split("WHERE")[0] for sql in deletes)
    assert _booking_snapshot(booking) == before
    assert Booking.objects.filter(pk=booking.pk, status=BookingStatus.ACTIVE).exists()


def test_web_log_purge_boundary_is_31_days(resident, web_slot, now):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    WebBookingLogEntry.objects.all().delete()
    purge_at = now + dt.timedelta(days=60)
    older = _log_row(booking, purge_at - RETENTION - dt.timedelta(seconds=1))
    younger = _log_row(booking, purge_at - RETENTION + dt.timedelta(seconds=1))

    assert web_log_purge(now=purge_at, batch_size=2) == 1

    assert not WebBookingLogEntry.objects.filter(pk=older.pk).exists()
    assert WebBookingLogEntry.objects.filter(pk=younger.pk).exists()


def test_web_log_purge_celery_task_deletes_old_rows(resident, web_slot, now):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    WebBookingLogEntry.objects.all().delete()
    real_now = timezone.now()
    old = _log_row(booking, real_now - RETENTION - dt.timedelta(days=2))
    fresh = _log_row(booking, real_now - dt.timedelta(days=2))

    result = tasks.web_log_purge.delay()

    assert result.get() == 1
    assert not WebBookingLogEntry.objects.filter(pk=old.pk).exists()
    assert WebBookingLogEntry.objects.filter(pk=fresh.pk).exists()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


# --- R-LOG-4 ----------------------------------------------------------------------------------


def test_reading_web_log_writes_audit_event(support, clinic, resident, web_slot, now):
    booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    assert not AuditEvent.objects.exists()

    rows = list(web_log_for_clinic(actor=support, clinic=clinic, resident=resident))

    assert [r.resident_id for r in rows] == [resident.pk]
    event = AuditEvent.objects.get()
    assert event.actor == support
    assert event.clinic == clinic
    assert event.resident == resident
    assert event.unit_name == clinic.name
    assert event.action


def test_staff_reading_a_booking_writes_audit_event(scheduler, clinic, resident, web_slot, now):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)

    seen = booking_for_staff(actor=scheduler, booking_id=booking.pk)

    assert seen.pk == booking.pk
    assert seen.changed_by_display == "Webbtidbok"
    event = AuditEvent.objects.get()
    assert (event.actor, event.clinic, event.resident) == (scheduler, clinic, resident)
    assert event.object_id == str(booking.pk)


def test_staff_of_another_clinic_cannot_read_web_log_or_booking(
    other_clinic, clinic, resident, web_slot, now, other_scheduler
):
    other_support = staff(Role.SUPPORT, other_clinic)
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)

    with pytest.raises(PermissionDeniedError):
        web_log_for_clinic(actor=other_support, clinic=clinic)
    for outsider in (other_support, other_scheduler):
        with pytest.raises(BookingError) as exc:
            booking_for_staff(actor=outsider, booking_id=booking.pk)
        assert exc.value.code == ErrorCode.NOT_FOUND

    assert not AuditEvent.objects.filter(resident=resident).exists()


def test_audit_events_are_not_purged_with_the_web_log(support, clinic, resident, web_slot, now):
    booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    list(web_log_for_clinic(actor=support, clinic=clinic))
    booking_for_staff(actor=support, booking_id=Booking.objects.get().pk)
    long_ago = timezone.now() - dt.timedelta(days=400)
    AuditEvent.objects.update(created_at=long_ago)
    WebBookingLogEntry.objects.update(changed_at=long_ago)

    assert web_log_purge(batch_size=2) == 1

    assert not WebBookingLogEntry.objects.exists()
    assert AuditEvent.objects.filter(clinic=clinic).count() == 2


# --- Inbox ------------------------------------------------------------------------------------


def _message(resident, clinic, **kwargs) -> InboxMessage:
    return inbox_message_send(
        resident=resident,
        clinic=clinic,
        kind=kwargs.pop("kind", MessageKind.INFO),
        subject="Provsvar",
        body="Dina provsvar finns nu.",
        **kwargs,
    )


def test_new_message_sends_one_email_after_commit(resident, clinic, django_capture_on_commit_callbacks):
    """R-NOTE-2: the resident is told a message is waiting, at their verified address only."""
    ContactDetails.objects.create(user=resident, email="anna@exempel.se", email_verified_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        _message(resident, clinic)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["anna@exempel.se"]
    assert "Dina provsvar" not in mail.outbox[0].body  # no health details in the e-mail


def test_inbox_mark_read_marks_own_message(resident, clinic):
    message = _message(resident, clinic)
    read_at = timezone.now()
    assert inbox_unread_count(resident=resident) == 1

    inbox_mark_read(resident=resident, message_id=message.pk, now=read_at)

    message.refresh_from_db()
    assert message.read_at == read_at
    assert inbox_unread_count(resident=resident) == 0


def test_inbox_mark_read_refuses_another_residents_message(resident, other_resident, clinic):
    message = _message(resident, clinic)

    with pytest.raises(BookingError) as exc:
        inbox_mark_read(resident=other_resident, message_id=message.pk)

    assert exc.value.code == ErrorCode.NOT_FOUND
    message.refresh_from_db()
    assert message.read_at is None


# --- R-ACL-2 ----------------------------------------------------------------------------------


def test_other_resident_cannot_read_cancel_or_rebook_a_booking(
    resident, other_resident, web_slot, later_slot, now, clinic
):
    booking = booking_create(resident=resident, slot_id=web_slot.pk, now=now)
    # B even has a relation with the clinic: that gives no access to A's bookings.
    own_slot = make_slot(web_slot.appointment_type, web_slot.resource, later_slot.start + dt.timedelta(hours=2))
    booking_create(resident=other_resident, slot_id=own_slot.pk, now=now)

    with pytest.raises(BookingError) as read_exc:
        booking_for_resident(resident=other_resident, booking_id=booking.pk, now=now)
    with pytest.raises(BookingError) as cancel_exc:
        booking_cancel(actor=other_resident, booking_id=booking.pk, now=now)
    with pytest.raises(BookingError) as rebook_exc:
        booking_rebook(resident=other_resident, booking_id=booking.pk, new_slot_id=later_slot.pk, now=now)

    assert {read_exc.value.code, cancel_exc.value.code, rebook_exc.value.code} == {ErrorCode.NOT_FOUND}
    booking.refresh_from_db()
    later_slot.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE and booking.slot_id == web_slot.pk
    assert later_slot.status == SlotStatus.FREE
    assert not WebBookingLogEntry.objects.filter(status__in=[LogStatus.CANCELLED, LogStatus.REBOOKED]).exists()


def test_other_resident_does_not_see_a_message(resident, other_resident, clinic):
    message = _message(resident, clinic, kind=MessageKind.INFO)

    assert list(inbox_for_resident(resident=other_resident)) == []
    assert list(inbox_for_resident(resident=resident)) == [message]
    assert inbox_unread_count(resident=other_resident) == 0
