"""Reads about bookings: what a resident sees and may do, rebooking candidates, inbox, log."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext

from accounts.acting import acting_resolve
from accounts.models import ContactDetails, Role, User
from accounts.selectors import proxy_memberships, resident_for_personnummer, user_has_clinic_role
from accounts.services import audit_record
from clinics.models import ACTIVE_RELATION, PROXY_MARKER, CaseKind, CaseType, ClinicRelation
from clinics.policy import (
    booking_notice_start,
    change_deadline,
    change_deadline_text,
    too_late_to_change_message,
)
from clinics.selectors import (
    PROXY_CANCEL_TYPE_Q,
    case_type_admits,
    case_type_for,
    clinics_for_staff,
    q_matches,
    type_access,
    usable_basis_q,
)
from core.errors import BookingError, ErrorCode, PermissionDeniedError
from schedules.models import Slot, SlotStatus
from schedules.selectors import (
    LOCAL_TZ,
    check_booking_notice,
    local_midnight,
    slot_check_free,
    visibility_cutoff,
)

from .audit import audit_residents_shown
from .models import (
    BasisState,
    Booking,
    BookingBasis,
    BookingStatus,
    CalendarFeed,
    Channel,
    InboxMessage,
    OfferState,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
    WebBookingLogEntry,
)

VIEW_AFTER_START = dt.timedelta(hours=2)
LATE_CHANGE_WINDOW = dt.timedelta(hours=24)


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


# --- Staff reads (R-ACL-1, R-LOG-2, R-LOG-4) ----------------------------------------------------


def web_log_for_clinic(
    *,
    actor: User,
    clinic,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str | None = None,
    resident: User | None = None,
) -> QuerySet[WebBookingLogEntry]:
    """The clinic's web booking log for support staff (R-LOG-2). Reading it is access to
    residents' data and is written to the audit log (R-LOG-4)."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=(Role.SUPPORT,)):
        raise PermissionDeniedError()
    rows = WebBookingLogEntry.objects.filter(clinic=clinic).select_related("resident", "booking_basis", "actor")
    if date_from:
        rows = rows.filter(changed_at__gte=local_midnight(date_from))
    if date_to and date_to < dt.date.max:  # the last day the calendar has bounds nothing
        rows = rows.filter(changed_at__lt=local_midnight(date_to + dt.timedelta(days=1)))
    if status:
        rows = rows.filter(status=status)
    if resident is not None:
        rows = rows.filter(resident=resident)
    audit_record(
        actor=actor,
        action="web_log.read",
        clinic=clinic,
        resident=resident,
        detail=f"from={date_from or ''} to={date_to or ''} status={status or ''}",
    )
    return rows.order_by("-changed_at")


@dataclass(frozen=True)
class WebLogRead:
    """One read of the web booking log: the rows read, from which offset, how many match in all,
    and the resident searched for (None when no personnummer was given or it matched nobody)."""

    entries: list[WebBookingLogEntry]
    offset: int
    count: int
    resident: User | None


def web_log_read(
    *,
    actor: User,
    clinic,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str | None = None,
    personnummer: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    past_end_reads_last: bool = False,
    shown_action: str = "web_log.resident_shown",
) -> WebLogRead:
    """The web booking log as the support page, its export and the staff API read it (R-LOG-2),
    newest first: ``limit`` rows from ``offset`` (all when ``limit`` is None). An offset past
    the end reads nothing, or the last ``limit`` rows' window with ``past_end_reads_last`` (a
    page number past the last page). ``personnummer`` is normalised; one that matches nobody
    matches no rows.

    R-LOG-4: the read with its filters is one audit event naming the resident searched for, and
    each other resident on the rows read is one ``shown_action`` event (``web_log.exported`` for
    the export)."""
    resident = resident_for_personnummer(personnummer=personnummer) if personnummer else None
    rows = web_log_for_clinic(
        actor=actor, clinic=clinic, date_from=date_from, date_to=date_to, status=status, resident=resident
    )
    if personnummer and resident is None:
        rows = rows.none()
    count = rows.count()
    if past_end_reads_last and limit and count and offset >= count:
        offset = (count - 1) // limit * limit
    entries = [] if offset >= count else list(rows[offset:] if limit is None else rows[offset : offset + limit])
    audit_residents_shown(
        actor=actor,
        clinic=clinic,
        residents=(entry.resident for entry in entries),
        action=shown_action,
        already_recorded=resident,
    )
    return WebLogRead(entries=entries, offset=offset, count=count, resident=resident)


