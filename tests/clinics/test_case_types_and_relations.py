"""Case types (R-CASE-1…3), timebook support (R-CLINIC-2), clinic relations (R-REL-1…3) and who may
change them (R-ACL-1)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction

from accounts.models import Role
from bookings.models import Booking, BookingStatus
from bookings.selectors import booking_actions, bookings_for_resident, rebook_candidates
from bookings.services import booking_cancel, booking_create, booking_create_for_resident
from clinics.models import Area, Audience, CaseKind, CaseType, Clinic, ClinicRelation, RelationSource
from clinics.selectors import (
    action_supported,
    admitted_case_types,
    bookable_types,
    case_type_admits,
    case_type_for,
    relation_is_active,
    start_page_clinics,
)
from clinics.services import (
    case_type_activate,
    case_type_deactivate,
    case_type_update,
    clinic_ensure_case_types,
    communication_approve,
    communication_withdraw,
    direct_link_create,
    relation_add,
    relation_remove,
)
from core.errors import BookingError, DomainError, ErrorCode, PermissionDeniedError, ValidationFailed
from schedules.selectors import offered_slots

from ..factories import RegionFactory, ResidentFactory, SlotFactory, staff

CONDITIONS = "• Avboka senast 24 timmar innan\n• Ta med legitimation"
STOCKHOLM = "01"
UPPSALA = "03"


@pytest.fixture
def new_clinic(db):
    """A clinic as it is set up: case types present but not switched on, no conditions text."""
    clinic = Clinic.objects.create(hsa_id="SE2321000016-NEW1", name="Nya vårdcentralen", region=RegionFactory())
    clinic_ensure_case_types(clinic=clinic)
    return clinic


@pytest.fixture
def new_clinic_admin(new_clinic):
    return staff(Role.LOCAL_ADMIN, new_clinic)


@pytest.fixture
def uppsala_region(db):
    return RegionFactory(name="Region Uppsala", code=UPPSALA)


def _case_type(clinic: Clinic, kind: CaseKind) -> CaseType:
    """The clinic's case type of this kind: every clinic has one of each."""
    case_type = case_type_for(clinic=clinic, kind=kind)
    assert case_type is not None
    return case_type


def _configure(case_type: CaseType, *, audience: str, area: str, active: bool = True) -> CaseType:
    CaseType.objects.filter(pk=case_type.pk).update(audience=audience, area=area, is_active=active)
    return CaseType.objects.select_related("clinic__region").get(pk=case_type.pk)


# --- R-CASE-1: two case types, conditions text, explicit activation ------------------------------


def test_every_clinic_has_exactly_a_book_and_a_manage_case_type_both_inactive(new_clinic):
    clinic_ensure_case_types(clinic=new_clinic)  # idempotent

    case_types = CaseType.objects.filter(clinic=new_clinic)
    assert sorted(case_types.values_list("kind", flat=True)) == sorted(CaseKind.values)
    assert not case_types.filter(is_active=True).exists()


