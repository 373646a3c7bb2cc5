"""Reads about clinics, case types, appointment types and relations."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User

from .models import (
    ACTIVE_RELATION,
    PROXY_MARKER,
    AppointmentType,
    Area,
    Audience,
    CaseKind,
    CaseType,
    Clinic,
    ClinicRelation,
    DirectLink,
    Resource,
)


def relation_is_active(*, resident: User, clinic: Clinic) -> bool:
    return ClinicRelation.objects.filter(ACTIVE_RELATION, resident=resident, clinic=clinic).exists()


def start_page_clinics(*, resident: User) -> QuerySet[Clinic]:
    """The clinics on a resident's start page (R-REL-1, R-REL-2)."""
    return Clinic.objects.filter(relations__resident=resident, relations__on_start_page=True).order_by("name")


def action_supported(*, clinic: Clinic, kind: CaseKind) -> bool:
    """R-CLINIC-2: BOOK needs booking; MANAGE needs at least one of cancel or rebook (the
    missing one is simply not offered)."""
    if kind == CaseKind.BOOK:
        return clinic.supports_booking
    return clinic.supports_cancellation or clinic.supports_rebooking


def case_type_admits(*, case_type: CaseType | None, resident: User | None) -> bool:
    """R-CASE-3: the case type is active and the resident is inside its audience and area.
    An anonymous visitor is admitted to "for all residents" case types (the area is checked
    once they log in)."""
    if case_type is None or not case_type.is_active:
        return False
    if not action_supported(clinic=case_type.clinic, kind=CaseKind(case_type.kind)):
        return False
    if resident is None or not resident.is_authenticated:
        return case_type.audience == Audience.ALL
    if case_type.area == Area.REGION and resident.home_region_code != case_type.clinic.region.code:
        return False
    return case_type.audience == Audience.ALL or relation_is_active(resident=resident, clinic=case_type.clinic)


def case_type_for(*, clinic: Clinic, kind: CaseKind) -> CaseType | None:
    case_type = CaseType.objects.filter(clinic=clinic, kind=kind).first()
    if case_type is not None:
        case_type.clinic = clinic  # the caller's instance: its region is loaded at most once
    return case_type


def admitted_case_types(*, clinic: Clinic, resident: User | None) -> list[CaseType]:
    """The case types shown on a clinic's contact card to this viewer (R-CLINIC-1, R-CASE-3)."""
    case_types = CaseType.objects.select_related("clinic__region").filter(clinic=clinic, is_active=True)
    return [ct for ct in case_types.order_by("kind") if case_type_admits(case_type=ct, resident=resident)]


def clinic_search(*, query: str = "", region_id: int | None = None) -> QuerySet[Clinic]:
    clinics = Clinic.objects.select_related("region")
    for word in query.split():
        clinics = clinics.filter(Q(name__icontains=word) | Q(town__icontains=word) | Q(region__name__icontains=word))
    if region_id:
        clinics = clinics.filter(region_id=region_id)
    return clinics.order_by("name")


def bookable_types(*, clinic: Clinic, resident: User) -> QuerySet[AppointmentType]:
    """Types a resident may book on the web at this clinic (R-TYPE-2, R-TYPE-4, R-TYPE-5,
    R-TYPE-6): bookable, not hidden, named for the web, not a proxy type, and, where a
    booking basis is required, one the resident holds unused."""
    if not case_type_admits(case_type=case_type_for(clinic=clinic, kind=CaseKind.BOOK), resident=resident):
        return AppointmentType.objects.none()
    from bookings.selectors import usable_basis_q  # bookings depends on clinics, not the reverse

    return (
        AppointmentType.objects.filter(clinic=clinic, bookable_on_web=True, hidden_for_patient=False)
        .exclude(web_name="")
        .exclude(internal_name__contains=PROXY_MARKER)
        .filter(Q(requires_booking_basis=False) | usable_basis_q(resident=resident))
        .distinct()
        .order_by("web_name")
    )


def type_bookable_by(*, appointment_type: AppointmentType, clinic: Clinic, resident: User) -> bool:
    """:func:`bookable_types` for one type already loaded (the free-times gate and every booking
    ask this): the type's own flags are read from the instance, so only the case type and, for a
    type that needs one, the booking basis are asked of the database."""
    t = appointment_type
    if t.clinic_id != clinic.pk or not t.bookable_on_web or t.hidden_for_patient:
        return False
    if not t.web_name or PROXY_MARKER in t.internal_name:
        return False
    if not case_type_admits(case_type=case_type_for(clinic=clinic, kind=CaseKind.BOOK), resident=resident):
        return False
    return not t.requires_booking_basis or bookable_types(clinic=clinic, resident=resident).filter(pk=t.pk).exists()


# --- The local admin's lists (clinic workspace) ------------------------------------------------


def case_types_for_clinic(*, clinic: Clinic) -> QuerySet[CaseType]:
    """BOOK first, then MANAGE."""
    return CaseType.objects.select_related("clinic__region").filter(clinic=clinic).order_by("kind")


def appointment_types_for_clinic(*, clinic: Clinic) -> QuerySet[AppointmentType]:
    return AppointmentType.objects.filter(clinic=clinic).order_by("internal_name")


def resources_for_clinic(*, clinic: Clinic) -> QuerySet[Resource]:
    return Resource.objects.filter(clinic=clinic).order_by("name")


def direct_links_for_clinic(*, clinic: Clinic) -> QuerySet[DirectLink]:
    return DirectLink.objects.filter(clinic=clinic).order_by("-created_at", "-pk")
