"""Reads about clinics, case types, appointment types and relations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from copy import copy
from dataclasses import dataclass
from functools import partial
from typing import cast

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.acting import Acting
from accounts.models import Role, User
from accounts.selectors import REGION_WIDE_ROLES, staff_roles
from core.localtime import LOCAL_TZ, local_midnight

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


def acting_start_page_clinics(*, acting: Acting) -> QuerySet[Clinic]:
    """The patient's start page clinics as the one acting for them sees them: an attorney whose
    power covers chosen clinics sees only those (R-POA-1), as every action elsewhere is refused."""
    clinics = start_page_clinics(resident=acting.patient)
    return clinics if acting.clinic_ids is None else clinics.filter(pk__in=acting.clinic_ids)


# --- The web-bookable rule, written once (R-TYPE-2, R-TYPE-5, R-TYPE-6, R-CLINIC-2, R-CASE-3) ---------
# Each part is one Q: querysets filter with it, and a row already loaded is checked against the
# same Q by :func:`q_matches`, so the portal, the API, FHIR and the bulk files cannot drift apart.

# A type's own flags: bookable, not hidden, named for the web, not a proxy type.
WEB_TYPE_Q = (
    Q(bookable_on_web=True, hidden_for_patient=False) & ~Q(web_name="") & ~Q(internal_name__contains=PROXY_MARKER)
)
# A type proxy bookers may book (R-TYPE-6): a proxy type, bookable, at a clinic whose timebook
# supports booking (R-CLINIC-2). The proxy pages, the proxy API and the booking check read this.
PROXY_TYPE_Q = Q(internal_name__contains=PROXY_MARKER, bookable_on_web=True, clinic__supports_booking=True)
# A booking of a type proxy bookers may cancel: the cancellable flag governs proxy cancelling too.
PROXY_CANCEL_TYPE_Q = Q(
    internal_name__contains=PROXY_MARKER, cancellable_on_web=True, clinic__supports_cancellation=True
)
# On a CaseType: the clinic's timebook supports its action (R-CLINIC-2: BOOK needs booking; MANAGE
# needs at least one of cancel or rebook, the missing one is simply not offered).
ACTION_SUPPORTED_Q = Q(kind=CaseKind.BOOK, clinic__supports_booking=True) | (
    Q(kind=CaseKind.MANAGE) & (Q(clinic__supports_cancellation=True) | Q(clinic__supports_rebooking=True))
)
# On a CaseType: active and supported (R-CASE-3's first half, whoever asks).
CASE_TYPE_OPEN_Q = Q(is_active=True) & ACTION_SUPPORTED_Q
# On a CaseType: open to anyone, even before login (the area is checked once they log in).
CASE_TYPE_OPEN_TO_ALL_Q = CASE_TYPE_OPEN_Q & Q(audience=Audience.ALL)
# On a CaseType: open to every resident of the country, whatever their home region: what a feed
# read by anyone may offer (R-CASE-2 refuses a region-limited type to the other regions).
CASE_TYPE_OPEN_TO_EVERYONE_Q = CASE_TYPE_OPEN_TO_ALL_Q & Q(area=Area.COUNTRY)

_LOOKUPS = {
    "exact": lambda value, expected: value == expected,
    "contains": lambda value, expected: expected in value,
    "isnull": lambda value, expected: (value is None) == expected,
}


def q_matches(q: Q, obj: object) -> bool:
    """Whether a loaded instance satisfies ``q`` (exact, contains and isnull lookups, following
    ``__`` through loaded relations), without a query: the free-times gate and every booking
    check one type, and must answer as the queryset filter with the same Q would."""
    results = []
    for child in q.children:
        if isinstance(child, Q):
            results.append(q_matches(child, obj))
            continue
        path, expected = cast(tuple[str, object], child)  # a leaf of a Q is (lookup path, value)
        *attrs, lookup = path.split("__")
        if lookup not in _LOOKUPS:
            attrs, lookup = [*attrs, lookup], "exact"
        value = obj
        for attr in attrs:
            value = getattr(value, attr)
        results.append(_LOOKUPS[lookup](value, expected))
    if q.connector not in (Q.AND, Q.OR):
        raise ValueError(f"q_matches does not evaluate {q.connector}")
    result = all(results) if q.connector == Q.AND else any(results)
    return not result if q.negated else result


def action_supported(*, clinic: Clinic, kind: CaseKind) -> bool:
    """R-CLINIC-2 (:data:`ACTION_SUPPORTED_Q`) for a clinic and a kind."""
    return q_matches(ACTION_SUPPORTED_Q, CaseType(clinic=clinic, kind=kind))


def case_type_admits(*, case_type: CaseType | None, resident: User | AnonymousUser | None) -> bool:
    """R-CASE-3: the case type is active and the resident is inside its audience and area.
    An anonymous visitor is admitted to "for all residents" case types (the area is checked
    once they log in)."""
    if case_type is None:
        return False
    if resident is None or not resident.is_authenticated:
        return q_matches(CASE_TYPE_OPEN_TO_ALL_Q, case_type)
    if not q_matches(CASE_TYPE_OPEN_Q, case_type):
        return False
    if case_type.area == Area.REGION and resident.home_region_code != case_type.clinic.region.code:
        return False
    return case_type.audience == Audience.ALL or relation_is_active(resident=resident, clinic=case_type.clinic)


@dataclass(frozen=True)
class RegionNotice:
    """Why a resident does not see a clinic's region-only e-services, and whom to call (R-CASE-3):
    ``home_unknown`` when no login has told Tidbok the resident's home region, else they live
    in another region."""

    clinic: Clinic
    case_types: list[CaseType]
    home_unknown: bool


def region_notice(*, clinic: Clinic, resident: User | AnonymousUser | None) -> RegionNotice | None:
    """The clinic's active region-only case types that would admit the resident but for their home
    region (R-CASE-2): the same rule as :func:`case_type_admits`, asked once more with the area
    set to the whole country. None when there are none (or the viewer is not a logged-in resident)."""
    if resident is None or not resident.is_authenticated or not resident.is_resident:
        return None
    withheld = []
    for case_type in CaseType.objects.select_related("clinic__region").filter(clinic=clinic, area=Area.REGION):
        if case_type_admits(case_type=case_type, resident=resident):
            continue
        everywhere = copy(case_type)
        everywhere.area = Area.COUNTRY
        if case_type_admits(case_type=everywhere, resident=resident):
            withheld.append(case_type)
    if not withheld:
        return None
    return RegionNotice(clinic=clinic, case_types=withheld, home_unknown=not resident.home_region_code)


def web_bookable_types_for_all() -> QuerySet[AppointmentType]:
    """Types anyone may book on the web, at every clinic: what FHIR and the SMART bulk files publish
    (R-PUB). The portal's rule (:func:`bookable_types`) for a resident of any region
    (:data:`CASE_TYPE_OPEN_TO_EVERYONE_Q`) without a relation to the clinic, who holds no booking
    basis (R-TYPE-4): a time an aggregator shows as free must be bookable by whoever follows it."""
    book_open = CaseType.objects.filter(CASE_TYPE_OPEN_TO_EVERYONE_Q, kind=CaseKind.BOOK, clinic=OuterRef("clinic"))
    return AppointmentType.objects.filter(WEB_TYPE_Q, requires_booking_basis=False).filter(Exists(book_open))


# Where :func:`case_types_read` keeps a clinic's case types on the instance.
_CASE_TYPES = "_tidbok_case_types"


def case_types_read(*, clinic: Clinic) -> None:
    """Read the clinic's case types of every kind in one query and keep them on this instance
    until :func:`case_types_forget`: a web booking needs the BOOK one to admit the booking and the
    API's answer the MANAGE one for its actions (R-CASE-3), moments apart."""
    case_types_keep(clinic=clinic, case_types=CaseType.objects.filter(clinic=clinic))