def test_database_refuses_a_second_case_type_of_the_same_kind(new_clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseType.objects.create(clinic=new_clinic, kind=CaseKind.BOOK)


def test_activation_without_conditions_text_is_refused(new_clinic, new_clinic_admin):
    book = _case_type(new_clinic, CaseKind.BOOK)

    with pytest.raises(ValidationFailed) as exc:
        case_type_activate(actor=new_clinic_admin, case_type=book)

    assert exc.value.code == ErrorCode.INVALID_INPUT
    assert "conditions_text" in exc.value.field_errors
    book.refresh_from_db()
    assert book.is_active is False


def test_activation_with_whitespace_only_conditions_text_is_refused(new_clinic, new_clinic_admin):
    book = _case_type(new_clinic, CaseKind.BOOK)
    CaseType.objects.filter(pk=book.pk).update(conditions_text="  \n  ")
    book.refresh_from_db()

    with pytest.raises(ValidationFailed) as exc:
        case_type_activate(actor=new_clinic_admin, case_type=book)

    assert "conditions_text" in exc.value.field_errors
    book.refresh_from_db()
    assert book.is_active is False


def test_writing_conditions_text_does_not_activate_the_case_type(new_clinic, new_clinic_admin):
    book = _case_type(new_clinic, CaseKind.BOOK)

    case_type_update(
        actor=new_clinic_admin, case_type=book, conditions_text=CONDITIONS, audience=Audience.ALL, area=Area.COUNTRY
    )

    book.refresh_from_db()
    assert book.conditions_text == CONDITIONS
    assert book.is_active is False
    assert case_type_admits(case_type=book, resident=ResidentFactory()) is False


def test_case_type_is_active_after_explicit_activation(new_clinic, new_clinic_admin):
    book = _case_type(new_clinic, CaseKind.BOOK)
    case_type_update(
        actor=new_clinic_admin, case_type=book, conditions_text=CONDITIONS, audience=Audience.ALL, area=Area.COUNTRY
    )

    case_type_activate(actor=new_clinic_admin, case_type=book)

    book.refresh_from_db()
    assert book.is_active is True
    assert case_type_admits(case_type=book, resident=ResidentFactory()) is True


def test_each_case_type_has_its_own_conditions_text(new_clinic, new_clinic_admin):
    book = _case_type(new_clinic, CaseKind.BOOK)
    manage = _case_type(new_clinic, CaseKind.MANAGE)

    case_type_update(
        actor=new_clinic_admin, case_type=book, conditions_text=CONDITIONS, audience=Audience.ALL, area=Area.COUNTRY
    )

    manage.refresh_from_db()
    assert manage.conditions_text == ""
    with pytest.raises(ValidationFailed):
        case_type_activate(actor=new_clinic_admin, case_type=manage)
    case_type_activate(actor=new_clinic_admin, case_type=book)
    manage.refresh_from_db()
    assert manage.is_active is False


def test_conditions_text_is_shown_as_bullets(new_clinic, new_clinic_admin):
    book = _case_type(new_clinic, CaseKind.BOOK)

    case_type_update(
        actor=new_clinic_admin,
        case_type=book,
        conditions_text="• Avboka senast 24 timmar innan\n\n- Ta med legitimation\n* Kom i tid",
        audience=Audience.ALL,
        area=Area.COUNTRY,
    )

    book.refresh_from_db()
    assert book.conditions_bullets == ["Avboka senast 24 timmar innan", "Ta med legitimation", "Kom i tid"]


def test_active_case_type_cannot_lose_its_conditions_text(clinic, local_admin):
    book = _case_type(clinic, CaseKind.BOOK)
    assert book.is_active is True

    with pytest.raises(ValidationFailed) as exc:
        case_type_update(
            actor=local_admin, case_type=book, conditions_text="  ", audience=Audience.ALL, area=Area.COUNTRY
        )

    assert "conditions_text" in exc.value.field_errors
    book.refresh_from_db()
    assert book.conditions_text.strip() != ""
    assert book.is_active is True


def test_deactivated_case_type_no_longer_admits_anyone(clinic, local_admin, resident, appointment_type):
    book = _case_type(clinic, CaseKind.BOOK)
    assert case_type_admits(case_type=book, resident=resident) is True
    assert bookable_types(clinic=clinic, resident=resident).filter(pk=appointment_type.pk).exists()

    case_type_deactivate(actor=local_admin, case_type=book)

    book.refresh_from_db()
    assert book.is_active is False
    assert case_type_admits(case_type=book, resident=resident) is False
    assert not bookable_types(clinic=clinic, resident=resident).exists()


@pytest.mark.parametrize(
    ("field", "audience", "area"), [("audience", "everyone", Area.COUNTRY), ("area", Audience.ALL, "world")]
)
def test_unknown_audience_or_area_is_refused(clinic, local_admin, field, audience, area):
    book = _case_type(clinic, CaseKind.BOOK)

    with pytest.raises(ValidationFailed) as exc:
        case_type_update(actor=local_admin, case_type=book, conditions_text=CONDITIONS, audience=audience, area=area)

    assert field in exc.value.field_errors
    book.refresh_from_db()
    assert book.audience == Audience.ALL
    assert book.area == Area.COUNTRY


# --- R-CASE-2 / R-CASE-3: audience and area ------------------------------------------------------


def test_update_stores_the_chosen_audience_and_area(clinic, local_admin):
    book = _case_type(clinic, CaseKind.BOOK)

    case_type_update(
        actor=local_admin, case_type=book, conditions_text=CONDITIONS, audience=Audience.RELATED, area=Area.REGION
    )

    book.refresh_from_db()
    assert (book.audience, book.area) == (Audience.RELATED, Area.REGION)


@pytest.mark.parametrize(
    ("audience", "area", "home_region", "related", "admitted"),
    [
        (Audience.ALL, Area.COUNTRY, STOCKHOLM, False, True),
        (Audience.ALL, Area.COUNTRY, UPPSALA, False, True),
        (Audience.ALL, Area.REGION, STOCKHOLM, False, True),
        (Audience.ALL, Area.REGION, UPPSALA, False, False),
        (Audience.ALL, Area.REGION, UPPSALA, True, False),
        (Audience.ALL, Area.REGION, "", False, False),
        (Audience.RELATED, Area.COUNTRY, STOCKHOLM, False, False),
        (Audience.RELATED, Area.COUNTRY, UPPSALA, True, True),
        (Audience.RELATED, Area.REGION, STOCKHOLM, True, True),
        (Audience.RELATED, Area.REGION, STOCKHOLM, False, False),
        (Audience.RELATED, Area.REGION, UPPSALA, True, False),
    ],
)
def test_case_type_admits_only_residents_inside_audience_and_area(
    clinic, local_admin, appointment_type, audience, area, home_region, related, admitted
):
    assert clinic.region.code == STOCKHOLM
    resident = ResidentFactory(home_region_code=home_region)
    if related:
        relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)
    book = _case_type(clinic, CaseKind.BOOK)
    case_type_update(actor=local_admin, case_type=book, conditions_text=CONDITIONS, audience=audience, area=area)

    assert case_type_admits(case_type=_case_type(clinic, CaseKind.BOOK), resident=resident) is admitted
    kinds = [ct.kind for ct in admitted_case_types(clinic=clinic, resident=resident)]
    assert (CaseKind.BOOK in kinds) is admitted
    assert bookable_types(clinic=clinic, resident=resident).filter(pk=appointment_type.pk).exists() is admitted


