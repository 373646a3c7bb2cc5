"""Booking, rebooking and cancelling (R-BOOK-*), booking bases, waitlist, inbox, web log.

Every change runs in one transaction that locks the resident first and the slot(s) second,
in id order (see ``accounts.services.resident_lock``). The partial unique constraint
``booking_one_active_per_slot`` and, on PostgreSQL, the exclusion constraint
``booking_resident_no_overlap`` are the last line of defence: if a code path ever forgot
a lock, the database would still say no, and the caller gets the same clean error.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.selectors import proxy_membership, user_has_clinic_role
from accounts.services import audit_record, resident_get_or_create, resident_lock
from clinics.models import AppointmentType, Clinic, RelationSource
from clinics.services import relation_add
from core.errors import BookingError, ErrorCode, PermissionDeniedError, ValidationFailed
from core.queue import enqueue_on_commit
from schedules import free_times
from schedules.models import Hold, HoldState, Slot, SlotStatus
from schedules.selectors import LOCAL_TZ, slot_check_free, slot_check_offered
from schedules.services import bulk_refresh_later, slot_free

from .models import (
    Booking,
    BookingBasis,
    BookingStatus,
    Channel,
    InboxMessage,
    LogStatus,
    MessageKind,
    NotifyState,
    WaitlistEntry,
    WaitlistStatus,
    WebBookingLogEntry,
)
from .selectors import booking_for_resident, cancel_refusal, is_late_change, rebook_check, usable_basis

SCHEDULER_ROLES = (Role.SCHEDULER,)
logger = logging.getLogger(__name__)
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")
REASON_MAX_LENGTH = 200


# --- Locks and the insert that the database guards (R-BOOK-1, R-BOOK-2) -----------------------


def _lock_slots(slot_ids: list[int]) -> dict[int, Slot]:
    slots = (
        Slot.objects.select_for_update(of=("self",))
        .select_related("clinic__region", "appointment_type", "resource")
        .filter(pk__in=slot_ids)
        .order_by("pk")
    )
    found = {slot.pk: slot for slot in slots}
    if len(found) != len(set(slot_ids)):
        raise BookingError(ErrorCode.NOT_FOUND)
    return found


def _check_no_overlap(*, resident: User, slot: Slot, ignore: Booking | None = None) -> None:
    overlapping = Booking.objects.filter(
        resident=resident, status=BookingStatus.ACTIVE, start__lt=slot.end, end__gt=slot.start
    )
    if ignore is not None:
        overlapping = overlapping.exclude(pk=ignore.pk)
    if overlapping.exists():
        raise BookingError(ErrorCode.USER_IS_ALREADY_OCCUPIED)


def _insert_booking(*, slot: Slot, resident: User, **fields: Any) -> Booking:
    # The slot's clinic, type and resource came with its row lock: the booking reuses them, so
    # neither the log row nor the answer loads them again.
    booking = Booking(
        slot=slot,
        resident=resident,
        clinic=slot.clinic,
        appointment_type=slot.appointment_type,
        resource=slot.resource,
        start=slot.start,
        end=slot.end,
        **fields,
    )
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as exc:
        if "booking_resident_no_overlap" in str(exc):
            raise BookingError(ErrorCode.USER_IS_ALREADY_OCCUPIED) from exc
        raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED) from exc
    # R-PUB-2: the time leaves the web in the booking's own transaction.
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.BOOKED, is_published=False, published_at=None)
    free_times.invalidate_on_commit([slot.clinic_id])
    Hold.objects.filter(slot=slot, state=HoldState.ACTIVE).update(state=HoldState.CONVERTED)
    bulk_refresh_later()
    return booking


def _free_slot(slot_id: int | None) -> None:
    if slot_id is not None:
        slot_free(slot_id=slot_id)


def _check_own_hold(
    *, hold: Hold | None, resident: User, slot: Slot, now: dt.datetime, rebook_of: Booking | None = None
) -> None:
    """The hold the resident confirms must still be theirs, on this slot, active, not run out
    (R-BOOK-3), and made for the same purpose: a new booking, or rebooking this booking."""
    if hold is None:
        return
    current = Hold.objects.filter(pk=hold.pk).values_list("resident_id", "slot_id", "state", "expires_at").first()
    if current is None or current[:3] != (resident.pk, slot.pk, HoldState.ACTIVE) or current[3] <= now:
        raise BookingError(ErrorCode.HOLD_EXPIRED)
    if hold.rebook_of_id != (rebook_of.pk if rebook_of is not None else None):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    hold.state = HoldState.ACTIVE


# --- Web booking log (R-LOG-1, R-BOOK-8) ------------------------------------------------------


def _log_values(booking: Booking | None, prefix: str) -> dict[str, Any]:
    if booking is None:
        return {}
    local_start = timezone.localtime(booking.start, LOCAL_TZ)
    return {
        f"{prefix}_date": local_start.date(),
        f"{prefix}_start": local_start.time(),
        f"{prefix}_resource": booking.resource.name,
        f"{prefix}_type": booking.appointment_type.internal_name,
    }


def _log(
    *, status: LogStatus, changed_at: dt.datetime, channel: str, previous: Booking | None, new: Booking | None
) -> WebBookingLogEntry:
    current = new or previous
    assert current is not None
    return WebBookingLogEntry.objects.create(
        changed_at=changed_at,
        status=status,
        clinic_id=current.clinic_id,
        resident_id=current.resident_id,
        booking=current,
        booking_basis_id=current.booking_basis_id,
        channel=channel,
        is_late=previous is not None and is_late_change(previous_start=previous.start, changed_at=changed_at),
        **_log_values(previous, "previous"),
        **_log_values(new, "new"),
    )


# --- Resident on the web ----------------------------------------------------------------------


def _validate_patient_comment(clinic: Clinic, phone: str, reason: str) -> tuple[str, str]:
    """R-TYPE-7: when the clinic asks, phone and a short reason are required."""
    phone, reason = phone.strip(), " ".join(reason.split())
    if not clinic.patient_comment_on_web:
        return "", ""
    errors: dict[str, list[Any]] = {}
    if not _PHONE.match(phone):
        errors["phone"] = [_("Enter a phone number the clinic can reach you on, for example 070-123 45 67.")]
    if not reason:
        errors["reason"] = [_("Write briefly why you are booking.")]
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = [_("Keep the reason to at most %(max)d characters.") % {"max": REASON_MAX_LENGTH}]
    if errors:
        raise ValidationFailed(errors)
    return phone, reason


@transaction.atomic
def booking_create(
    *,
    resident: User,
    slot_id: int,
    hold: Hold | None = None,
    phone: str = "",
    reason: str = "",
    now: dt.datetime | None = None,
) -> Booking:
    """A resident books a time on the web (R-VIS-2, R-BOOK-1…4, R-TYPE-4, R-TYPE-7, R-REL-1, R-LOG-1)."""
    now = now or timezone.now()
    resident_lock(resident=resident)
    slot = _lock_slots([slot_id])[slot_id]
    _check_own_hold(hold=hold, resident=resident, slot=slot, now=now)
    slot_check_offered(slot=slot, resident=resident, now=now, own_hold=hold)
    phone, reason = _validate_patient_comment(slot.clinic, phone, reason)
    basis = None
    if slot.appointment_type.requires_booking_basis:
        basis = usable_basis(resident=resident, appointment_type_id=slot.appointment_type_id)
        if basis is None:
            raise BookingError(ErrorCode.BOOKING_BASIS_REQUIRED)
        basis = BookingBasis.objects.select_for_update().get(pk=basis.pk)
    _check_no_overlap(resident=resident, slot=slot)
    # Someone else's hold that ran out without being swept gives way here.
    Hold.objects.filter(slot=slot, state=HoldState.ACTIVE).exclude(resident=resident).update(state=HoldState.RELEASED)
    booking = _insert_booking(
        slot=slot,
        resident=resident,
        channel=Channel.WEB,
        created_by=resident,
        patient_phone=phone,
        patient_reason=reason,
        booking_basis=basis,
    )
    if basis is not None:
        basis.consumed_at = now
        basis.save(update_fields=["consumed_at"])
    relation_add(resident=resident, clinic=slot.clinic, source=RelationSource.BOOKING)
    _log(status=LogStatus.BOOKED, changed_at=now, channel=Channel.WEB, previous=None, new=booking)
    return booking


@transaction.atomic
def booking_rebook(
    *, resident: User, booking_id: int, new_slot_id: int, hold: Hold | None = None, now: dt.datetime | None = None
) -> Booking:
    """R-BOOK-7: take the new slot and free the old one in one transaction, or change nothing.
    The booking basis and waitlist origin move with the booking (R-TYPE-4)."""
    now = now or timezone.now()
    resident_lock(resident=resident)
    old = booking_for_resident(resident=resident, booking_id=booking_id, now=now)
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
    Booking.objects.filter(pk=old.pk).update(status=BookingStatus.REBOOKED, ended_at=now, ended_by=resident)
    new = _insert_booking(
        slot=new_slot,
        resident=resident,
        channel=Channel.WEB,
        created_by=resident,
        patient_phone=old.patient_phone,
        patient_reason=old.patient_reason,
        booking_basis_id=old.booking_basis_id,
        waitlist_entry_id=old.waitlist_entry_id,
        rebooked_from=old,
    )
    _free_slot(old.slot_id)
    _log(status=LogStatus.REBOOKED, changed_at=now, channel=Channel.WEB, previous=old, new=new)
    return new


@transaction.atomic
def booking_cancel(*, actor: User, booking_id: int, now: dt.datetime | None = None) -> Booking:
    """Cancel as the resident (R-BOOK-6), as clinic staff (R-BOOK-9) or as a proxy booker (R-TYPE-6).
    The slot is republished, the booking basis given back (R-TYPE-4), a web cancellation of a
    booking that came from the waitlist puts the resident back on it, and a resident's or
    proxy's cancellation is logged with the 24-hour flag (R-LOG-1, R-BOOK-8). A staff
    cancellation is on the audit log in this same transaction, whichever page or API asked
    (R-LOG-4)."""
    now = now or timezone.now()
    booking = (
        Booking.objects.select_related("clinic__region", "appointment_type", "resource", "resident")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    resident_lock(resident=booking.resident)
    booking.refresh_from_db(fields=["status"])
    if booking.slot_id:
        _lock_slots([booking.slot_id])

    channel = _cancel_channel(actor=actor, booking=booking, now=now)
    if booking.status != BookingStatus.ACTIVE:
        raise BookingError(ErrorCode.NOT_FOUND)
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED, ended_at=now, ended_by=actor)
    booking.status, booking.ended_at, booking.ended_by = BookingStatus.CANCELLED, now, actor
    _free_slot(booking.slot_id)
    if booking.booking_basis_id:
        BookingBasis.objects.filter(pk=booking.booking_basis_id).update(consumed_at=None)
    if channel in (Channel.STAFF, Channel.PROXY):
        _send_booking_message(booking=booking, kind=MessageKind.CANCELLATION)
    if channel == Channel.STAFF:
        audit_record(
            actor=actor, action="booking.cancel", clinic=booking.clinic, resident=booking.resident, obj=booking
        )
        return booking
    if channel == Channel.WEB and booking.waitlist_entry_id:
        WaitlistEntry.objects.filter(pk=booking.waitlist_entry_id).update(status=WaitlistStatus.WAITING)
    _log(status=LogStatus.CANCELLED, changed_at=now, channel=channel, previous=booking, new=None)
    return booking


def _cancel_channel(*, actor: User, booking: Booking, now: dt.datetime) -> Channel:
    if actor.pk == booking.resident_id:
        booking_for_resident(resident=actor, booking_id=booking.pk, now=now)  # R-ACL-2, R-BOOK-5
        refusal = cancel_refusal(booking=booking, resident=actor, now=now)
        if refusal is not None:
            raise BookingError(refusal)
        return Channel.WEB
    if user_has_clinic_role(user=actor, clinic=booking.clinic, roles=SCHEDULER_ROLES):
        return Channel.STAFF
    if proxy_membership(user=actor, clinic=booking.clinic) is not None:
        appointment_type = booking.appointment_type
        if not (appointment_type.is_proxy and appointment_type.cancellable_on_web) or not (
            booking.clinic.supports_cancellation
        ):
            raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
        if booking.start <= now:
            raise BookingError(ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT)
        return Channel.PROXY
    # Someone else's booking: indistinguishable from one that does not exist (R-ACL-1, R-ACL-2).
    raise BookingError(ErrorCode.NOT_FOUND)


# --- Clinic staff and proxy bookers (R-BOOK-4, R-BOOK-9, R-TYPE-6) ------------------------------


def _slot_clinic(slot_id: int) -> Clinic:
    slot = Slot.objects.select_related("clinic").filter(pk=slot_id).first()
    if slot is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    return slot.clinic


def _staff_slot(*, resident: User, slot_id: int, now: dt.datetime) -> Slot:
    resident_lock(resident=resident)
    slot = _lock_slots([slot_id])[slot_id]
    if slot.start <= now:
        raise BookingError(ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED)
    slot_check_free(slot=slot, resident=resident, now=now, require_published=False)
    _check_no_overlap(resident=resident, slot=slot)
    Hold.objects.filter(slot=slot, state=HoldState.ACTIVE).update(state=HoldState.RELEASED)
    return slot


@transaction.atomic
def booking_create_for_resident(
    *,
    actor: User,
    resident: User,
    slot_id: int,
    waitlist_entry: WaitlistEntry | None = None,
    now: dt.datetime | None = None,
) -> Booking:
    """A scheduler books a time for a resident: relation and summons follow (R-REL-1, R-BOOK-9),
    and the booking is on the audit log in the same transaction (R-LOG-4): there is no booking
    made for a resident without the record of who made it, whichever page or API asked."""
    now = now or timezone.now()
    if not resident.is_resident:
        raise ValidationFailed({"resident": [_("Choose a resident by personal identity number.")]})
    clinic = _slot_clinic(slot_id)
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=SCHEDULER_ROLES):
        raise PermissionDeniedError()
    slot = _staff_slot(resident=resident, slot_id=slot_id, now=now)
    booking = _insert_booking(
        slot=slot, resident=resident, channel=Channel.STAFF, created_by=actor, waitlist_entry=waitlist_entry
    )
    if waitlist_entry is not None:
        WaitlistEntry.objects.filter(pk=waitlist_entry.pk).update(status=WaitlistStatus.BOOKED)
    _send_booking_message(booking=booking, kind=MessageKind.SUMMONS)
    audit_record(actor=actor, action="booking.create_for_resident", clinic=clinic, resident=resident, obj=booking)
    return booking


@transaction.atomic
def booking_create_by_proxy(*, actor: User, resident: User, slot_id: int, now: dt.datetime | None = None) -> Booking:
    """R-TYPE-6: a proxy booker books a proxy type that is bookable; logged as a proxy change."""
    now = now or timezone.now()
    clinic = _slot_clinic(slot_id)
    membership = proxy_membership(user=actor, clinic=clinic)
    if membership is None:
        raise PermissionDeniedError()
    if not resident.is_resident:
        raise ValidationFailed({"resident": [_("Choose a resident by personal identity number.")]})
    if not clinic.supports_booking:  # R-CLINIC-2
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    slot = _staff_slot(resident=resident, slot_id=slot_id, now=now)
    if not (slot.appointment_type.is_proxy and slot.appointment_type.bookable_on_web):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    booking = _insert_booking(
        slot=slot, resident=resident, channel=Channel.PROXY, created_by=actor, proxy_unit=membership.unit_name
    )
    _send_booking_message(booking=booking, kind=MessageKind.SUMMONS)
    _log(status=LogStatus.BOOKED, changed_at=now, channel=Channel.PROXY, previous=None, new=booking)
    return booking


# --- Booking bases and the waitlist -----------------------------------------------------------


def booking_basis_issue(
    *,
    actor: User,
    resident: User,
    appointment_type: AppointmentType,
    valid_until: dt.date | None = None,
    note: str = "",
) -> BookingBasis:
    clinic = appointment_type.clinic
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=(*SCHEDULER_ROLES, Role.LOCAL_ADMIN)):
        raise PermissionDeniedError()
    if valid_until is not None and valid_until < timezone.localdate():
        raise ValidationFailed({"valid_until": [_("The last valid day cannot be in the past.")]})
    return BookingBasis.objects.create(
        clinic=clinic,
        resident=resident,
        appointment_type=appointment_type,
        valid_until=valid_until,
        note=note[:500],
        issued_by=actor,
    )


@transaction.atomic
def waitlist_add(
    *,
    actor: User,
    clinic: Clinic,
    resident: User | None = None,
    personnummer: str = "",
    appointment_type: AppointmentType | None = None,
    note: str = "",
) -> WaitlistEntry:
    """Put a resident on the clinic's waitlist, on the audit log in the same transaction (R-LOG-4).
    Given a personnummer, a resident who has never logged in is created with the entry (R-SEC-3)."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=SCHEDULER_ROLES):
        raise PermissionDeniedError()
    if appointment_type is not None and appointment_type.clinic_id != clinic.pk:
        raise ValidationFailed({"appointment_type": [_("Choose an appointment type of this clinic.")]})
    if resident is None:
        resident, _created = resident_get_or_create(personnummer=personnummer)
    entry = WaitlistEntry.objects.create(
        clinic=clinic, resident=resident, appointment_type=appointment_type, note=note[:500]
    )
    audit_record(actor=actor, action="waitlist.add", clinic=clinic, resident=resident, obj=entry)
    return entry