def case_types_keep(*, clinic: Clinic, case_types: Iterable[CaseType]) -> None:
    """Keep ``case_types``, all of the clinic's, read by the caller (a web booking reads them with
    its slot's row lock, in the same statement), as :func:`case_types_read` would."""
    found = {case_type.kind: case_type for case_type in case_types}
    for case_type in found.values():
        case_type.clinic = clinic
    setattr(clinic, _CASE_TYPES, found)


def case_types_forget(*, clinic: Clinic) -> None:
    """Drop what :func:`case_types_read` kept: later reads of this instance ask the database."""
    clinic.__dict__.pop(_CASE_TYPES, None)


def case_type_for(*, clinic: Clinic, kind: CaseKind) -> CaseType | None:
    read: dict[str, CaseType] | None = getattr(clinic, _CASE_TYPES, None)
    if read is not None:
        return read.get(kind)
    case_type = CaseType.objects.filter(clinic=clinic, kind=kind).first()
    if case_type is not None:
        case_type.clinic = clinic  # the caller's instance: its region is loaded at most once
    return case_type


def clinics_open_for_booking(*, clinics: list[Clinic], resident: User) -> set[int]:
    """Which of ``clinics`` the resident may start a booking at (R-CASE-3 on each BOOK case type): the start page
    offers "Boka tid" only where the flow would not refuse at its first step."""
    return {
        clinic.pk
        for clinic in clinics
        if case_type_admits(case_type=case_type_for(clinic=clinic, kind=CaseKind.BOOK), resident=resident)
    }


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