def test_ended_relation_no_longer_admits_to_a_related_only_case_type(clinic, resident):
    book = _configure(_case_type(clinic, CaseKind.BOOK), audience=Audience.RELATED, area=Area.COUNTRY)
    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)
    assert case_type_admits(case_type=book, resident=resident) is True

    relation_remove(resident=resident, clinic=clinic)

    assert case_type_admits(case_type=book, resident=resident) is False


@pytest.mark.parametrize(("audience", "admitted"), [(Audience.ALL, True), (Audience.RELATED, False)])
def test_anonymous_visitor_sees_only_case_types_for_all_residents(clinic, audience, admitted):
    book = _configure(_case_type(clinic, CaseKind.BOOK), audience=audience, area=Area.COUNTRY)

    assert case_type_admits(case_type=book, resident=AnonymousUser()) is admitted
    assert case_type_admits(case_type=book, resident=None) is admitted


def test_inactive_case_type_admits_nobody(clinic, resident):
    book = _configure(_case_type(clinic, CaseKind.BOOK), audience=Audience.ALL, area=Area.COUNTRY, active=False)

    assert case_type_admits(case_type=book, resident=resident) is False
    assert case_type_admits(case_type=None, resident=resident) is False
    assert CaseKind.BOOK not in [ct.kind for ct in admitted_case_types(clinic=clinic, resident=resident)]


def test_contact_card_shows_related_only_case_type_once_resident_has_a_relation(clinic, resident):
    _configure(_case_type(clinic, CaseKind.BOOK), audience=Audience.ALL, area=Area.COUNTRY)
    _configure(_case_type(clinic, CaseKind.MANAGE), audience=Audience.RELATED, area=Area.COUNTRY)

    assert [ct.kind for ct in admitted_case_types(clinic=clinic, resident=resident)] == [CaseKind.BOOK]

    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)

    assert {ct.kind for ct in admitted_case_types(clinic=clinic, resident=resident)} == {
        CaseKind.BOOK,
        CaseKind.MANAGE,
    }


