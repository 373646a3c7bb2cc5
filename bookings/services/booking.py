"""The resident on the web: booking, rebooking and cancelling (R-BOOK-1…8); cancelling as staff
or as a proxy booker too (R-BOOK-9, R-TYPE-6)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.acting import Acting
from accounts.models import Membership, User
from accounts.selectors import proxy_membership, user_has_clinic_role
from accounts.services import audit_record, resident_lock
from clinics.selectors import case_types_forget
from core import metrics
from core.errors import BookingError, ErrorCode, ValidationFailed
from core.outbox.services import outbox_batch
from core.params import NUL_MESSAGE, has_nul
from schedules.models import Hold, HoldState, Slot
from schedules.selectors import LOCAL_TZ, slot_check_offered
from schedules.services import hold_create

from ..basis_selectors import usable_basis
from ..models import (
    Booking,
    BookingBasis,
    BookingStatus,
    Channel,
    LogStatus,
    MessageKind,
    WaitlistEntry,
    WaitlistStatus,
)
from ..proxy_selectors import proxy_cancel_refusal
from ..selectors import booking_for_resident, cancel_refusal, rebook_check, refusal_error
from .attorney import attorney_action_message
from .comment import validate_patient_comment
from .common import (
    SCHEDULER_ROLES,
    _acting,
    _check_no_overlap,
    _check_one_booking_at_a_time,
    _check_own_hold,
    _free_slot,
    _insert_booking,
    _lock_slots,
    _log,
)
from .inbox import _send_booking_message
from .notify import NotificationKind, NotifiedBy, notification_record
from .web_booking import (
    _basis_and_check,
    _basis_used,
    _lock_resident_and_slot,
    _web_booking_rows,
    _web_booking_told,
)

# --- Resident on the web ----------------------------------------------------------------------


@transaction.atomic
def booking_create(
    *,
    resident: User,
    slot_id: int,
    hold: Hold | None = None,
    phone: str = "",
    reason: str = "",
    referral_source: str = "",
    booking_referral: str = "",
    actor: User | None = None,
    now: dt.datetime | None = None,
    case_types_for_answer: bool = False,
) -> Booking:
    """A resident books a time on the web (R-VIS-2, R-BOOK-1…4, R-TYPE-4, R-TYPE-7, R-REL-1, R-LOG-1),
    at most one at a time where the clinic's BOOK case type says so. ``actor``: a guardian or
    attorney booking for ``resident``, the patient (R-GUARD-4, R-POA-1); every rule is the patient's,
    overlap (R-BOOK-2) too. With ``case_types_for_answer`` the booking's clinic keeps the case
    types the booking read, for the caller's answer, until it calls
    :func:`clinics.selectors.case_types_forget`."""
    now = now or timezone.now()
    # With the clinic's case types: BOOK admits the booking, MANAGE gives the answer its actions.
    slot = _lock_resident_and_slot(resident=resident, slot_id=slot_id)
    try:
        return _web_booking(
            resident=resident,
            slot=slot,
            hold=hold,
            phone=phone,
            reason=reason,
            referral_source=referral_source,
            booking_referral=booking_referral,
            actor=actor,
            now=now,
        )
    finally:
        if not case_types_for_answer:
            case_types_forget(clinic=slot.clinic)


def _web_booking(
    *,
    resident: User,
    slot: Slot,
    hold: Hold | None,
    phone: str,
    reason: str,
    referral_source: str,
    booking_referral: str,
    actor: User | None,
    now: dt.datetime,
) -> Booking:
    acting = _acting(actor=actor, patient=resident, clinic_id=slot.clinic_id, now=now)
    _check_own_hold(hold=hold, resident=resident, slot=slot, now=now)
    access = slot_check_offered(slot=slot, resident=resident, now=now, own_hold=hold)
    phone, reason = validate_patient_comment(slot.clinic, phone, reason)
    basis = _basis_and_check(resident=resident, slot=slot, access=access, now=now)
    # The free-times and FHIR refresh the insert asks for and the confirmation: one outbox INSERT.
    with outbox_batch():
        booking = _insert_booking(
            slot=slot,
            resident=resident,
            # Someone else's hold that ran out without being swept gives way here.
            release_others_holds=True,
            channel=Channel.WEB,
            created_by=acting.actor,
            acting_as=acting.acting_as,
            patient_phone=phone,
            patient_reason=reason,
            booking_basis=basis,
            # A slot finder's own words, kept as sent but never longer than the columns.
            referral_source=referral_source[:100],
            booking_referral=booking_referral[:200],
            # The basis' use, the relation and the log row: in the booking's own statement.
            also=lambda new: [
                *_basis_used(basis, now=now),
                *_web_booking_rows(resident=resident, slot=slot, booking=new, acting=acting, now=now),
            ],
        )
        _web_booking_told(resident=resident, booking=booking, acting=acting)
    return booking


@transaction.atomic
def booking_rebook(
    *,
    resident: User,
    booking_id: int,
    new_slot_id: int,
    hold: Hold | None = None,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> Booking:
    """R-BOOK-7: take the new slot and free the old one in one transaction, or change nothing.
    The booking basis and waitlist origin move with the booking (R-TYPE-4). ``actor``: a guardian
    or attorney rebooking for ``resident`` (R-GUARD-4, R-POA-1)."""
    now = now or timezone.now()
    resident_lock(resident=resident)
    old = booking_for_resident(resident=resident, booking_id=booking_id, now=now)
    acting = _acting(actor=actor, patient=resident, clinic_id=old.clinic_id, now=now)
    if old.slot_id == new_slot_id:
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED, _("Choose a different time from the one you have."))
    slots = _lock_slots([new_slot_id] + ([old.slot_id] if old.slot_id else []))
    new_slot = slots[new_slot_id]
    _check_own_hold(hold=hold, resident=resident, slot=new_slot, now=now, rebook_of=old)
    rebook_check(booking=old, resident=resident, new_slot=new_slot, now=now, own_hold=hold)
    _check_no_overlap(resident=resident, slot=new_slot, ignore=old)
    Hold.objects.filter(slot=new_slot, state=HoldState.ACTIVE).exclude(resident=resident).update(
        state=HoldState.RELEASED
    )
    # The old booking ends first so the overlap constraint does not see both as active.
    Booking.objects.filter(pk=old.pk).update(status=BookingStatus.REBOOKED, ended_at=now, ended_by=acting.actor)
    new = _insert_booking(
        slot=new_slot,
        resident=resident,
        channel=Channel.WEB,
        created_by=acting.actor,
        acting_as=acting.acting_as,
        patient_phone=old.patient_phone,
        patient_reason=old.patient_reason,
        booking_basis_id=old.booking_basis_id,
        waitlist_entry_id=old.waitlist_entry_id,
        rebooked_from=old,
        calendar_uid=old.calendar_uid,
        calendar_sequence=old.calendar_sequence + 1,
        # A video visit keeps its link: it is the same visit moved (same type, R-BOOK-7), and the
        # resident may already have it in a calendar; a rebooking that moves to another time does
        # not make the link any less secret. Only a booking without one gets a new room.
        meeting_url=old.meeting_url,
    )
    _free_slot(old.slot_id)
    _log(status=LogStatus.REBOOKED, changed_at=now, channel=Channel.WEB, previous=old, new=new, acting=acting)
    attorney_action_message(acting=acting, booking=new, status=LogStatus.REBOOKED)
    notification_record(
        NotificationKind.REBOOKED,
        resident_id=resident.pk,
        clinic_id=new.clinic_id,
        booking=new,
        by=NotifiedBy.RESIDENT,
        detail={"previous_start": old.start.isoformat()},
    )
    return new


@transaction.atomic
def booking_cancel(*, actor: User, booking_id: int, reason: str = "", now: dt.datetime | None = None) -> Booking:
    """Cancel as the resident (R-BOOK-6), as clinic staff (R-BOOK-9) or as a proxy booker (R-TYPE-6).
    The slot is republished, the booking basis given back (R-TYPE-4), a web cancellation of a
    booking that came from the waitlist puts the resident back on it, and a resident's or
    proxy's cancellation is logged with the 24-hour flag (R-LOG-1, R-BOOK-8). A staff
    cancellation is on the audit log in this same transaction, whichever page or API asked
    (R-LOG-4)."""
    if has_nul(reason):
        # R-SEC-6: PostgreSQL cannot store it (in the message or the outbox): refused beside the field.
        raise ValidationFailed({"reason": [NUL_MESSAGE]})
    now = now or timezone.now()
    booking = (
        Booking.objects.select_related("clinic__region", "appointment_type", "resource", "resident")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    resident_lock(resident=booking.resident)
    booking.refresh_from_db(fields=["status", "calendar_sequence"])
    if booking.slot_id:
        _lock_slots([booking.slot_id])

    channel, proxy, acting = _cancel_channel(actor=actor, booking=booking, now=now)
    if booking.status != BookingStatus.ACTIVE:
        raise BookingError(ErrorCode.NOT_FOUND)
    # R-NOTE-5: the cancellation is a new version of the calendar event (read under the resident's lock).
    booking.calendar_sequence += 1
    Booking.objects.filter(pk=booking.pk).update(
        status=BookingStatus.CANCELLED, ended_at=now, ended_by=actor, calendar_sequence=booking.calendar_sequence
    )
    booking.status, booking.ended_at, booking.ended_by = BookingStatus.CANCELLED, now, actor
    metrics.count_on_commit("tidbok_cancellations", channel=str(channel))
    _free_slot(booking.slot_id)
    if booking.booking_basis_id:
        # A cancelled booking gives its use back, even on a revoked basis (which stays revoked).
        BookingBasis.objects.filter(pk=booking.booking_basis_id, uses__gt=0).update(
            uses=F("uses") - 1, consumed_at=None
        )
    if channel in (Channel.STAFF, Channel.PROXY):
        # The clinic's reason, when staff give one, goes into the resident's messages (R-NOTE-2).
        _send_booking_message(
            booking=booking,
            kind=MessageKind.CANCELLATION,
            by=NotifiedBy.CLINIC if channel == Channel.STAFF else NotifiedBy.PROXY,
            reason=" ".join(reason.split()) if channel == Channel.STAFF else "",
        )
    if channel == Channel.STAFF:
        audit_record(
            actor=actor, action="booking.cancel", clinic=booking.clinic, resident=booking.resident, obj=booking
        )
        return booking
    if channel == Channel.WEB and booking.waitlist_entry_id:
        WaitlistEntry.objects.filter(pk=booking.waitlist_entry_id).update(status=WaitlistStatus.WAITING)
    unit = proxy.unit_name if proxy is not None else ""
    _log(
        status=LogStatus.CANCELLED,
        changed_at=now,
        channel=channel,
        previous=booking,
        new=None,
        proxy_unit=unit,
        acting=acting,
    )
    if acting is not None:
        attorney_action_message(acting=acting, booking=booking, status=LogStatus.CANCELLED)
    if proxy is not None:
        audit_record(
            actor=actor,
            action="booking.cancel_by_proxy",
            clinic=booking.clinic,
            resident=booking.resident,
            obj=booking,
            unit_name=unit,
        )
    if channel == Channel.WEB:
        notification_record(
            NotificationKind.CANCELLED,
            resident_id=booking.resident_id,
            clinic_id=booking.clinic_id,
            booking=booking,
            by=NotifiedBy.RESIDENT,
        )
    return booking


def _cancel_channel(
    *, actor: User, booking: Booking, now: dt.datetime
) -> tuple[Channel, Membership | None, Acting | None]:
    """Who cancels: the resident on the web — themself, or a guardian or attorney for them (R-GUARD-2,
    R-POA-1) —, clinic staff, or a proxy booker (with the membership they act through, for its unit)."""
    if actor.is_resident:
        # A resident only ever cancels for themself or someone they may act for now.
        acting = _acting(actor=actor, patient=booking.resident, clinic_id=booking.clinic_id, now=now)
        booking_for_resident(resident=booking.resident, booking_id=booking.pk, now=now)  # R-ACL-2, R-BOOK-5
        refusal = cancel_refusal(booking=booking, resident=booking.resident, now=now)
        if refusal is not None:
            raise refusal_error(booking=booking, code=refusal, now=now)
        return Channel.WEB, None, acting
    if user_has_clinic_role(user=actor, clinic=booking.clinic, roles=SCHEDULER_ROLES):
        return Channel.STAFF, None, None
    membership = proxy_membership(user=actor, clinic=booking.clinic)
    if membership is not None:
        refusal = proxy_cancel_refusal(booking=booking, now=now)
        if refusal is not None:  # past the deadline (R-POL-1): until when, and the clinic's phone
            raise refusal_error(booking=booking, code=refusal, now=now)
        return Channel.PROXY, membership, None
    # Someone else's booking: indistinguishable from one that does not exist (R-ACL-1, R-ACL-2).
    raise BookingError(ErrorCode.NOT_FOUND)


def hold_create_for_booking(
    *, resident: User, slot_id: int, actor: User | None = None, now: dt.datetime | None = None
) -> Hold:
    """Hold a time for a new booking (R-BOOK-3): the slot must be offered to the resident
    (R-VIS-2), and where the clinic allows one booking at a time the resident is told at once,
    not only after confirming. ``actor``: a guardian or attorney holding it for the resident."""

    def check(slot: Slot, at: dt.datetime) -> None:
        _acting(actor=actor, patient=resident, clinic_id=slot.clinic_id, now=at)
        access = slot_check_offered(slot=slot, resident=resident, now=at)
        day = timezone.localtime(slot.start, LOCAL_TZ).date()
        on_basis = access.needs_basis or (
            usable_basis(resident=resident, appointment_type_id=slot.appointment_type_id, on_day=day) is not None
        )
        if not on_basis:  # the booking will rest on a basis or summons: the clinic's own permission
            _check_one_booking_at_a_time(resident=resident, slot=slot, now=at)

    return hold_create(resident=resident, slot_id=slot_id, check=check, now=now)


def hold_create_for_rebook(
    *, resident: User, slot_id: int, booking: Booking, actor: User | None = None, now: dt.datetime | None = None
) -> Hold:
    """Hold a time to move ``booking`` to (R-BOOK-3, R-BOOK-7). The hold is schedules'; whether
    the booking may move there is the rebooking's rule, checked under the hold's locks: the
    booking is still the resident's to manage (R-BOOK-5, R-REL-2) and the new time passes the
    rebooking checks."""

    def check(slot: Slot, at: dt.datetime) -> None:
        _acting(actor=actor, patient=resident, clinic_id=slot.clinic_id, now=at)
        booking_for_resident(resident=resident, booking_id=booking.pk, now=at)
        rebook_check(booking=booking, resident=resident, new_slot=slot, now=at)

    return hold_create(resident=resident, slot_id=slot_id, rebook_of=booking, check=check, now=now)
