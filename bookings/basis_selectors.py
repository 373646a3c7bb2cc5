"""Booking bases and open summons: the one a booking rests on (R-TYPE-4), what a resident may
book thanks to one, and the clinic's list for its staff (R-ACL-1, R-LOG-4)."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from accounts.selectors import user_has_clinic_role
from accounts.services import audit_record
from clinics.selectors import type_access, usable_basis_q
from core.errors import BookingError, ErrorCode, PermissionDeniedError

from .audit import audit_residents_shown
from .models import BasisState, Booking, BookingBasis, BookingStatus


def usable_basis(
    *, resident: User, appointment_type_id: int, on_day: dt.date | None = None, kind: str | None = None
) -> BookingBasis | None:
    """The basis a booking rests on (R-TYPE-4): usable, of ``kind`` when given, covering a visit
    on ``on_day`` when given; the one that runs out first."""
    bases = BookingBasis.objects.filter(
        usable_basis_q(resident=resident, prefix="", kind=kind), appointment_type_id=appointment_type_id
    )
    if on_day is not None:
        bases = bases.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on_day)).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=on_day)
        )
    return bases.order_by(F("valid_until").asc(nulls_last=True), "created_at", "pk").first()


# Who may read a clinic's booking bases: its support staff (the web log's "open booking basis",
# guide 002) and those who issue them (schedulers and local admins).
BASIS_READER_ROLES = (Role.SUPPORT, Role.SCHEDULER, Role.LOCAL_ADMIN)
BASES_SHOWN = 200


def _basis_state_q(state: str) -> Q:
    """:attr:`BookingBasis.state` as a filter."""
    live = Q(revoked_at__isnull=True)
    if state == BasisState.REVOKED:
        return ~live
    if state == BasisState.USED:
        return live & Q(consumed_at__isnull=False)
    unused = live & Q(consumed_at__isnull=True)
    today = timezone.localdate()
    if state == BasisState.EXPIRED:
        return unused & Q(valid_until__lt=today)
    return unused & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))


def booking_basis_for_staff(*, actor: User, clinic, basis_id: int) -> BookingBasis:
    """A booking basis or open summons of this clinic, for its support staff and those who issue
    them (R-ACL-1); another clinic's basis is "not found". Reading it is access to the
    resident's data and is audited (R-LOG-4)."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=BASIS_READER_ROLES):
        raise PermissionDeniedError()
    basis = (
        BookingBasis.objects.filter(pk=basis_id, clinic=clinic)
        .select_related("resident", "appointment_type", "issued_by", "revoked_by")
        .first()
    )
    if basis is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    audit_record(actor=actor, action="booking_basis.read", clinic=clinic, resident=basis.resident, obj=basis)
    return basis


def basis_bookings(*, basis: BookingBasis) -> QuerySet[Booking]:
    """The active bookings made on a basis: revoking it leaves them booked."""
    return Booking.objects.filter(booking_basis=basis, status=BookingStatus.ACTIVE).select_related("resource")


def bases_for_staff(
    *, actor: User, clinic, state: str | None = None, kind: str | None = None, limit: int = BASES_SHOWN
) -> list[BookingBasis]:
    """The clinic's booking bases and open summons, newest first, of ``state`` and ``kind`` when
    given. Each resident on the list is written to the audit log (R-LOG-4)."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=BASIS_READER_ROLES):
        raise PermissionDeniedError()
    bases = BookingBasis.objects.filter(clinic=clinic)
    if state:
        bases = bases.filter(_basis_state_q(state))
    if kind:
        bases = bases.filter(kind=kind)
    rows = list(
        bases.select_related("resident", "appointment_type", "issued_by").order_by("-created_at", "-pk")[:limit]
    )
    audit_residents_shown(
        actor=actor, clinic=clinic, residents=(basis.resident for basis in rows), action="booking_basis.resident_shown"
    )
    return rows


def bases_for_resident(*, resident: User) -> list[BookingBasis]:
    """What the resident may book thanks to a booking basis or open summons, for the start page:
    usable bases of types :func:`clinics.selectors.type_access` still lets them book on one,
    the one that runs out first first."""
    bases = (
        BookingBasis.objects.filter(usable_basis_q(resident=resident, prefix=""))
        .select_related("clinic__region", "appointment_type")
        .order_by(F("valid_until").asc(nulls_last=True), "created_at", "pk")
    )
    shown = []
    for basis in bases[:50]:
        access = type_access(appointment_type=basis.appointment_type, clinic=basis.clinic, resident=resident)
        if (access.allowed and access.needs_basis) or (basis.is_open_summons and access.allowed):
            shown.append(basis)
    return shown


def basis_for_resident(*, resident: User, basis_id: int) -> BookingBasis:
    """One of :func:`bases_for_resident`; anything else is "not found" (R-ACL-2)."""
    for basis in bases_for_resident(resident=resident):
        if basis.pk == basis_id:
            return basis
    raise BookingError(ErrorCode.NOT_FOUND)
