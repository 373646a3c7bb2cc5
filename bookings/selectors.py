"""Reads about a resident's bookings: what they see and may do, the late-change and deadline
rules, rebooking candidates, the calendar feed and the inbox. The staff's, proxy bookers', web
log's and booking bases' reads sit beside it in ``staff_selectors``, ``proxy_selectors``,
``web_log_selectors`` and ``basis_selectors``."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.acting import acting_resolve
from accounts.models import ContactDetails, User
from clinics.models import ACTIVE_RELATION, CaseKind, CaseType, ClinicRelation
from clinics.policy import booking_notice_start, change_deadline, change_deadline_text, too_late_to_change_message
from clinics.selectors import case_type_admits, case_type_for
from core.errors import BookingError, ErrorCode
from schedules.models import Slot, SlotStatus
from schedules.selectors import LOCAL_TZ, check_booking_notice, slot_check_free, visibility_cutoff

from .models import Booking, BookingStatus, CalendarFeed, Channel, InboxMessage

VIEW_AFTER_START = dt.timedelta(hours=2)
LATE_CHANGE_WINDOW = dt.timedelta(hours=24)


def is_late_change(*, previous_start: dt.datetime, changed_at: dt.datetime) -> bool:
    """R-BOOK-8: a change less than 24 hours before the previous start is late (billable)."""
    return previous_start - changed_at < LATE_CHANGE_WINDOW


# --- What a resident sees (R-BOOK-5, R-TYPE-2, R-REL) -----------------------------------------


def bookings_for_resident(*, resident: User, now: dt.datetime | None = None) -> QuerySet[Booking]:
    """Active bookings of non-hidden types at clinics the resident has an active relation with,
    until two hours after their start; the clinic's MANAGE case type is active, or the resident
    made the booking on the web — themself, or a guardian or attorney for them (R-GUARD-4, R-POA-1)."""
    now = now or timezone.now()
    relation = ClinicRelation.objects.filter(ACTIVE_RELATION, resident=resident, clinic=OuterRef("clinic"))
    manage = CaseType.objects.filter(clinic=OuterRef("clinic"), kind=CaseKind.MANAGE, is_active=True)
    return (
        Booking.objects.filter(
            resident=resident,
            status=BookingStatus.ACTIVE,
            appointment_type__hidden_for_patient=False,
            start__gt=now - VIEW_AFTER_START,
        )
        .filter(Exists(relation))
        .filter(Exists(manage) | Q(channel=Channel.WEB, created_by=resident) | Q(channel=Channel.WEB, acting_as__gt=""))
        .select_related("clinic", "appointment_type", "resource")
        .order_by("start")
    )


def bookings_hidden_by_removing(*, resident: User, clinic) -> tuple[list[Booking], bool]:
    """What taking ``clinic`` off the start page hides (R-REL-2): the resident's visible bookings there, unless the
    clinic approved the resident for communication (then the relation stays, and so do the bookings). Returns the
    bookings that would disappear and whether they stay visible."""
    at_clinic = list(bookings_for_resident(resident=resident).filter(clinic=clinic))
    approved = ClinicRelation.objects.filter(resident=resident, clinic=clinic, approved_for_communication=True).exists()
    return ([] if approved else at_clinic), (approved and bool(at_clinic))


def booking_for_resident(*, resident: User, booking_id: int, now: dt.datetime | None = None) -> Booking:
    """One of the resident's visible bookings; anything else is "not found" (R-ACL-2)."""
    booking = bookings_for_resident(resident=resident, now=now).filter(pk=booking_id).first()
    if booking is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    return booking


# --- The resident's calendar feed (R-NOTE-5) ---------------------------------------------------------