def booking_for_staff(*, actor: User, booking_id: int) -> Booking:
    """A booking as clinic staff see it in the timebook, with "changed by" (R-BOOK-4). Only for
    staff of the booking's clinic (R-ACL-1); every read is audited (R-LOG-4)."""
    clinics = clinics_for_staff(user=actor, roles=(Role.SCHEDULER, Role.SUPPORT, Role.LOCAL_ADMIN))
    booking = (
        Booking.objects.filter(pk=booking_id, clinic__in=clinics)
        .select_related("clinic", "resident", "appointment_type", "resource", "created_by")
        .first()
    )
    if booking is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    audit_record(actor=actor, action="booking.read", clinic=booking.clinic, resident=booking.resident, obj=booking)
    return booking


# --- The web booking log as support staff read it (R-LOG-2, R-LOG-4) ----------------------------


@dataclass(frozen=True)
class LogValueChange:
    """One of the four values a log row compares (date, start time, resource, type), as text.

    R-LOG-2: only a value that changed is marked — the previous one red, the new one green;
    a value that stayed the same is shown plain on both sides."""

    name: str
    previous: str
    new: str

    @property
    def changed(self) -> bool:
        return self.previous != self.new

    @property
    def mark_previous(self) -> bool:
        return self.changed and bool(self.previous)

    @property
    def mark_new(self) -> bool:
        return self.changed and bool(self.new)