def test_resident_outside_the_region_cannot_start_booking(clinic, appointment_type, slot):
    _configure(_case_type(clinic, CaseKind.BOOK), audience=Audience.ALL, area=Area.REGION)
    outsider = ResidentFactory(home_region_code=UPPSALA)
    insider = ResidentFactory(home_region_code=STOCKHOLM)

    assert not offered_slots(clinic=clinic, appointment_type=appointment_type, resident=outsider).exists()
    with pytest.raises(BookingError) as exc:
        booking_create(resident=outsider, slot_id=slot.pk)
    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert not Booking.objects.filter(slot=slot).exists()

    assert offered_slots(clinic=clinic, appointment_type=appointment_type, resident=insider).filter(pk=slot.pk).exists()
    booking = booking_create(resident=insider, slot_id=slot.pk)
    assert booking.status == BookingStatus.ACTIVE


def test_resident_without_relation_cannot_book_at_related_only_clinic(clinic, resident, other_resident, slot):
    _configure(_case_type(clinic, CaseKind.BOOK), audience=Audience.RELATED, area=Area.COUNTRY)
    relation_add(resident=other_resident, clinic=clinic, source=RelationSource.START_PAGE)

    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=slot.pk)
    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED

    booking = booking_create(resident=other_resident, slot_id=slot.pk)
    assert booking.resident == other_resident


def test_resident_outside_the_manage_area_cannot_cancel_or_rebook(clinic, scheduler, appointment_type, resource, slot):
    _configure(_case_type(clinic, CaseKind.MANAGE), audience=Audience.ALL, area=Area.REGION)
    outsider = ResidentFactory(home_region_code=UPPSALA)
    SlotFactory(appointment_type=appointment_type, resource=resource)
    booking = booking_create_for_resident(actor=scheduler, resident=outsider, slot_id=slot.pk)

    actions = booking_actions(booking=booking, resident=outsider)

    assert actions.can_cancel is False
    assert actions.can_rebook is False
    assert not rebook_candidates(booking=booking, resident=outsider).exists()
    with pytest.raises(BookingError) as exc:
        booking_cancel(actor=outsider, booking_id=booking.pk)
    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


# --- R-CLINIC-2: what the timebook supports ------------------------------------------------------


def _unsupported_clinic(new_clinic, **supports) -> Clinic:
    Clinic.objects.filter(pk=new_clinic.pk).update(**supports)
    CaseType.objects.filter(clinic=new_clinic).update(conditions_text=CONDITIONS)
    new_clinic.refresh_from_db()
    return new_clinic


def test_book_case_type_cannot_be_activated_without_booking_support(new_clinic, new_clinic_admin):
    clinic = _unsupported_clinic(new_clinic, supports_booking=False)
    book = _case_type(clinic, CaseKind.BOOK)

    with pytest.raises(DomainError) as exc:
        case_type_activate(actor=new_clinic_admin, case_type=book)

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    book.refresh_from_db()
    assert book.is_active is False


def test_manage_case_type_cannot_be_activated_without_cancel_or_rebook_support(new_clinic, new_clinic_admin):
    clinic = _unsupported_clinic(new_clinic, supports_cancellation=False, supports_rebooking=False)
    manage = _case_type(clinic, CaseKind.MANAGE)

    with pytest.raises(DomainError) as exc:
        case_type_activate(actor=new_clinic_admin, case_type=manage)

    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    manage.refresh_from_db()
    assert manage.is_active is False


@pytest.mark.parametrize(
    "supports", [{"supports_cancellation": False}, {"supports_rebooking": False}], ids=["no_cancel", "no_rebook"]
)
def test_manage_case_type_activates_when_cancel_or_rebook_is_supported(new_clinic, new_clinic_admin, supports):
    clinic = _unsupported_clinic(new_clinic, **supports)
    manage = _case_type(clinic, CaseKind.MANAGE)

    case_type_activate(actor=new_clinic_admin, case_type=manage)

    manage.refresh_from_db()
    assert manage.is_active is True


def test_manage_support_does_not_depend_on_booking_support(new_clinic, new_clinic_admin):
    clinic = _unsupported_clinic(new_clinic, supports_booking=False)

    assert action_supported(clinic=clinic, kind=CaseKind.BOOK) is False
    assert action_supported(clinic=clinic, kind=CaseKind.MANAGE) is True
    case_type_activate(actor=new_clinic_admin, case_type=_case_type(clinic, CaseKind.MANAGE))