@transaction.atomic
def waitlist_book(*, actor: User, entry_id: int, slot_id: int, now: dt.datetime | None = None) -> Booking:
    entry = WaitlistEntry.objects.select_for_update().select_related("resident").filter(pk=entry_id).first()
    if entry is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    if entry.status != WaitlistStatus.WAITING:
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED, _("This person is no longer on the waitlist."))
    slot_clinic_id = Slot.objects.filter(pk=slot_id).values_list("clinic_id", flat=True).first()
    if slot_clinic_id != entry.clinic_id:
        raise BookingError(ErrorCode.NOT_FOUND)
    return booking_create_for_resident(
        actor=actor, resident=entry.resident, slot_id=slot_id, waitlist_entry=entry, now=now
    )


@transaction.atomic
def booking_book_for_resident(
    *,
    actor: User,
    slot_id: int,
    personnummer: str = "",
    waitlist_entry_id: int | None = None,
    now: dt.datetime | None = None,
) -> Booking:
    """The staff booking pages and API book here: from a waitlist entry, or for the resident
    with this personnummer. A resident who has never logged in is created in the booking's
    transaction, so a refused booking leaves no new resident row behind (R-SEC-3, R-BOOK-9)."""
    if waitlist_entry_id is not None:
        return waitlist_book(actor=actor, entry_id=waitlist_entry_id, slot_id=slot_id, now=now)
    resident, _created = resident_get_or_create(personnummer=personnummer)
    return booking_create_for_resident(actor=actor, resident=resident, slot_id=slot_id, now=now)