# secrets.token_urlsafe(32) gives 43 characters of the URL-safe base64 alphabet; anything else is
# answered "not found" without a database lookup.
_FEED_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def calendar_feed_for_resident(*, resident: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(resident=resident).first()


def calendar_feed_token_hash(token: str) -> str:
    # The token is 256 random bits, so a plain SHA-256 cannot be reversed by guessing; a slow
    # password hash would only slow down every poll.
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_for_token(*, token: str) -> CalendarFeed | None:
    """The feed of this secret token, of a resident who can still log in; None for anything else."""
    if not _FEED_TOKEN.match(token):
        return None
    feed = (
        CalendarFeed.objects.filter(token_hash=calendar_feed_token_hash(token), resident__is_active=True)
        .select_related("resident", "created_by")
        .first()
    )
    # A guardian's or attorney's address for the resident answers only while they may act for them.
    if (
        feed is not None
        and feed.created_by is not None
        and feed.created_by_id != feed.resident_id
        and acting_resolve(actor=feed.created_by, patient_id=feed.resident_id) is None
    ):
        return None
    return feed


def calendar_feed_language(*, feed: CalendarFeed) -> str:
    """The resident's chosen language (R-NOTE-1) for the feed's texts; Swedish when none is chosen."""
    chosen = ContactDetails.objects.filter(user_id=feed.resident_id).values_list("language", flat=True).first()
    return chosen or settings.LANGUAGE_CODE


def calendar_feed_bookings(*, feed: CalendarFeed, now: dt.datetime | None = None) -> QuerySet[Booking]:
    """What the feed lists: exactly the bookings the resident sees on the start page and under
    My booked times (R-BOOK-5, R-TYPE-2, R-REL), so a calendar never shows more than the portal — to an
    attorney, only the clinics their power of attorney covers (R-POA-1)."""
    bookings = bookings_for_resident(resident=feed.resident, now=now)
    if feed.created_by is not None and feed.created_by_id != feed.resident_id:
        acting = acting_resolve(actor=feed.created_by, patient_id=feed.resident_id, now=now)
        if acting is None:
            return bookings.none()
        if acting.clinic_ids is not None:
            bookings = bookings.filter(clinic_id__in=acting.clinic_ids)
    return bookings


@dataclass(frozen=True)
class BookingActions:
    can_cancel: bool
    can_rebook: bool
    # R-TYPE-3: the type cannot be cancelled on the web; the resident must call the clinic.
    must_call_to_cancel: bool
    # R-BOOK-8: a change now would be late and may be charged.
    change_is_late: bool
    # R-POL-1: the web takes changes until then; past it, ``too_late_message`` says whom to call.
    change_deadline: dt.datetime
    # The deadline in words while it is still ahead and the type has one ("" otherwise).
    changes_until: str
    too_late_message: str
    # R-POL-2: the clinic's fee text, shown before a late change is confirmed ("" when not late).
    late_fee_text: str


def _manage_admits(*, booking: Booking, resident: User) -> bool:
    return case_type_admits(case_type=case_type_for(clinic=booking.clinic, kind=CaseKind.MANAGE), resident=resident)


def _manage_refusal(
    *,
    booking: Booking,
    resident: User,
    now: dt.datetime,
    flag: str,
    supported: bool,
    manage_admits: bool | None = None,
) -> ErrorCode | None:
    if booking.resident_id != resident.pk or booking.status != BookingStatus.ACTIVE:
        return ErrorCode.NOT_FOUND
    if booking.start <= now:
        return ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    appointment_type = booking.appointment_type
    if appointment_type.hidden_for_patient or not getattr(appointment_type, flag) or not supported:
        return ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    if now >= change_deadline(appointment_type=appointment_type, start=booking.start):
        return ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT  # R-POL-1
    if manage_admits is None:
        manage_admits = _manage_admits(booking=booking, resident=resident)
    if not manage_admits:
        return ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    return None


def cancel_refusal(
    *, booking: Booking, resident: User, now: dt.datetime, manage_admits: bool | None = None
) -> ErrorCode | None:
    """R-BOOK-6: MANAGE active and admitting, type cancellable, timebook supports it, future start."""
    return _manage_refusal(
        booking=booking,
        resident=resident,
        now=now,
        flag="cancellable_on_web",
        supported=booking.clinic.supports_cancellation,
        manage_admits=manage_admits,
    )


def rebook_refusal(
    *, booking: Booking, resident: User, now: dt.datetime, manage_admits: bool | None = None
) -> ErrorCode | None:
    """R-BOOK-7: MANAGE active and admitting, type reschedulable, timebook supports it, future start."""
    return _manage_refusal(
        booking=booking,
        resident=resident,
        now=now,
        flag="reschedulable_on_web",
        supported=booking.clinic.supports_rebooking,
        manage_admits=manage_admits,
    )


def refusal_error(*, booking: Booking, code: ErrorCode, now: dt.datetime) -> BookingError:
    """The error a refused web change raises: past the type's deadline (R-POL-1) it says until
    when the web took changes and how to reach the clinic."""
    deadline = change_deadline(appointment_type=booking.appointment_type, start=booking.start)
    if code == ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT and booking.start > now >= deadline:
        return BookingError(code, too_late_to_change_message(clinic=booking.clinic, deadline=deadline))
    return BookingError(code)


def late_fee_text(*, booking: Booking, changed_at: dt.datetime) -> str:
    """R-POL-2: the clinic's fee text for a change that R-BOOK-8 calls late, else nothing."""
    if not is_late_change(previous_start=booking.start, changed_at=changed_at):
        return ""
    return booking.appointment_type.late_fee_text


def booking_actions(*, booking: Booking, resident: User, now: dt.datetime | None = None) -> BookingActions:
    now = now or timezone.now()
    # Both refusals ask whether the MANAGE case type admits the resident: asked once.
    admits = _manage_admits(booking=booking, resident=resident)
    cancel_code = cancel_refusal(booking=booking, resident=resident, now=now, manage_admits=admits)
    rebook_code = rebook_refusal(booking=booking, resident=resident, now=now, manage_admits=admits)
    deadline = change_deadline(appointment_type=booking.appointment_type, start=booking.start)
    too_late = ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT in (cancel_code, rebook_code) and booking.start > now
    return BookingActions(
        can_cancel=cancel_code is None,
        can_rebook=rebook_code is None,
        # Past the deadline the page says so itself (``too_late_message``), with the clinic's number.
        must_call_to_cancel=cancel_code is not None and booking.start > now and not too_late,
        change_is_late=is_late_change(previous_start=booking.start, changed_at=now),
        change_deadline=deadline,
        changes_until=change_deadline_text(deadline=deadline)
        if (cancel_code is None or rebook_code is None) and deadline < booking.start
        else "",
        too_late_message=too_late_to_change_message(clinic=booking.clinic, deadline=deadline) if too_late else "",
        late_fee_text=late_fee_text(booking=booking, changed_at=now),
    )


def rebook_candidates(*, booking: Booking, resident: User, now: dt.datetime | None = None) -> QuerySet[Slot]:
    """R-BOOK-7: free times on the same resource and of the same type, inside the visibility
    window. Served by ``slot_offered_resource_idx``."""
    now = now or timezone.now()
    if rebook_refusal(booking=booking, resident=resident, now=now) is not None:
        return Slot.objects.none()
    return (
        Slot.objects.filter(
            resource_id=booking.resource_id,
            appointment_type_id=booking.appointment_type_id,
            status=SlotStatus.FREE,
            is_published=True,
            is_blocked=False,
            # R-POL-1: the new time, too, is a booking on the web: not inside the type's notice.
            start__gt=booking_notice_start(appointment_type=booking.appointment_type, now=now),
            start__lt=visibility_cutoff(appointment_type=booking.appointment_type, now=now),
        )
        .select_related("resource")
        .order_by("start")
    )


def rebook_day_counts(
    *, booking: Booking, resident: User, start_from: dt.datetime, until: dt.datetime, now: dt.datetime | None = None
) -> dict[dt.date, int]:
    """Local dates with times the booking may move to (R-BOOK-7), and how many, for the calendar
    the rebooking starts with: a day first, then its times, as when booking."""
    rows = (
        # The booking's own slot is booked, never among the free candidates.
        rebook_candidates(booking=booking, resident=resident, now=now)
        .filter(start__gte=start_from, start__lt=until)
        .order_by()
        .annotate(day=TruncDate("start", tzinfo=LOCAL_TZ))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    return {row["day"]: row["n"] for row in rows}


def rebook_check(*, booking: Booking, resident: User, new_slot: Slot, now: dt.datetime, own_hold=None) -> None:
    """The conditions of :func:`rebook_candidates` for one locked slot, raising what a resident should see."""
    refusal = rebook_refusal(booking=booking, resident=resident, now=now)
    if refusal is not None:
        raise refusal_error(booking=booking, code=refusal, now=now)
    if new_slot.resource_id != booking.resource_id or new_slot.appointment_type_id != booking.appointment_type_id:
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    if new_slot.start <= now:
        raise BookingError(ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED)
    check_booking_notice(slot=new_slot, now=now)
    if new_slot.start >= visibility_cutoff(appointment_type=booking.appointment_type, now=now):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED)
    slot_check_free(slot=new_slot, resident=resident, now=now, own_hold=own_hold)


# --- Inbox (R-BOOK-9, R-TYPE-2) ---------------------------------------------------------------


def inbox_for_resident(*, resident: User) -> QuerySet[InboxMessage]:
    """Messages about bookings of hidden types are never shown (R-TYPE-2)."""
    return (
        InboxMessage.objects.filter(resident=resident)
        .exclude(booking__appointment_type__hidden_for_patient=True)
        .select_related("clinic", "booking")
        .order_by("-created_at")
    )


def inbox_unread_count(*, resident: User) -> int:
    return inbox_for_resident(resident=resident).filter(read_at__isnull=True).count()