# The kind of booking basis that is an open summons (öppen kallelse); bookings.models.BasisKind
# names its choices with this value, so the rule here and the rows there cannot drift apart.
OPEN_SUMMONS_KIND = "open_summons"

# A type an open summons can open: one the resident may see (not hidden, named for the web) and
# not a proxy type; its web flags and the case type's audience do not matter (guide 001). The
# clinic's timebook must still support booking (R-CLINIC-2), asked of the clinic beside it.
SUMMONS_TYPE_Q = Q(hidden_for_patient=False) & ~Q(web_name="") & ~Q(internal_name__contains=PROXY_MARKER)


def usable_basis_q(*, resident: User, prefix: str = "bases__", kind: str | None = None) -> Q:
    """A booking basis of the resident that still allows a booking (R-TYPE-4): not used up, not
    revoked, and its last valid day not passed; of ``kind`` when given."""
    today = timezone.localdate()
    q = Q(
        **{f"{prefix}resident": resident, f"{prefix}consumed_at__isnull": True, f"{prefix}revoked_at__isnull": True}
    ) & (Q(**{f"{prefix}valid_until__isnull": True}) | Q(**{f"{prefix}valid_until__gte": today}))
    if kind is not None:
        q &= Q(**{f"{prefix}kind": kind})
    return q


def visibility_cutoff(*, appointment_type: AppointmentType, now: dt.datetime | None = None) -> dt.datetime:
    """R-VIS-1: a slot on local day D is visible from midnight of D − (N − 1); equivalently,
    today's residents see slots starting before midnight of today + N."""
    now = now or timezone.now()
    today = timezone.localtime(now, LOCAL_TZ).date()
    return local_midnight(today + dt.timedelta(days=appointment_type.effective_visibility_days))


def bookable_types(*, clinic: Clinic, resident: User) -> QuerySet[AppointmentType]:
    """Types a resident may book on the web at this clinic (R-TYPE-2, R-TYPE-4, R-TYPE-5,
    R-TYPE-6): bookable, not hidden, named for the web, not a proxy type, and, where a
    booking basis is required, one the resident holds unused. An open summons the resident
    holds unused adds its type, whatever its web flags and the case type's audience."""
    summoned = SUMMONS_TYPE_Q & usable_basis_q(resident=resident, kind=OPEN_SUMMONS_KIND)
    if not clinic.supports_booking:
        summoned = Q(pk__in=[])
    if case_type_admits(case_type=case_type_for(clinic=clinic, kind=CaseKind.BOOK), resident=resident):
        offered = WEB_TYPE_Q & (Q(requires_booking_basis=False) | usable_basis_q(resident=resident))
        types = AppointmentType.objects.filter(clinic=clinic).filter(offered | summoned)
    else:
        types = AppointmentType.objects.filter(clinic=clinic).filter(summoned)
    return types.distinct().order_by("web_name")