# --- Inbox (R-BOOK-9, R-REL-1) ------------------------------------------------------------------


def inbox_message_send(
    *, resident: User, clinic: Clinic, kind: MessageKind, subject: str, body: str, booking: Booking | None = None
) -> InboxMessage:
    message = InboxMessage.objects.create(
        resident=resident, clinic=clinic, kind=kind, subject=subject[:200], body=body, booking=booking
    )
    if kind == MessageKind.SUMMONS:
        relation_add(resident=resident, clinic=clinic, source=RelationSource.SUMMONS)
    from .tasks import inbox_notify

    enqueue_on_commit(inbox_notify, message.pk)
    return message


def _send_booking_message(*, booking: Booking, kind: MessageKind) -> InboxMessage | None:
    """R-BOOK-9: tell the resident when the clinic books or cancels for them; never about a
    type hidden for patients (R-TYPE-2), not even by an e-mail saying a message is waiting."""
    if booking.appointment_type.hidden_for_patient:
        return None
    # Residents never see the internal type name (R-TYPE-1).
    what = booking.appointment_type.web_name or gettext_now("Visit")
    when = timezone.localtime(booking.start, LOCAL_TZ)
    with translation.override(settings.LANGUAGE_CODE):
        values = {"what": what, "clinic": booking.clinic.name, "date": f"{when:%Y-%m-%d}", "time": f"{when:%H:%M}"}
        if kind == MessageKind.SUMMONS:
            subject = gettext_now("Booked time: %(what)s %(date)s") % values
            body = (
                gettext_now(
                    "%(clinic)s has booked a time for you: %(what)s on %(date)s at %(time)s. "
                    "You can see the time under your booked times."
                )
                % values
            )
        else:
            subject = gettext_now("Cancelled time: %(what)s %(date)s") % values
            body = (
                gettext_now(
                    "%(clinic)s has cancelled your time: %(what)s on %(date)s at %(time)s. "
                    "Contact the clinic if you have questions."
                )
                % values
            )
    return inbox_message_send(
        resident=booking.resident, clinic=booking.clinic, kind=kind, subject=subject, body=body, booking=booking
    )