def test_booking_is_not_offered_when_the_timebook_stops_supporting_it(clinic, resident, appointment_type, slot):
    Clinic.objects.filter(pk=clinic.pk).update(supports_booking=False)
    clinic.refresh_from_db()

    assert case_type_admits(case_type=_case_type(clinic, CaseKind.BOOK), resident=resident) is False
    assert not bookable_types(clinic=clinic, resident=resident).exists()
    assert not offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident).exists()
    with pytest.raises(BookingError) as exc:
        booking_create(resident=resident, slot_id=slot.pk)
    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED


def test_cancel_is_not_offered_when_the_timebook_does_not_support_it(
    clinic, resident, appointment_type, resource, slot
):
    SlotFactory(appointment_type=appointment_type, resource=resource)
    booking = booking_create(resident=resident, slot_id=slot.pk)
    Clinic.objects.filter(pk=clinic.pk).update(supports_cancellation=False)
    booking = Booking.objects.select_related("clinic", "appointment_type").get(pk=booking.pk)

    actions = booking_actions(booking=booking, resident=resident)

    assert actions.can_cancel is False
    assert actions.can_rebook is True
    with pytest.raises(BookingError) as exc:
        booking_cancel(actor=resident, booking_id=booking.pk)
    assert exc.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


def test_rebook_is_not_offered_when_the_timebook_does_not_support_it(
    clinic, resident, appointment_type, resource, slot
):
    SlotFactory(appointment_type=appointment_type, resource=resource)
    booking = booking_create(resident=resident, slot_id=slot.pk)
    Clinic.objects.filter(pk=clinic.pk).update(supports_rebooking=False)
    booking = Booking.objects.select_related("clinic", "appointment_type").get(pk=booking.pk)

    actions = booking_actions(booking=booking, resident=resident)

    assert actions.can_rebook is False
    assert actions.can_cancel is True
    assert not rebook_candidates(booking=booking, resident=resident).exists()


# --- R-REL-1: how a relation is created ----------------------------------------------------------


@pytest.mark.parametrize("source", list(RelationSource))
def test_every_way_of_creating_a_relation_puts_the_clinic_on_the_start_page(clinic, resident, source):
    relation = relation_add(resident=resident, clinic=clinic, source=source)

    relation.refresh_from_db()
    assert relation.source == source
    assert relation.on_start_page is True
    assert relation_is_active(resident=resident, clinic=clinic) is True
    assert list(start_page_clinics(resident=resident)) == [clinic]


def test_adding_a_removed_clinic_again_brings_it_back_without_a_second_row(clinic, resident):
    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)
    relation_remove(resident=resident, clinic=clinic)
    assert not start_page_clinics(resident=resident).exists()

    relation_add(resident=resident, clinic=clinic, source=RelationSource.DIRECT_LINK)

    assert ClinicRelation.objects.filter(resident=resident, clinic=clinic).count() == 1
    assert list(start_page_clinics(resident=resident)) == [clinic]
    assert relation_is_active(resident=resident, clinic=clinic) is True


def test_booking_a_time_creates_a_relation(clinic, resident, slot):
    assert not relation_is_active(resident=resident, clinic=clinic)

    booking_create(resident=resident, slot_id=slot.pk)

    relation = ClinicRelation.objects.get(resident=resident, clinic=clinic)
    assert relation.source == RelationSource.BOOKING
    assert relation.on_start_page is True
    assert list(start_page_clinics(resident=resident)) == [clinic]


def test_receiving_a_summons_creates_a_relation(clinic, scheduler, resident, slot):
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)

    relation = ClinicRelation.objects.get(resident=resident, clinic=clinic)
    assert relation.source == RelationSource.SUMMONS
    assert list(start_page_clinics(resident=resident)) == [clinic]
    assert bookings_for_resident(resident=resident).filter(pk=booking.pk).exists()


