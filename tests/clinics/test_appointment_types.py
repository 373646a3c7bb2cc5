"""Appointment types (tidstyper): R-TYPE-1, R-TYPE-2, R-TYPE-3, R-TYPE-5, R-TYPE-6."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role
from bookings.models import Booking, BookingStatus, Channel, LogStatus, WebBookingLogEntry
from bookings.selectors import booking_actions, bookings_for_resident, inbox_for_resident
from bookings.services import (
    booking_cancel,
    booking_create,
    booking_create_by_proxy,
    booking_create_for_resident,
    booking_rebook,
)
from clinics.models import WEB_INFO_MAX_LENGTH, AppointmentType, CaseKind, CaseType
from clinics.selectors import bookable_types, type_bookable_by
from clinics.services import appointment_type_save
from core.errors import BookingError, DomainError, ErrorCode, PermissionDeniedError, ValidationFailed
from schedules.models import SlotStatus
from schedules.selectors import offered_slots

from ..factories import AppointmentTypeFactory, BookingBasisFactory, ClinicFactory, RegionFactory, SlotFactory, staff

FLAGS = ("bookable_on_web", "cancellable_on_web", "reschedulable_on_web")


def _all_flags(value: bool) -> dict[str, Any]:
    # Typed as appointment_type_save takes its fields (``**fields: Any``), so they unpack into it.
    return dict.fromkeys(FLAGS, value)


# --- R-TYPE-1: internal name, web name, short plain-text info ---------------------------------


def test_type_keeps_internal_name_and_web_name_and_info_separately(local_admin, clinic):
    saved = appointment_type_save(
        actor=local_admin,
        clinic=clinic,
        internal_name="  Uppföljning 30 min ",
        web_name=" Besök ",
        web_info="Kom tio minuter innan.",
        **_all_flags(True),
    )

    saved.refresh_from_db()
    assert saved.internal_name == "Uppföljning 30 min"
    assert saved.web_name == "Besök"
    assert saved.web_info == "Kom tio minuter innan."


def test_internal_name_is_required(local_admin, clinic):
    with pytest.raises(ValidationFailed) as exc:
        appointment_type_save(actor=local_admin, clinic=clinic, internal_name="   ", web_name="Besök")

    assert exc.value.code == ErrorCode.INVALID_INPUT
    assert "internal_name" in exc.value.field_errors
    assert not AppointmentType.objects.filter(clinic=clinic).exists()


def test_web_info_of_exactly_300_characters_is_accepted(local_admin, clinic):
    text = "a" * WEB_INFO_MAX_LENGTH

    saved = appointment_type_save(actor=local_admin, clinic=clinic, internal_name="Provtagning", web_info=text)

    saved.refresh_from_db()
    assert WEB_INFO_MAX_LENGTH == 300
    assert saved.web_info == text


def test_web_info_longer_than_300_characters_is_refused(local_admin, clinic):
    with pytest.raises(ValidationFailed) as exc:
        appointment_type_save(actor=local_admin, clinic=clinic, internal_name="Provtagning", web_info="a" * 301)

    assert exc.value.code == ErrorCode.INVALID_INPUT
    assert "web_info" in exc.value.field_errors
    assert not AppointmentType.objects.filter(clinic=clinic, internal_name="Provtagning").exists()


@pytest.mark.parametrize(
    "web_info",
    ["<b>Kom i tid</b>", "Läs mer <a href='https://example.se'>här</a>", "Text<br>mer text", "<!-- kommentar -->"],
)
def test_web_info_must_be_plain_text_without_html(local_admin, clinic, web_info):
    with pytest.raises(ValidationFailed) as exc:
        appointment_type_save(actor=local_admin, clinic=clinic, internal_name="Provtagning", web_info=web_info)

    assert "web_info" in exc.value.field_errors


def test_web_info_may_use_a_less_than_sign_in_plain_text(local_admin, clinic):
    saved = appointment_type_save(
        actor=local_admin, clinic=clinic, internal_name="Provtagning", web_info="För barn < 2 år: ta med BVC-kort."
    )

    assert saved.web_info == "För barn < 2 år: ta med BVC-kort."


def test_database_refuses_web_info_longer_than_300_characters(clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentType.objects.create(clinic=clinic, internal_name="Provtagning", web_info="a" * 301)


def test_summons_shows_the_web_name_never_the_internal_name(scheduler, clinic, resource, resident):
    appointment_type = AppointmentTypeFactory(clinic=clinic, internal_name="Uppföljning 30 min", web_name="Besök")
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)

    booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)

    message = inbox_for_resident(resident=resident).get()
    assert "Besök" in message.subject
    assert "Uppföljning" not in message.subject
    assert "Uppföljning" not in message.body


# --- R-TYPE-2: hidden for patient ---------------------------------------------------------------


def test_setting_hidden_clears_the_three_web_flags(local_admin, clinic):
    appointment_type = AppointmentTypeFactory(clinic=clinic, internal_name="Samtal", **_all_flags(True))

    appointment_type_save(actor=local_admin, clinic=clinic, instance=appointment_type, hidden_for_patient=True)

    appointment_type.refresh_from_db()
    assert appointment_type.hidden_for_patient is True
    assert not any(getattr(appointment_type, flag) for flag in FLAGS)


def test_creating_a_hidden_type_stores_it_without_web_flags(local_admin, clinic):
    saved = appointment_type_save(
        actor=local_admin,
        clinic=clinic,
        internal_name="Intern kontroll",
        web_name="Kontroll",
        hidden_for_patient=True,
        **_all_flags(True),
    )

    saved.refresh_from_db()
    assert saved.hidden_for_patient is True
    assert not any(getattr(saved, flag) for flag in FLAGS)


@pytest.mark.parametrize("flag", FLAGS)
def test_web_flags_cannot_be_set_while_type_stays_hidden(local_admin, clinic, flag):
    appointment_type = AppointmentTypeFactory(
        clinic=clinic, internal_name="Samtal", hidden_for_patient=True, **_all_flags(False)
    )

    with pytest.raises(ValidationFailed) as exc:
        appointment_type_save(actor=local_admin, clinic=clinic, instance=appointment_type, **{flag: True})

    assert exc.value.code == ErrorCode.INVALID_INPUT
    assert flag in exc.value.field_errors
    appointment_type.refresh_from_db()
    assert appointment_type.hidden_for_patient is True
    assert getattr(appointment_type, flag) is False


def test_unhiding_a_type_allows_the_web_flags_again(local_admin, clinic):
    appointment_type = AppointmentTypeFactory(
        clinic=clinic, internal_name="Samtal", hidden_for_patient=True, **_all_flags(False)
    )

    appointment_type_save(
        actor=local_admin, clinic=clinic, instance=appointment_type, hidden_for_patient=False, bookable_on_web=True
    )

    appointment_type.refresh_from_db()
    assert appointment_type.hidden_for_patient is False
    assert appointment_type.bookable_on_web is True


@pytest.mark.parametrize("flag", FLAGS)
def test_database_refuses_hidden_type_with_a_web_flag(clinic, flag):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentType.objects.create(
            clinic=clinic, internal_name="Samtal", web_name="Samtal", hidden_for_patient=True, **{flag: True}
        )


def test_hidden_type_is_neither_offered_nor_bookable_by_resident(clinic, resource, resident):
    hidden = AppointmentTypeFactory(clinic=clinic, hidden_for_patient=True, **_all_flags(False))
    slot = SlotFactory(appointment_type=hidden, resource=resource)

    assert not bookable_types(clinic=clinic, resident=resident).filter(pk=hidden.pk).exists()
    assert not offered_slots(clinic=clinic, appointment_type=hidden, resident=resident).exists()
    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=slot.pk)

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert not Booking.objects.filter(slot=slot).exists()


def test_staff_booking_of_hidden_type_is_invisible_to_resident(scheduler, clinic, resource, resident):
    hidden = AppointmentTypeFactory(clinic=clinic, hidden_for_patient=True, **_all_flags(False))
    slot = SlotFactory(appointment_type=hidden, resource=resource)

    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)

    assert booking.status == BookingStatus.ACTIVE
    assert not bookings_for_resident(resident=resident).filter(pk=booking.pk).exists()
    assert not inbox_for_resident(resident=resident).filter(booking=booking).exists()


def test_hiding_a_type_hides_existing_bookings_and_blocks_resident_changes(
    scheduler, local_admin, clinic, resource, resident
):
    appointment_type = AppointmentTypeFactory(clinic=clinic, **_all_flags(True))
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    other_slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)
    assert bookings_for_resident(resident=resident).filter(pk=booking.pk).exists()
    assert inbox_for_resident(resident=resident).filter(booking=booking).exists()

    appointment_type_save(actor=local_admin, clinic=clinic, instance=appointment_type, hidden_for_patient=True)

    assert not bookings_for_resident(resident=resident).filter(pk=booking.pk).exists()
    assert not inbox_for_resident(resident=resident).filter(booking=booking).exists()
    with pytest.raises(BookingError) as cancel_exc:
        booking_cancel(actor=resident, booking_id=booking.pk)
    assert cancel_exc.value.code == ErrorCode.NOT_FOUND
    with pytest.raises(BookingError) as rebook_exc:
        booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=other_slot.pk)
    assert rebook_exc.value.code == ErrorCode.NOT_FOUND
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert booking.slot_id == slot.pk


# --- R-TYPE-3: bookable and reschedulable, but cancel by phone ----------------------------------


def test_type_may_be_bookable_and_reschedulable_without_being_cancellable(local_admin, clinic):
    saved = appointment_type_save(
        actor=local_admin,
        clinic=clinic,
        internal_name="Hälsosamtal",
        web_name="Hälsosamtal",
        bookable_on_web=True,
        reschedulable_on_web=True,
        cancellable_on_web=False,
    )

    saved.refresh_from_db()
    assert (saved.bookable_on_web, saved.reschedulable_on_web, saved.cancellable_on_web) == (True, True, False)


def test_not_cancellable_type_tells_resident_to_call_and_refuses_web_cancel(clinic, resource, resident):
    appointment_type = AppointmentTypeFactory(
        clinic=clinic, bookable_on_web=True, reschedulable_on_web=True, cancellable_on_web=False
    )
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    booking = booking_create(resident=resident, slot_id=slot.pk)

    actions = booking_actions(booking=booking, resident=resident)

    assert actions.must_call_to_cancel is True
    assert actions.can_cancel is False
    assert actions.can_rebook is True
    with pytest.raises(BookingError) as exc:
        booking_cancel(actor=resident, booking_id=booking.pk)
    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert slot.status == SlotStatus.BOOKED
    assert not WebBookingLogEntry.objects.filter(status=LogStatus.CANCELLED).exists()


def test_not_cancellable_type_can_still_be_rebooked_on_the_web(clinic, resource, resident):
    appointment_type = AppointmentTypeFactory(
        clinic=clinic, bookable_on_web=True, reschedulable_on_web=True, cancellable_on_web=False
    )
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    later = SlotFactory(appointment_type=appointment_type, resource=resource)
    booking = booking_create(resident=resident, slot_id=slot.pk)

    new = booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=later.pk)

    booking.refresh_from_db()
    assert new.slot_id == later.pk
    assert new.status == BookingStatus.ACTIVE
    assert booking.status == BookingStatus.REBOOKED


def test_cancellable_type_does_not_ask_resident_to_call(clinic, resource, resident):
    appointment_type = AppointmentTypeFactory(clinic=clinic, **_all_flags(True))
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    booking = booking_create(resident=resident, slot_id=slot.pk)

    actions = booking_actions(booking=booking, resident=resident)

    assert actions.can_cancel is True
    assert actions.must_call_to_cancel is False


# --- R-TYPE-5: web name required to be bookable -------------------------------------------------


@pytest.mark.parametrize("web_name", ["", "   "])
def test_bookable_type_needs_a_web_name(local_admin, clinic, web_name):
    with pytest.raises(ValidationFailed) as exc:
        appointment_type_save(
            actor=local_admin, clinic=clinic, internal_name="Provtagning", web_name=web_name, bookable_on_web=True
        )

    assert exc.value.code == ErrorCode.INVALID_INPUT
    assert "web_name" in exc.value.field_errors
    assert not AppointmentType.objects.filter(clinic=clinic, internal_name="Provtagning").exists()


def test_type_not_bookable_on_web_may_lack_a_web_name(local_admin, clinic):
    saved = appointment_type_save(
        actor=local_admin, clinic=clinic, internal_name="Provtagning", web_name="", bookable_on_web=False
    )

    assert saved.pk is not None
    assert saved.web_name == ""


def test_clearing_the_web_name_of_a_bookable_type_is_refused(local_admin, clinic):
    appointment_type = AppointmentTypeFactory(clinic=clinic, web_name="Besök", bookable_on_web=True)

    with pytest.raises(ValidationFailed) as exc:
        appointment_type_save(actor=local_admin, clinic=clinic, instance=appointment_type, web_name="")

    assert "web_name" in exc.value.field_errors
    appointment_type.refresh_from_db()
    assert appointment_type.web_name == "Besök"


def test_database_refuses_bookable_type_without_web_name(clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentType.objects.create(clinic=clinic, internal_name="Provtagning", web_name="", bookable_on_web=True)


# --- R-TYPE-6: proxy ("Ombud") types --------------------------------------------------------------


def test_region_it_creates_a_proxy_type_with_all_three_flags(region_it, clinic):
    saved = appointment_type_save(
        actor=region_it, clinic=clinic, internal_name="Ombud 1177", web_name="Besök", **_all_flags(True)
    )

    saved.refresh_from_db()
    assert saved.is_proxy is True
    assert all(getattr(saved, flag) for flag in FLAGS)


def test_local_admin_may_not_create_a_proxy_type(local_admin, clinic):
    with pytest.raises(PermissionDeniedError) as exc:
        appointment_type_save(
            actor=local_admin, clinic=clinic, internal_name="Ombud 1177", web_name="Besök", **_all_flags(True)
        )

    assert exc.value.code == ErrorCode.PERMISSION_DENIED
    assert not AppointmentType.objects.filter(internal_name="Ombud 1177").exists()


def test_local_admin_may_not_rename_a_type_into_a_proxy_type(local_admin, clinic):
    appointment_type = AppointmentTypeFactory(clinic=clinic, internal_name="Akut besök", **_all_flags(True))

    with pytest.raises(PermissionDeniedError):
        appointment_type_save(
            actor=local_admin, clinic=clinic, instance=appointment_type, internal_name="Ombud akut besök"
        )

    appointment_type.refresh_from_db()
    assert appointment_type.internal_name == "Akut besök"


def test_local_admin_may_not_rename_a_proxy_type(local_admin, clinic):
    proxy = AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177", **_all_flags(True))

    with pytest.raises(PermissionDeniedError):
        appointment_type_save(actor=local_admin, clinic=clinic, instance=proxy, internal_name="Akut besök")

    proxy.refresh_from_db()
    assert proxy.internal_name == "Ombud 1177"


def test_region_it_may_rename_a_proxy_type(region_it, clinic):
    proxy = AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177", **_all_flags(True))

    appointment_type_save(actor=region_it, clinic=clinic, instance=proxy, internal_name="Ombud akutmottagning")

    proxy.refresh_from_db()
    assert proxy.internal_name == "Ombud akutmottagning"


def test_region_it_of_another_region_may_not_create_a_proxy_type(clinic):
    uppsala_it = staff(Role.REGION_IT, region=RegionFactory(name="Region Uppsala", code="03"))

    with pytest.raises(PermissionDeniedError):
        appointment_type_save(
            actor=uppsala_it, clinic=clinic, internal_name="Ombud 1177", web_name="Besök", **_all_flags(True)
        )

    assert not AppointmentType.objects.filter(internal_name="Ombud 1177").exists()


@pytest.mark.parametrize("missing", FLAGS)
def test_proxy_type_missing_a_web_flag_is_a_validation_error(region_it, clinic, missing):
    flags = {**_all_flags(True), missing: False}

    with pytest.raises(ValidationFailed) as exc:
        appointment_type_save(actor=region_it, clinic=clinic, internal_name="Ombud 1177", web_name="Besök", **flags)

    assert exc.value.code == ErrorCode.INVALID_INPUT
    assert "internal_name" in exc.value.field_errors
    assert not AppointmentType.objects.filter(internal_name="Ombud 1177").exists()


@pytest.mark.parametrize("missing", FLAGS)
def test_clearing_a_web_flag_of_a_proxy_type_is_refused(region_it, clinic, missing):
    proxy = AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177", **_all_flags(True))

    with pytest.raises(ValidationFailed) as exc:
        appointment_type_save(actor=region_it, clinic=clinic, instance=proxy, **{missing: False})

    assert "internal_name" in exc.value.field_errors
    proxy.refresh_from_db()
    assert getattr(proxy, missing) is True


def test_proxy_type_cannot_be_hidden(region_it, clinic):
    proxy = AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177", **_all_flags(True))

    with pytest.raises(ValidationFailed):
        appointment_type_save(actor=region_it, clinic=clinic, instance=proxy, hidden_for_patient=True)

    proxy.refresh_from_db()
    assert proxy.hidden_for_patient is False
    assert all(getattr(proxy, flag) for flag in FLAGS)


def test_renaming_a_type_into_a_proxy_type_needs_all_three_flags(region_it, clinic):
    appointment_type = AppointmentTypeFactory(
        clinic=clinic, internal_name="Akut besök", bookable_on_web=True, cancellable_on_web=False
    )

    with pytest.raises(ValidationFailed) as exc:
        appointment_type_save(actor=region_it, clinic=clinic, instance=appointment_type, internal_name="Ombud akut")

    assert "internal_name" in exc.value.field_errors
    appointment_type.refresh_from_db()
    assert appointment_type.internal_name == "Akut besök"


@pytest.mark.parametrize("missing", FLAGS)
def test_database_refuses_proxy_type_without_all_three_flags(clinic, missing):
    flags = {**_all_flags(True), missing: False}

    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentType.objects.create(clinic=clinic, internal_name="Ombud 1177", web_name="Besök", **flags)


def test_database_accepts_proxy_type_with_all_three_flags(clinic):
    proxy = AppointmentType.objects.create(
        clinic=clinic, internal_name="Ombud 1177", web_name="Besök", **_all_flags(True)
    )

    assert proxy.is_proxy is True


def test_proxy_booker_books_and_cancels_a_proxy_type(clinic, resource, resident):
    proxy_type = AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177", **_all_flags(True))
    slot = SlotFactory(appointment_type=proxy_type, resource=resource)
    booker = staff(Role.PROXY_BOOKER, clinic, unit_name="1177 Vårdguiden på telefon")

    booking = booking_create_by_proxy(actor=booker, resident=resident, slot_id=slot.pk)

    assert booking.channel == Channel.PROXY
    assert booking.proxy_unit == "1177 Vårdguiden på telefon"
    assert booking.created_by == booker

    booking_cancel(actor=booker, booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert WebBookingLogEntry.objects.filter(
        booking=booking, status=LogStatus.CANCELLED, channel=Channel.PROXY
    ).exists()


def test_proxy_booker_may_not_book_an_ordinary_type(clinic, resource, resident):
    ordinary = AppointmentTypeFactory(clinic=clinic, internal_name="Läkarbesök", **_all_flags(True))
    slot = SlotFactory(appointment_type=ordinary, resource=resource)
    booker = staff(Role.PROXY_BOOKER, clinic, unit_name="1177 Vårdguiden på telefon")

    with pytest.raises(DomainError) as exc:
        booking_create_by_proxy(actor=booker, resident=resident, slot_id=slot.pk)

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert not Booking.objects.filter(slot=slot).exists()


def test_proxy_booker_of_another_region_may_not_book_a_proxy_type(clinic, resource, resident):
    proxy_type = AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177", **_all_flags(True))
    slot = SlotFactory(appointment_type=proxy_type, resource=resource)
    booker = staff(Role.PROXY_BOOKER, region=RegionFactory(name="Region Uppsala", code="03"))

    with pytest.raises(PermissionDeniedError):
        booking_create_by_proxy(actor=booker, resident=resident, slot_id=slot.pk)

    assert not Booking.objects.filter(slot=slot).exists()


# --- R-ACL-1 for appointment types ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.SUPPORT])
def test_staff_who_are_not_admins_may_not_edit_appointment_types(clinic, role):
    actor = staff(role, clinic)

    with pytest.raises(PermissionDeniedError):
        appointment_type_save(actor=actor, clinic=clinic, internal_name="Provtagning")

    assert not AppointmentType.objects.filter(internal_name="Provtagning").exists()


def test_local_admin_of_another_clinic_may_not_edit_appointment_types(clinic, appointment_type):
    outsider = staff(Role.LOCAL_ADMIN, ClinicFactory(name="Vårdcentralen Nacka"))

    with pytest.raises(PermissionDeniedError):
        appointment_type_save(actor=outsider, clinic=clinic, instance=appointment_type, web_name="Annat")

    appointment_type.refresh_from_db()
    assert appointment_type.web_name == "Besök"


def test_region_it_may_edit_ordinary_types_of_clinics_in_the_region(region_it, clinic, appointment_type):
    appointment_type_save(actor=region_it, clinic=clinic, instance=appointment_type, web_name="Återbesök")

    appointment_type.refresh_from_db()
    assert appointment_type.web_name == "Återbesök"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"bookable_on_web": False},
        {
            "bookable_on_web": False,
            "cancellable_on_web": False,
            "reschedulable_on_web": False,
            "hidden_for_patient": True,
        },
        {"bookable_on_web": False, "web_name": ""},
        {"internal_name": "Ombud 20 min"},
        {"requires_booking_basis": True},
        {"requires_booking_basis": True, "basis": "unused"},
        {"requires_booking_basis": True, "basis": "consumed"},
        {"case_type_closed": True},
    ],
)
def test_the_one_type_gate_agrees_with_the_bookable_types_query(fields, clinic, resident):
    """type_bookable_by (asked by the free-times gate and every booking) reads the type's flags
    from the instance; it must say exactly what bookable_types says (R-TYPE-2, -4, -5, -6)."""

    fields = dict(fields)
    basis = fields.pop("basis", None)
    if fields.pop("case_type_closed", False):
        CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(is_active=False)
    appointment_type = AppointmentTypeFactory(clinic=clinic, **fields)
    if basis:
        BookingBasisFactory(
            resident=resident,
            appointment_type=appointment_type,
            clinic=clinic,
            consumed_at=timezone.now() if basis == "consumed" else None,
        )

    listed = bookable_types(clinic=clinic, resident=resident).filter(pk=appointment_type.pk).exists()
    assert type_bookable_by(appointment_type=appointment_type, clinic=clinic, resident=resident) is listed