def inbox_mark_read(*, resident: User, message_id: int, now: dt.datetime | None = None) -> InboxMessage:
    from .selectors import inbox_for_resident

    message = inbox_for_resident(resident=resident).filter(pk=message_id).first()
    if message is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    if message.read_at is None:
        message.read_at = now or timezone.now()
        message.save(update_fields=["read_at"])
    return message


def inbox_notify(*, message_id: int, now: dt.datetime | None = None) -> bool:
    """Tell the resident by e-mail that a message is waiting (no health details in the e-mail).

    R-OPS-2: the message is claimed before the send (pending → sending, with the time and a
    token of this claim) and marked sent after it, both by conditional UPDATEs, so a retried or
    redelivered task never sends a message twice, and a claim that never completed (the worker
    was killed mid-send) is taken over once it is ``TIDBOK_NOTIFY_CLAIM_SECONDS`` old. The
    e-mail carries a Message-ID made from the message, so the rare resend after a crash between
    the send and the mark is recognisably the same e-mail. Returns whether this call sent it."""
    from django.core.mail import EmailMessage
    from django.core.mail.utils import DNS_NAME

    now = now or timezone.now()
    token = uuid.uuid4()
    stale = now - dt.timedelta(seconds=settings.TIDBOK_NOTIFY_CLAIM_SECONDS)
    claimable = Q(notify_state=NotifyState.PENDING) | Q(notify_state=NotifyState.SENDING, notify_claimed_at__lt=stale)
    claimed = InboxMessage.objects.filter(claimable, pk=message_id).update(
        notify_state=NotifyState.SENDING, notify_claimed_at=now, notify_claim=token
    )
    if not claimed:
        return False
    ours = InboxMessage.objects.filter(pk=message_id, notify_claim=token)
    message = InboxMessage.objects.select_related("resident", "clinic").get(pk=message_id)
    if message.resident.email:
        with translation.override(settings.LANGUAGE_CODE):
            email = EmailMessage(
                gettext_now("You have a new message in Tidbok"),
                gettext_now("%(clinic)s has sent you a message. Log in to Tidbok to read it.")
                % {"clinic": message.clinic.name},
                to=[message.resident.email],
                headers={"Message-ID": f"<tidbok-inbox-{message.pk}-{message.created_at:%Y%m%d%H%M%S}@{DNS_NAME}>"},
            )
            try:
                email.send()
            except Exception:
                # Give the claim back so the retry (or the sweep) sends it.
                ours.update(notify_state=NotifyState.PENDING, notify_claimed_at=None, notify_claim=None)
                raise
    ours.update(notify_state=NotifyState.SENT, notified_at=timezone.now())
    return True