def _log_text(value: dt.date | dt.time | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def web_log_changes(*, entry: WebBookingLogEntry) -> list[LogValueChange]:
    """The previous and new values of a log row, side by side (R-LOG-1, R-LOG-2). A new booking
    has only new values, a cancellation only previous ones."""
    return [
        LogValueChange(
            name=name,
            previous=_log_text(getattr(entry, f"previous_{name}")),
            new=_log_text(getattr(entry, f"new_{name}")),
        )
        for name in ("date", "start", "resource", "type")
    ]


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


# The formula characters spreadsheet programs act on: a resource or name typed as "=HYPERLINK(…)"
# must open as text, not run (CSV injection).
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    return f"'{value}" if value.startswith(_CSV_FORMULA_START) else value


def web_log_csv_header() -> list[str]:
    return [
        gettext("Status"),
        gettext("Changed"),
        gettext("Resident"),
        gettext("Personal identity number"),
        gettext("Previous date"),
        gettext("Previous start time"),
        gettext("Previous resource"),
        gettext("Previous appointment type"),
        gettext("New date"),
        gettext("New start time"),
        gettext("New resource"),
        gettext("New appointment type"),
        gettext("Channel"),
        gettext("Changed by"),
        gettext("Late (billable)"),
        gettext("Booking basis"),
    ]


def web_log_csv_row(*, entry: WebBookingLogEntry) -> list[str]:
    """One log row for the spreadsheet export, in the columns of :func:`web_log_csv_header`;
    times in Swedish local time."""
    changes = web_log_changes(entry=entry)
    cells = [
        entry.get_status_display(),
        timezone.localtime(entry.changed_at, LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
        entry.resident.get_full_name(),
        entry.resident.personnummer_display,
        *(change.previous for change in changes),
        *(change.new for change in changes),
        entry.get_channel_display(),
        # R-GUARD-4, R-POA-1: who acted for the resident, by name.
        " – ".join(filter(None, [entry.changed_by, entry.acting_display])),
        gettext("Yes") if entry.is_late else gettext("No"),
        str(entry.booking_basis_id or ""),
    ]
    return [csv_cell(str(cell)) for cell in cells]


def waitlist_for_clinic(*, clinic) -> QuerySet:
    """Residents waiting for a time at the clinic in the order offers go (R-WAIT-3): priority,
    then first come first."""
    return (
        WaitlistEntry.objects.filter(clinic=clinic, status=WaitlistStatus.WAITING)
        .select_related("resident", "appointment_type")
        .prefetch_related(Prefetch("offers", WaitlistOffer.objects.filter(state=OfferState.ACTIVE), "open_offers"))
        .order_by("-priority", "created_at", "pk")
    )


def waitlist_for_staff(*, actor: User, clinic) -> list:
    """The waitlist as the scheduler's page shows it: each resident shown is written to the
    audit log (R-LOG-4), the read and its record together."""
    entries = list(waitlist_for_clinic(clinic=clinic))
    for entry in entries:
        audit_record(actor=actor, action="waitlist.read", clinic=clinic, resident=entry.resident, obj=entry)
    return entries


def resident_for_staff_booking(
    *, actor: User, clinic, personnummer: str, detail: str = "book for resident"
) -> User | None:
    """The resident a scheduler is about to book for, found by personnummer; the lookup is
    audited (R-LOG-4). A resident who has never logged in has no data to read yet: nothing to
    audit, and nothing is created by this read (R-SEC-3)."""
    resident = resident_for_personnummer(personnummer=personnummer)
    if resident is not None:
        audit_record(actor=actor, action="resident.lookup", clinic=clinic, resident=resident, detail=detail)
    return resident


# --- What proxy bookers see (R-TYPE-6, R-BOOK-4, R-LOG-4) ---------------------------------------


def proxy_region_ids(*, actor: User) -> list[int]:
    """The regions the actor books in as a proxy booker; refused for anyone else (R-ACL-1)."""
    region_ids = [membership.region_id for membership in proxy_memberships(user=actor) if membership.region_id]
    if not region_ids:
        raise PermissionDeniedError()
    return region_ids


def _proxy_bookings(*, region_ids: list[int], now: dt.datetime) -> QuerySet[Booking]:
    """Active bookings of proxy types at clinics of these regions, until two hours after their
    start (as the resident sees them, R-BOOK-5): the bookings a proxy booker may see."""
    return Booking.objects.filter(
        status=BookingStatus.ACTIVE,
        clinic__region_id__in=region_ids,
        appointment_type__internal_name__contains=PROXY_MARKER,
        start__gt=now - VIEW_AFTER_START,
    ).select_related("clinic", "appointment_type", "resource", "resident", "created_by")


@dataclass(frozen=True)
class ProxyResidentRead:
    """A resident as a proxy booker finds them: None when the personnummer has never logged in
    or been booked for (booking creates them), and their bookings of proxy types in the region."""

    resident: User | None
    bookings: list[Booking]


def resident_for_proxy(*, actor: User, personnummer: str, now: dt.datetime | None = None) -> ProxyResidentRead:
    """A proxy booker looks a resident up by normalised personnummer (R-TYPE-6). The read is one
    audit event per region the booker acts in, with the unit they act for (R-LOG-4); a number
    nobody has is no one's data, and nothing is created by the read (R-SEC-3)."""
    now = now or timezone.now()
    memberships = [m for m in proxy_memberships(user=actor) if m.region_id]
    if not memberships:
        raise PermissionDeniedError()
    resident = resident_for_personnummer(personnummer=personnummer)
    if resident is None:
        return ProxyResidentRead(resident=None, bookings=[])
    bookings = list(
        _proxy_bookings(region_ids=[m.region_id for m in memberships if m.region_id], now=now)
        .filter(resident=resident)
        .order_by("start", "pk")
    )
    with transaction.atomic():
        for membership in memberships:
            audit_record(
                actor=actor,
                action="proxy.resident_read",
                resident=resident,
                region_id=membership.region_id,
                unit_name=membership.unit_name,
                detail=f"proxy bookings shown: {len(bookings)}",
            )
    return ProxyResidentRead(resident=resident, bookings=bookings)


def booking_for_proxy(*, actor: User, booking_id: int, now: dt.datetime | None = None) -> Booking:
    """One booking a proxy booker may see (:func:`_proxy_bookings`); anything else is "not found"
    (R-ACL-1). The read is audited with the booker's unit (R-LOG-4)."""
    now = now or timezone.now()
    booking = _proxy_bookings(region_ids=proxy_region_ids(actor=actor), now=now).filter(pk=booking_id).first()
    if booking is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    membership = next(m for m in proxy_memberships(user=actor) if m.region_id == booking.clinic.region_id)
    audit_record(
        actor=actor,
        action="booking.read",
        clinic=booking.clinic,
        resident=booking.resident,
        obj=booking,
        unit_name=membership.unit_name,
    )
    return booking


def proxy_cancel_refusal(*, booking: Booking, now: dt.datetime) -> ErrorCode | None:
    """R-TYPE-6: a proxy booker may cancel an active booking of a proxy type that is cancellable,
    at a clinic whose timebook supports cancelling (R-CLINIC-2), before it starts."""
    if booking.status != BookingStatus.ACTIVE:
        return ErrorCode.NOT_FOUND
    if not q_matches(PROXY_CANCEL_TYPE_Q, booking.appointment_type):
        return ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    if booking.start <= now:
        return ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT
    return None