def test_approval_for_communication_creates_a_relation(clinic, scheduler, resident):
    relation = communication_approve(actor=scheduler, resident=resident, clinic=clinic)

    relation.refresh_from_db()
    assert relation.approved_for_communication is True
    assert relation.on_start_page is True
    assert list(start_page_clinics(resident=resident)) == [clinic]


def test_relation_at_one_clinic_does_not_relate_the_resident_to_another(clinic, other_clinic, resident):
    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)

    assert relation_is_active(resident=resident, clinic=other_clinic) is False
    assert list(start_page_clinics(resident=resident)) == [clinic]


# --- R-REL-2 / R-REL-3: ending a relation ----------------------------------------------------------


def test_removing_the_clinic_ends_the_relation_and_hides_bookings(clinic, resident, slot):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    assert bookings_for_resident(resident=resident).filter(pk=booking.pk).exists()

    relation_remove(resident=resident, clinic=clinic)

    assert relation_is_active(resident=resident, clinic=clinic) is False
    assert not start_page_clinics(resident=resident).exists()
    assert not bookings_for_resident(resident=resident).exists()


def test_removing_the_clinic_keeps_the_relation_while_approved_for_communication(clinic, scheduler, resident, slot):
    communication_approve(actor=scheduler, resident=resident, clinic=clinic)
    booking = booking_create(resident=resident, slot_id=slot.pk)

    relation_remove(resident=resident, clinic=clinic)

    assert relation_is_active(resident=resident, clinic=clinic) is True
    assert ClinicRelation.objects.get(resident=resident, clinic=clinic).approved_for_communication is True
    assert list(bookings_for_resident(resident=resident)) == [booking]


def test_withdrawing_approval_after_removal_ends_the_relation_and_hides_bookings(clinic, scheduler, resident, slot):
    communication_approve(actor=scheduler, resident=resident, clinic=clinic)
    booking_create(resident=resident, slot_id=slot.pk)
    relation_remove(resident=resident, clinic=clinic)
    assert bookings_for_resident(resident=resident).exists()

    communication_withdraw(actor=scheduler, resident=resident, clinic=clinic)

    relation = ClinicRelation.objects.get(resident=resident, clinic=clinic)
    assert relation.approved_for_communication is False
    assert relation_is_active(resident=resident, clinic=clinic) is False
    assert not bookings_for_resident(resident=resident).exists()


def test_withdrawing_approval_removes_the_clinic_from_the_start_page(clinic, local_admin, resident, slot):
    communication_approve(actor=local_admin, resident=resident, clinic=clinic)
    booking_create(resident=resident, slot_id=slot.pk)
    assert list(start_page_clinics(resident=resident)) == [clinic]

    communication_withdraw(actor=local_admin, resident=resident, clinic=clinic)

    assert not start_page_clinics(resident=resident).exists()
    assert relation_is_active(resident=resident, clinic=clinic) is False
    assert not bookings_for_resident(resident=resident).exists()


def test_relation_change_at_one_clinic_leaves_others_alone(clinic, other_clinic, resident):
    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)
    relation_add(resident=resident, clinic=other_clinic, source=RelationSource.START_PAGE)

    relation_remove(resident=resident, clinic=clinic)

    assert list(start_page_clinics(resident=resident)) == [other_clinic]
    assert relation_is_active(resident=resident, clinic=other_clinic) is True


def test_removing_a_clinic_that_was_never_added_does_nothing(clinic, resident):
    assert relation_remove(resident=resident, clinic=clinic) is None
    assert not ClinicRelation.objects.filter(resident=resident).exists()


# --- R-ACL-1 for case types, direct links and communication approval -----------------------------


def _case_type_calls(clinic: Clinic):
    book = _case_type(clinic, CaseKind.BOOK)
    assert book is not None  # every clinic has its booking case type
    return {
        "update": lambda actor: case_type_update(
            actor=actor, case_type=book, conditions_text="Ny text", audience=Audience.RELATED, area=Area.REGION
        ),
        "activate": lambda actor: case_type_activate(actor=actor, case_type=book),
        "deactivate": lambda actor: case_type_deactivate(actor=actor, case_type=book),
    }