@dataclass(frozen=True)
class TypeAccess:
    """Whether a resident may book a type on the web, and on what: with ``needs_basis`` the
    booking rests on a usable booking basis (R-TYPE-4) — of ``basis_kind`` when given (an open
    summons), of any kind otherwise — and ``periods`` are the visit days (first, last; None is
    open) of the usable bases that count."""

    allowed: bool
    needs_basis: bool = False
    basis_kind: str | None = None
    periods: tuple[tuple[dt.date | None, dt.date | None], ...] = ()

    def covers(self, day: dt.date) -> bool:
        """A visit on ``day`` is inside one of the periods (always, when no basis is needed)."""
        if not self.needs_basis:
            return True
        return any((first is None or first <= day) and (last is None or day <= last) for first, last in self.periods)

    def bounds(self) -> tuple[dt.date | None, dt.date | None]:
        """The first and last day any period allows (None: unbounded)."""
        if not self.needs_basis or not self.periods:
            return None, None
        firsts = [first for first, _last in self.periods]
        lasts = [last for _first, last in self.periods]
        return (
            None if None in firsts else min(f for f in firsts if f is not None),
            None if None in lasts else max(x for x in lasts if x is not None),
        )


def _basis_periods(
    *, appointment_type: AppointmentType, resident: User, kind: str | None
) -> tuple[tuple[dt.date | None, dt.date | None], ...]:
    rows = (
        AppointmentType.objects.filter(pk=appointment_type.pk)
        .filter(usable_basis_q(resident=resident, kind=kind))
        .values_list("bases__valid_from", "bases__valid_until")
    )
    return tuple(rows)


def type_access(
    *,
    appointment_type: AppointmentType,
    clinic: Clinic,
    resident: User,
    book_case_type: Callable[[], CaseType | None] | None = None,
) -> TypeAccess:
    """:func:`bookable_types` for one type already loaded (the free times and every booking ask
    this), with the booking bases it rests on: the type's own flags are read from the instance,
    so only the case type and, for a type that needs one, the bases are asked of the database.
    ``book_case_type`` gives the clinic's BOOK case type to a caller that keeps it (the free
    times' cache), asked only when the type's flags leave it to decide."""
    t = appointment_type
    if t.clinic_id != clinic.pk:
        return TypeAccess(allowed=False)
    if book_case_type is None:
        book_case_type = partial(case_type_for, clinic=clinic, kind=CaseKind.BOOK)
    if q_matches(WEB_TYPE_Q, t) and case_type_admits(case_type=book_case_type(), resident=resident):
        if not t.requires_booking_basis:
            return TypeAccess(allowed=True)
        periods = _basis_periods(appointment_type=t, resident=resident, kind=None)
        if periods:
            return TypeAccess(allowed=True, needs_basis=True, periods=periods)
    # Not otherwise offered: an open summons still opens it (guide 001, "öppen kallelse").
    if not (clinic.supports_booking and q_matches(SUMMONS_TYPE_Q, t)):
        return TypeAccess(allowed=False)
    periods = _basis_periods(appointment_type=t, resident=resident, kind=OPEN_SUMMONS_KIND)
    if not periods:
        return TypeAccess(allowed=False)
    return TypeAccess(allowed=True, needs_basis=True, basis_kind=OPEN_SUMMONS_KIND, periods=periods)


def type_bookable_by(*, appointment_type: AppointmentType, clinic: Clinic, resident: User) -> bool:
    """Whether :func:`type_access` allows the resident to book the type at all."""
    return type_access(appointment_type=appointment_type, clinic=clinic, resident=resident).allowed


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


# --- Where a staff member may act (R-ACL-1) ----------------------------------------------------


def proxy_types_in_regions(*, region_ids: Iterable[int]) -> QuerySet[AppointmentType]:
    """The types proxy bookers of these regions may book (:data:`PROXY_TYPE_Q`), by clinic."""
    return (
        AppointmentType.objects.filter(PROXY_TYPE_Q, clinic__region_id__in=list(region_ids))
        .select_related("clinic")
        .order_by("clinic__name", "web_name")
    )


def clinics_for_staff(*, user: User, roles: Iterable[Role]) -> QuerySet[Clinic]:
    """Clinics where the user holds one of ``roles``: a membership there, or a region-wide one in
    the clinic's region (:func:`accounts.selectors.staff_roles`)."""
    roles = staff_roles(roles)
    where = Q(memberships__user=user, memberships__role__in=roles)
    region_roles = [r for r in roles if r in REGION_WIDE_ROLES]
    if region_roles:
        where |= Q(region__memberships__user=user, region__memberships__role__in=region_roles)
    return Clinic.objects.filter(where).distinct()
