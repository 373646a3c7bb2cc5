"""Booking bases (bokningsunderlag) and open summons (öppen kallelse) in the services and selectors:
issuing, the visit days and number of bookings a basis allows, revoking (bookings already made
stay), and the open summons that opens a type the resident is not otherwise offered, lands in
the inbox and creates the relation (R-TYPE-4, R-REL-1, R-BOOK-9, R-LOG-4, R-ACL-1)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, Role, User
from bookings.basis_selectors import bases_for_resident, bases_for_staff, booking_basis_for_staff
from bookings.models import BasisKind, BasisState, Booking, BookingBasis, BookingStatus, InboxMessage, MessageKind
from bookings.services import (
    booking_basis_issue,
    booking_basis_revoke,
    booking_cancel,
    booking_create,
    booking_rebook,
    open_summons_send,
)
from clinics.models import Audience, CaseKind, CaseType, ClinicRelation, RelationSource
from clinics.selectors import bookable_types
from core.errors import BookingError, ErrorCode, PermissionDeniedError, ValidationFailed
from schedules.models import SlotStatus
from schedules.selectors import offered_slots

from ..factories import AppointmentTypeFactory, BookingBasisFactory, make_personnummer, staff, tomorrow_at
from ..pages import make_slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral_type(clinic):
    return AppointmentTypeFactory(
        clinic=clinic, internal_name="Remissbesök 45 min", web_name="Besök efter remiss", requires_booking_basis=True
    )


@pytest.fixture
def screening_type(clinic):
    """A type the clinic does not offer on the web: only an open summons opens it."""
    return AppointmentTypeFactory(
        clinic=clinic, internal_name="Hälsokontroll 40 år", web_name="Hälsokontroll", bookable_on_web=False
    )


def days_ahead(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


# --- Issuing (R-TYPE-4, R-LOG-4) ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.LOCAL_ADMIN, Role.REGION_IT])
def test_schedulers_and_admins_issue_a_basis_by_personnummer_and_it_is_audited(clinic, referral_type, role):
    actor = staff(role, clinic)
    personnummer = make_personnummer()

    basis = booking_basis_issue(
        actor=actor,
        clinic=clinic,
        appointment_type=referral_type,
        personnummer=personnummer,
        valid_from=days_ahead(1),
        valid_until=days_ahead(30),
        max_bookings=3,
        note="  Remiss från ortopeden  ",
    )

    assert basis.resident.personnummer == personnummer  # a resident who never logged in is created
    assert (basis.kind, basis.max_bookings, basis.note, basis.issued_by) == (
        BasisKind.BASIS,
        3,
        "Remiss från ortopeden",
        actor,
    )
    event = AuditEvent.objects.get(action="booking_basis.issue")
    assert (event.actor, event.resident, event.object_id) == (actor, basis.resident, str(basis.pk))


def test_support_staff_and_other_clinics_cannot_issue(clinic, other_clinic, referral_type, support):
    for actor in (support, staff(Role.SCHEDULER, other_clinic)):
        with pytest.raises(PermissionDeniedError):
            booking_basis_issue(actor=actor, appointment_type=referral_type, personnummer=make_personnummer())
    assert not BookingBasis.objects.exists()
    assert not User.objects.filter(personnummer__isnull=False).exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"valid_until": -1}, "valid_until"),
        ({"valid_from": 10, "valid_until": 5}, "valid_until"),
        ({"max_bookings": 0}, "max_bookings"),
        ({"max_bookings": 21}, "max_bookings"),
        ({"note": "x" * 501}, "note"),
        ({"hidden": True}, "appointment_type"),
        ({"other_clinic": True}, "appointment_type"),
    ],
)
def test_bad_bases_are_refused_with_a_field_error_and_write_nothing(clinic, other_clinic, scheduler, values, field):
    hidden = values.pop("hidden", False)
    appointment_type = AppointmentTypeFactory(
        clinic=other_clinic if values.pop("other_clinic", False) else clinic,
        hidden_for_patient=hidden,
        bookable_on_web=False,
        cancellable_on_web=not hidden,
        reschedulable_on_web=not hidden,
    )
    for key in ("valid_from", "valid_until"):
        if key in values:
            values[key] = days_ahead(values[key])

    with pytest.raises(ValidationFailed) as exc:
        booking_basis_issue(
            actor=scheduler,
            clinic=clinic,
            appointment_type=appointment_type,
            personnummer=make_personnummer(),
            **values,
        )

    assert list(exc.value.field_errors) == [field]
    assert not BookingBasis.objects.exists()
    assert not AuditEvent.objects.exists()


# --- What a basis allows (R-TYPE-4) ---------------------------------------------------------------


def test_a_basis_allows_as_many_bookings_as_it_says_and_a_cancellation_gives_one_back(
    resident, scheduler, referral_type, resource
):
    slots = [make_slot(referral_type, resource, tomorrow_at(9 + n, days=2)) for n in range(4)]
    basis = booking_basis_issue(actor=scheduler, appointment_type=referral_type, resident=resident, max_bookings=2)

    first = booking_create(resident=resident, slot_id=slots[0].pk)
    booking_create(resident=resident, slot_id=slots[1].pk)
    basis.refresh_from_db()
    assert (basis.uses, basis.state) == (2, BasisState.USED)
    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=slots[2].pk)
    assert exc.value.code == ErrorCode.BOOKING_BASIS_REQUIRED

    booking_cancel(actor=resident, booking_id=first.pk)
    basis.refresh_from_db()
    assert (basis.uses, basis.state, basis.consumed_at) == (1, BasisState.ACTIVE, None)
    assert booking_create(resident=resident, slot_id=slots[2].pk).booking_basis_id == basis.pk


def test_a_basis_covers_visits_only_on_its_days(resident, scheduler, referral_type, resource):
    inside = make_slot(referral_type, resource, tomorrow_at(10, days=5))
    before = make_slot(referral_type, resource, tomorrow_at(10, days=2))
    after = make_slot(referral_type, resource, tomorrow_at(10, days=9))
    booking_basis_issue(
        actor=scheduler,
        appointment_type=referral_type,
        resident=resident,
        valid_from=days_ahead(4),
        valid_until=days_ahead(7),
    )

    offered = set(offered_slots(clinic=referral_type.clinic, appointment_type=referral_type, resident=resident))
    assert offered == {inside}
    for outside in (before, after):
        with pytest.raises(BookingError) as exc:
            booking_create(resident=resident, slot_id=outside.pk)
        assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
        outside.refresh_from_db()
        assert outside.status == SlotStatus.FREE
    assert booking_create(resident=resident, slot_id=inside.pk).booking_basis is not None


# --- Revoking --------------------------------------------------------------------------------------


def test_revoking_stops_new_bookings_and_keeps_the_ones_made(resident, scheduler, referral_type, resource):
    made_slot, next_slot = (make_slot(referral_type, resource, tomorrow_at(h, days=3)) for h in (9, 10))
    basis = booking_basis_issue(actor=scheduler, appointment_type=referral_type, resident=resident, max_bookings=2)
    made = booking_create(resident=resident, slot_id=made_slot.pk)

    revoked, kept = booking_basis_revoke(actor=scheduler, clinic=referral_type.clinic, basis_id=basis.pk)

    assert kept == 1 and revoked.state == BasisState.REVOKED and revoked.revoked_by == scheduler
    made.refresh_from_db()
    assert made.status == BookingStatus.ACTIVE  # not cancelled
    with pytest.raises(BookingError):
        booking_create(resident=resident, slot_id=next_slot.pk)
    assert referral_type not in bookable_types(clinic=referral_type.clinic, resident=resident)
    # The booking made with it can still be moved (rebooking keeps the basis).
    moved = booking_rebook(resident=resident, booking_id=made.pk, new_slot_id=next_slot.pk)
    assert moved.booking_basis_id == basis.pk
    event = AuditEvent.objects.get(action="booking_basis.revoke")
    assert (event.resident, event.detail) == (resident, "active bookings kept=1")


def test_revoking_twice_or_another_clinics_basis_changes_nothing(
    clinic, other_clinic, scheduler, support, referral_type
):
    basis = BookingBasisFactory(appointment_type=referral_type)
    theirs = BookingBasisFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))

    with pytest.raises(PermissionDeniedError):
        booking_basis_revoke(actor=support, clinic=clinic, basis_id=basis.pk)
    with pytest.raises(BookingError) as exc:
        booking_basis_revoke(actor=scheduler, clinic=clinic, basis_id=theirs.pk)
    assert exc.value.code == ErrorCode.NOT_FOUND
    booking_basis_revoke(actor=scheduler, clinic=clinic, basis_id=basis.pk)
    with pytest.raises(BookingError):
        booking_basis_revoke(actor=scheduler, clinic=clinic, basis_id=basis.pk)

    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert AuditEvent.objects.filter(action="booking_basis.revoke").count() == 1


# --- Lists and what the resident sees ---------------------------------------------------------------


def test_the_clinic_list_filters_by_state_and_audits_each_resident_shown(
    clinic, other_clinic, scheduler, referral_type
):
    active = BookingBasisFactory(appointment_type=referral_type)
    expired = BookingBasisFactory(appointment_type=referral_type, valid_until=days_ahead(-1))
    revoked = BookingBasisFactory(appointment_type=referral_type, revoked_at=timezone.now())
    used = BookingBasisFactory(appointment_type=referral_type, uses=1, consumed_at=timezone.now())
    BookingBasisFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))

    def listed(state=None):
        return {b.pk for b in bases_for_staff(actor=scheduler, clinic=clinic, state=state)}

    assert listed() == {active.pk, expired.pk, revoked.pk, used.pk}
    assert listed(BasisState.ACTIVE) == {active.pk}
    assert listed(BasisState.EXPIRED) == {expired.pk}
    assert listed(BasisState.REVOKED) == {revoked.pk}
    assert listed(BasisState.USED) == {used.pk}
    shown = AuditEvent.objects.filter(action="booking_basis.resident_shown", actor=scheduler)
    assert set(shown.values_list("resident", flat=True)) == {b.resident_id for b in (active, expired, revoked, used)}


def test_only_the_clinics_own_staff_read_its_bases(clinic, other_clinic, referral_type):
    basis = BookingBasisFactory(appointment_type=referral_type)
    with pytest.raises(PermissionDeniedError):
        bases_for_staff(actor=staff(Role.SCHEDULER, other_clinic), clinic=clinic)
    for role in (Role.SUPPORT, Role.SCHEDULER, Role.LOCAL_ADMIN):
        assert booking_basis_for_staff(actor=staff(role, clinic), clinic=clinic, basis_id=basis.pk) == basis
    with pytest.raises(BookingError):
        booking_basis_for_staff(actor=staff(Role.SCHEDULER, other_clinic), clinic=other_clinic, basis_id=basis.pk)


def test_the_resident_sees_only_their_usable_bases(resident, other_resident, referral_type, appointment_type):
    usable = BookingBasisFactory(appointment_type=referral_type, resident=resident, valid_until=days_ahead(10))
    BookingBasisFactory(appointment_type=referral_type, resident=resident, valid_until=days_ahead(-1))
    BookingBasisFactory(appointment_type=referral_type, resident=resident, revoked_at=timezone.now())
    BookingBasisFactory(appointment_type=referral_type, resident=resident, uses=1, consumed_at=timezone.now())
    BookingBasisFactory(appointment_type=referral_type, resident=other_resident)
    # A basis for a type anyone may book anyway adds nothing to show.
    BookingBasisFactory(appointment_type=appointment_type, resident=resident)

    assert bases_for_resident(resident=resident) == [usable]


# --- Open summons (öppen kallelse, R-REL-1, R-BOOK-9) ---------------------------------------------


def test_an_open_summons_lands_in_the_inbox_creates_the_relation_and_is_audited(clinic, scheduler, screening_type):
    personnummer = make_personnummer()

    summons = open_summons_send(
        actor=scheduler,
        clinic=clinic,
        appointment_type=screening_type,
        personnummer=personnummer,
        valid_from=days_ahead(3),
        valid_until=days_ahead(20),
        note="Kallas enligt vårdprogram",
    )

    assert (summons.kind, summons.max_bookings) == (BasisKind.OPEN_SUMMONS, 1)
    message = InboxMessage.objects.get(resident=summons.resident)
    assert (message.kind, message.booking_basis, message.clinic) == (MessageKind.OPEN_SUMMONS, summons, clinic)
    assert "Hälsokontroll" in message.body and "Hälsokontroll 40 år" not in message.body  # R-TYPE-1
    assert "Kallas enligt" not in message.body  # the note is internal
    relation = ClinicRelation.objects.get(resident=summons.resident, clinic=clinic)
    assert relation.on_start_page and relation.source == RelationSource.SUMMONS
    assert AuditEvent.objects.filter(action="open_summons.send", resident=summons.resident).count() == 1


@pytest.mark.parametrize("closed", ["not bookable on the web", "book case type off", "relation-only audience"])
def test_an_open_summons_opens_a_type_not_otherwise_offered_for_one_booking_in_its_period(
    clinic, scheduler, resident, resource, closed
):
    screening = AppointmentTypeFactory(clinic=clinic, web_name="Hälsokontroll", requires_booking_basis=True)
    if closed == "not bookable on the web":
        screening.bookable_on_web = False
        screening.save()
    elif closed == "book case type off":
        CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(is_active=False)
    else:
        CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(audience=Audience.RELATED)
    inside, second, outside = (
        make_slot(screening, resource, tomorrow_at(9, days=4)),
        make_slot(screening, resource, tomorrow_at(10, days=4)),
        make_slot(screening, resource, tomorrow_at(9, days=12)),
    )
    other = AppointmentTypeFactory(clinic=clinic, bookable_on_web=False, web_name="Annat")
    assert screening not in bookable_types(clinic=clinic, resident=resident)

    open_summons_send(
        actor=scheduler,
        clinic=clinic,
        appointment_type=screening,
        resident=resident,
        valid_from=days_ahead(2),
        valid_until=days_ahead(8),
    )

    assert list(bookable_types(clinic=clinic, resident=resident)) == [screening]
    assert other not in bookable_types(clinic=clinic, resident=resident)
    assert set(offered_slots(clinic=clinic, appointment_type=screening, resident=resident)) == {inside, second}
    with pytest.raises(BookingError):
        booking_create(resident=resident, slot_id=outside.pk)
    booking = booking_create(resident=resident, slot_id=inside.pk)
    assert booking.booking_basis is not None and booking.booking_basis.kind == BasisKind.OPEN_SUMMONS
    # One use: the second time is refused, and the type is closed again.
    with pytest.raises(BookingError):
        booking_create(resident=resident, slot_id=second.pk)
    assert screening not in bookable_types(clinic=clinic, resident=resident)
    assert Booking.objects.filter(resident=resident).count() == 1


def test_booking_a_summoned_type_that_is_open_anyway_fulfils_the_summons(
    clinic, scheduler, resident, appointment_type, resource
):
    slot = make_slot(appointment_type, resource, tomorrow_at(9, days=3))
    summons = open_summons_send(
        actor=scheduler,
        clinic=clinic,
        appointment_type=appointment_type,
        resident=resident,
        valid_from=days_ahead(1),
        valid_until=days_ahead(10),
    )

    booking = booking_create(resident=resident, slot_id=slot.pk)

    summons.refresh_from_db()
    assert booking.booking_basis_id == summons.pk and summons.state == BasisState.USED
    assert bases_for_resident(resident=resident) == []


def test_a_revoked_summons_no_longer_opens_the_type(clinic, scheduler, resident, screening_type, resource):
    slot = make_slot(screening_type, resource, tomorrow_at(9, days=3))
    summons = open_summons_send(
        actor=scheduler,
        clinic=clinic,
        appointment_type=screening_type,
        resident=resident,
        valid_from=days_ahead(1),
        valid_until=days_ahead(10),
    )
    assert bases_for_resident(resident=resident) == [summons]

    booking_basis_revoke(actor=scheduler, clinic=clinic, basis_id=summons.pk)

    assert bases_for_resident(resident=resident) == []
    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=slot.pk)
    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