def _outsiders(clinic: Clinic, other_clinic: Clinic, uppsala_region) -> dict[str, object]:
    return {
        "local_admin_of_other_clinic": staff(Role.LOCAL_ADMIN, other_clinic),
        "region_it_of_other_region": staff(Role.REGION_IT, region=uppsala_region),
        "scheduler_of_clinic": staff(Role.SCHEDULER, clinic),
        "support_of_clinic": staff(Role.SUPPORT, clinic),
        "resident": ResidentFactory(),
    }


@pytest.mark.parametrize("action", ["update", "activate", "deactivate"])
def test_only_admins_of_the_clinic_may_change_its_case_types(clinic, other_clinic, uppsala_region, action):
    outsiders = _outsiders(clinic, other_clinic, uppsala_region)
    call = _case_type_calls(clinic)[action]
    rows = CaseType.objects.filter(clinic=clinic).values("kind", "is_active", "conditions_text", "audience", "area")
    before = sorted(rows, key=lambda row: row["kind"])

    for who, actor in outsiders.items():
        with pytest.raises(PermissionDeniedError) as exc:
            call(actor)
        assert exc.value.code == ErrorCode.PERMISSION_DENIED, who

    after = CaseType.objects.filter(clinic=clinic).values("kind", "is_active", "conditions_text", "audience", "area")
    assert sorted(after, key=lambda row: row["kind"]) == before


def test_region_it_of_the_clinics_region_may_configure_case_types(new_clinic):
    region_it = staff(Role.REGION_IT, new_clinic)
    book = _case_type(new_clinic, CaseKind.BOOK)

    case_type_update(
        actor=region_it, case_type=book, conditions_text=CONDITIONS, audience=Audience.ALL, area=Area.REGION
    )
    case_type_activate(actor=region_it, case_type=book)

    book.refresh_from_db()
    assert book.is_active is True
    assert book.area == Area.REGION
    case_type_deactivate(actor=region_it, case_type=book)
    book.refresh_from_db()
    assert book.is_active is False


def test_local_admin_of_another_clinic_may_not_create_direct_links(clinic, other_clinic):
    outsider = staff(Role.LOCAL_ADMIN, other_clinic)

    with pytest.raises(PermissionDeniedError):
        direct_link_create(actor=outsider, clinic=clinic, kind=CaseKind.BOOK)

    assert not clinic.direct_links.exists()


def test_local_admin_creates_a_direct_link_to_a_case_type(clinic, local_admin):
    link = direct_link_create(actor=local_admin, clinic=clinic, kind=CaseKind.BOOK, label="Boka tid")

    assert link.clinic == clinic
    assert link.kind == CaseKind.BOOK
    assert link.token


@pytest.mark.parametrize("action", ["approve", "withdraw"])
def test_staff_of_another_clinic_may_not_change_communication_approval(
    clinic, other_clinic, uppsala_region, resident, action
):
    communication_approve(actor=staff(Role.SCHEDULER, clinic), resident=resident, clinic=clinic)
    outsiders = {
        "scheduler_of_other_clinic": staff(Role.SCHEDULER, other_clinic),
        "local_admin_of_other_clinic": staff(Role.LOCAL_ADMIN, other_clinic),
        "region_it_of_other_region": staff(Role.REGION_IT, region=uppsala_region),
        "support_of_clinic": staff(Role.SUPPORT, clinic),
    }
    service = communication_approve if action == "approve" else communication_withdraw
    other_resident = ResidentFactory()

    for who, actor in outsiders.items():
        with pytest.raises(PermissionDeniedError):
            service(actor=actor, resident=resident, clinic=clinic)
        with pytest.raises(PermissionDeniedError):
            service(actor=actor, resident=other_resident, clinic=clinic)
        assert relation_is_active(resident=resident, clinic=clinic) is True, who

    assert ClinicRelation.objects.get(resident=resident, clinic=clinic).approved_for_communication is True
    assert not ClinicRelation.objects.filter(resident=other_resident).exists()


def test_region_it_of_the_clinics_region_may_approve_and_withdraw_communication(clinic, region_it, resident):
    communication_approve(actor=region_it, resident=resident, clinic=clinic)
    assert ClinicRelation.objects.get(resident=resident, clinic=clinic).approved_for_communication is True

    communication_withdraw(actor=region_it, resident=resident, clinic=clinic)

    assert relation_is_active(resident=resident, clinic=clinic) is False
