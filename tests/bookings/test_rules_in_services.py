"""The rules live in the services, not in the views that call them (STYLE): a staff action and
its audit row are one transaction whichever page or API asked (R-LOG-4), and the counts a
page shows come from the service that did the work."""

from __future__ import annotations

import ast
from pathlib import Path
from unittest import mock

import pytest

from accounts.models import AuditEvent, User
from bookings.models import Booking, BookingStatus, WaitlistEntry
from bookings.services import booking_book_for_resident, booking_cancel, booking_create_for_resident, waitlist_add
from bookings.staff_selectors import resident_for_staff_booking
from bookings.waitlist_selectors import waitlist_for_staff
from core.errors import DomainError
from schedules.models import Slot, SlotStatus
from schedules.services import block_create, slots_change_type

from ..factories import AppointmentTypeFactory, SlotFactory, make_personnummer, tomorrow_at

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "clinics", "schedules", "bookings")
# The modules that receive requests: pages, APIs, forms and template tags, by the names they go by
# ("views.py", "book_views.py", "staff_api.py", "proxy_forms.py", ...).
REQUEST_MODULES = ("*views.py", "*api.py", "*forms.py", "resident_flow.py")
ORM_WRITES = {"save", "delete", "bulk_create", "bulk_update", "select_for_update", "get_or_create", "update_or_create"}
NEW_PNR = make_personnummer()  # a resident who has never logged in
WRITE_SERVICES = {"audit_record", "audit_residents_shown"}


def _request_modules() -> list[Path]:
    paths = sorted({p for app in APPS for pattern in REQUEST_MODULES for p in (ROOT / app).glob(pattern)})
    paths += [p for app in APPS for p in (ROOT / app).glob("templatetags/*.py")]
    return paths


def _is_queryset_call(node: ast.Call) -> bool:
    """``X.objects….create/update(…)`` or ``….filter(…).update(…)``: an ORM write, not a dict's update."""
    text = ast.unparse(node.func)
    return ".objects" in text or ".filter(" in text or ".exclude(" in text


def writes_outside_services() -> list[str]:
    found = []
    for path in _request_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if (
                name in ORM_WRITES
                or name in WRITE_SERVICES
                or (name in {"create", "update"} and _is_queryset_call(node))
                or ast.unparse(func) == "transaction.atomic"
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(func)}")
    return found


def test_no_view_api_or_form_writes_the_database_or_the_audit_log_itself():
    assert writes_outside_services() == []


@pytest.fixture
def booked(scheduler, resident, appointment_type, resource):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10, days=3))
    return booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)


def test_a_staff_cancellation_writes_its_audit_row_in_the_service(booked, scheduler):
    booking_cancel(actor=scheduler, booking_id=booked.pk)

    event = AuditEvent.objects.get(action="booking.cancel")
    assert (event.actor_id, event.resident_id) == (scheduler.pk, booked.resident_id)


def test_a_staff_cancellation_whose_audit_row_fails_is_not_made(booked, scheduler):
    with (
        mock.patch("bookings.services.booking.audit_record", side_effect=RuntimeError("audit down")),
        pytest.raises(RuntimeError),
    ):
        booking_cancel(actor=scheduler, booking_id=booked.pk)

    booked.refresh_from_db()
    assert booked.status == BookingStatus.ACTIVE


def test_a_residents_own_cancellation_is_not_a_staff_audit_event(booked, resident):
    booking_cancel(actor=resident, booking_id=booked.pk)

    assert not AuditEvent.objects.filter(action="booking.cancel").exists()


def test_waitlist_add_creates_the_resident_and_audits_in_one_transaction(scheduler, clinic, appointment_type):
    entry = waitlist_add(actor=scheduler, clinic=clinic, personnummer=NEW_PNR, appointment_type=appointment_type)

    assert entry.resident.personnummer == NEW_PNR
    assert AuditEvent.objects.filter(action="waitlist.add", resident=entry.resident).count() == 1


def test_waitlist_read_for_staff_audits_each_resident_shown(scheduler, clinic, resident, appointment_type):
    waitlist_add(actor=scheduler, clinic=clinic, resident=resident, appointment_type=appointment_type)

    assert [entry.resident for entry in waitlist_for_staff(actor=scheduler, clinic=clinic)] == [resident]
    assert AuditEvent.objects.filter(action="waitlist.read", resident=resident).count() == 1


def test_finding_a_resident_to_book_for_audits_the_lookup_and_creates_nobody(scheduler, clinic, resident):
    assert resident_for_staff_booking(actor=scheduler, clinic=clinic, personnummer=resident.personnummer) == resident
    assert resident_for_staff_booking(actor=scheduler, clinic=clinic, personnummer=NEW_PNR) is None

    assert AuditEvent.objects.filter(action="resident.lookup").count() == 1
    assert not User.objects.filter(personnummer=NEW_PNR).exists()


def test_a_refused_staff_booking_leaves_no_new_resident_behind(scheduler, booked):
    with pytest.raises(DomainError):
        booking_book_for_resident(actor=scheduler, slot_id=booked.slot_id, personnummer=NEW_PNR)

    assert not User.objects.filter(personnummer=NEW_PNR).exists()
    assert Booking.objects.count() == 1


def test_block_create_counts_the_booked_times_it_leaves_in_place(scheduler, resource, booked):
    created = block_create(
        actor=scheduler, resource=resource, start=tomorrow_at(0, days=3), end=tomorrow_at(23, days=3)
    )

    assert created.booked_kept == 1
    assert created.block.resource_id == resource.pk


def test_slots_change_type_counts_the_booked_times_that_keep_their_type(scheduler, clinic, resource, booked):
    free = SlotFactory(appointment_type=booked.appointment_type, resource=resource, start=tomorrow_at(12, days=3))

    change = slots_change_type(
        actor=scheduler,
        slots=Slot.objects.filter(pk__in=[free.pk, booked.slot_id]),
        appointment_type=AppointmentTypeFactory(clinic=clinic),
    )

    assert (change.changed, change.booked_kept) == (1, 1)
    assert Slot.objects.get(pk=booked.slot_id).status == SlotStatus.BOOKED
    assert not WaitlistEntry.objects.exists()


# --- The layout: services split along their sections, one pattern object ----------------------

SERVICES_MODULE_MAX_LINES = 400


def test_no_services_module_is_past_400_lines():
    modules = [p for app in APPS for p in [ROOT / app / "services.py", *(ROOT / app / "services").glob("*.py")]]
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in modules
        if p.exists() and (n := len(p.read_text(encoding="utf-8").splitlines())) > SERVICES_MODULE_MAX_LINES
    }
    assert too_long == {}


def test_the_schedule_services_take_one_pattern_instead_of_eight_keywords():
    import inspect

    from schedules import services

    for service in (services.schedule_create, services.schedule_preview_detail, services.schedule_create_and_publish):
        assert "pattern" in inspect.signature(service).parameters
        assert not {"weekdays", "start_date", "slot_minutes"} & set(inspect.signature(service).parameters)


def test_schedules_imports_bookings_only_where_the_timebook_reads_a_slots_booking():
    """bookings builds on schedules: the staff booking pages, the hold API and a rebooking's
    hold live in bookings; only the timebook's read of a slot's booking is left to move."""
    from ..test_layering import runtime_imports

    importing = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "schedules").rglob("*.py")
        if "migrations" not in path.parts and "bookings" in set(runtime_imports(path))
    }
    assert importing <= {"schedules/selectors.py"}