def inbox_notify_sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """R-OPS-2: send what is still unsent after the claim timeout: a claim whose worker died, or a
    message whose task gave up (a long mail outage). Returns how many were sent."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.TIDBOK_NOTIFY_CLAIM_SECONDS)
    due = (
        InboxMessage.objects.filter(
            Q(notify_state=NotifyState.PENDING, created_at__lt=stale)
            | Q(notify_state=NotifyState.SENDING, notify_claimed_at__lt=stale)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for message_id in list(due):
        try:
            sent += inbox_notify(message_id=message_id, now=now)
        except Exception:
            logger.warning("inbox notification %s not sent, will retry", message_id, exc_info=True)
    return sent


# --- Web booking log retention (R-LOG-3) ------------------------------------------------------


def web_log_purge(
    *,
    now: dt.datetime | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[int, float], None] | None = None,
) -> int:
    """Delete rows older than 31 days in short batches, each its own transaction, by primary
    key. The log only points at bookings, so deleting it takes no lock on them. ``on_batch``
    hears each batch's row count and how long its transaction (and so its row locks) lasted."""
    now = now or timezone.now()
    batch_size = batch_size or settings.TIDBOK_LOG_PURGE_BATCH
    cutoff = now - dt.timedelta(days=settings.TIDBOK_LOG_RETENTION_DAYS)
    total = 0
    while True:
        ids = list(
            WebBookingLogEntry.objects.filter(changed_at__lt=cutoff)
            .order_by("changed_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        began = time.perf_counter()
        with transaction.atomic():
            deleted, _details = WebBookingLogEntry.objects.filter(pk__in=ids).delete()
        if on_batch is not None:
            on_batch(deleted, time.perf_counter() - began)
        total += deleted


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Stored first answers are kept a day: long enough for any client's retries."""
    from core.models import IdempotencyRecord

    cutoff = (now or timezone.now()) - dt.timedelta(days=1)
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
