"""Freed times offered to the waitlist first (R-WAIT-2, R-WAIT-3, R-WAIT-4).

A freed time of a type whose clinic chose "offer to the waitlist first" reaches the publisher like
any other (R-PUB-1, R-PUB-3); before it goes on the web, :func:`waitlist_offer_freed_slots` (the
receiver of ``schedules.signals.slots_freed_for_waitlist``) offers it to the first matching waiting
resident — highest priority first, then first come, first served. The slot is then *offered*: off
the web, the API and the FHIR feed, bookable by nobody else (``schedules.selectors.slot_check_free``).
An offer ends by being accepted (a booking), declined, withdrawn or running out (the beat sweep
:func:`waitlist_offers_expire`); the time then goes to the next match, and when there is none it is
freed and published to everyone.

Locks: the resident (when a booking is made), then the slot row, then the offer row — the order of
every booking path, so an offer's answer, its expiry and a staff booking of the same time queue on
the slot and exactly one of them wins (R-WAIT-4). The partial unique constraints on offers and on
active bookings are the last line of defence.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import resident_lock
from clinics.models import FreedTimes
from clinics.policy import booking_notice_start, too_late_to_book_message
from core import dates
from core.errors import BookingError, ErrorCode
from schedules.models import Slot, SlotStatus
from schedules.selectors import LOCAL_TZ
from schedules.services import bulk_refresh_later, slot_free

from ..models import (
    Booking,
    BookingStatus,
    Channel,
    MessageKind,
    OfferState,
    PartOfDay,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from .attorney import attorney_waitlist_message
from .common import _acting, _check_no_overlap, _insert_booking, _lock_slots
from .inbox import inbox_message_send
from .notify import NotificationKind, notification_record
from .web_booking import _web_booking_recorded

logger = logging.getLogger(__name__)

OFFER_EXPIRED = _("The offer has run out and the time has gone to someone else. You are still on the waitlist.")
OFFER_ENDED = _("This offer is no longer open. You are still on the waitlist if you have not left it.")


def entry_matches(*, entry: WaitlistEntry, start: dt.datetime) -> bool:
    """R-WAIT-1: the time suits what the resident asked for (dates, weekdays, time of day), read
    in Swedish time. Empty wishes match any time."""
    local = timezone.localtime(start, LOCAL_TZ)
    day = local.date()
    if entry.earliest_date is not None and day < entry.earliest_date:
        return False
    if entry.latest_date is not None and day > entry.latest_date:
        return False
    if entry.weekdays and local.isoweekday() not in entry.weekdays:
        return False
    if entry.part_of_day == PartOfDay.MORNING:
        return local.hour < 12
    if entry.part_of_day == PartOfDay.AFTERNOON:
        return local.hour >= 12
    return True


def _candidates(*, slot: Slot) -> list[WaitlistEntry]:
    """Waiting entries for the slot's type in fair order (R-WAIT-3): priority, then first come.
    Left out: an entry with an offer running, one already offered this time (it declined, let it
    run out, or booked and cancelled it), and a resident who is busy then (R-BOOK-2)."""
    local_day = timezone.localtime(slot.start, LOCAL_TZ).date()
    entries = (
        WaitlistEntry.objects.filter(
            clinic_id=slot.clinic_id, appointment_type_id=slot.appointment_type_id, status=WaitlistStatus.WAITING
        )
        .exclude(earliest_date__gt=local_day)
        .exclude(latest_date__lt=local_day)
        .exclude(offers__state=OfferState.ACTIVE)
        .exclude(offers__slot_id=slot.pk)
        .exclude(
            resident__bookings__status=BookingStatus.ACTIVE,
            resident__bookings__start__lt=slot.end,
            resident__bookings__end__gt=slot.start,
        )
        .select_related("resident")
        .order_by("-priority", "created_at", "pk")
    )
    return [entry for entry in entries[:200] if entry_matches(entry=entry, start=slot.start)]


def _offer_next(*, slot: Slot, now: dt.datetime) -> WaitlistOffer | None:
    """Offer the locked slot (free, or offered to someone whose offer just ended) to the next
    match; None when nobody matches."""
    appointment_type = slot.appointment_type
    if appointment_type.freed_times != FreedTimes.WAITLIST or appointment_type.hidden_for_patient:
        return None
    if slot.start <= booking_notice_start(appointment_type=appointment_type, now=now):
        return None  # R-POL-1: too soon to book on the web, so too soon to offer
    for entry in _candidates(slot=slot):
        try:
            with transaction.atomic():
                offer = WaitlistOffer.objects.create(
                    entry=entry,
                    slot=slot,
                    token=secrets.token_urlsafe(32),
                    expires_at=now + dt.timedelta(minutes=appointment_type.offer_minutes),
                    created_at=now,
                )
        except IntegrityError:
            # Offered another time by a parallel worker a moment ago: the next in line gets this one.
            continue
        Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.OFFERED, is_published=False, published_at=None)
        _tell_resident(offer=offer, entry=entry, slot=slot)
        return offer
    return None


def _tell_resident(*, offer: WaitlistOffer, entry: WaitlistEntry, slot: Slot) -> None:
    """R-WAIT-3: the offer reaches the resident's inbox, e-mail and SMS (R-NOTE-2), with the link
    to answer it — the offer's random token, never the personnummer."""
    path = reverse("bookings:waitlist_offer", args=[offer.token])
    what = slot.appointment_type.web_name or gettext("Visit")
    # Stored in the site's language, as every inbox message is; e-mail and SMS follow the resident's.
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "what": what,
            "clinic": slot.clinic.name,
            "date": dates.when(slot.start, "date"),
            "time": dates.when(slot.start, "time"),
            "until": dates.when(offer.expires_at, "time"),
        }
        subject = gettext("A time has become free: %(what)s %(date)s") % values
        body = (
            gettext(
                "A time at %(clinic)s has become free and is offered to you from the waitlist: %(what)s on %(date)s "
                "at %(time)s. It is held for you until %(until)s. Open the offer to book it or say no."
            )
            % values
        )
    message = inbox_message_send(
        resident=entry.resident, clinic=slot.clinic, kind=MessageKind.INFO, subject=subject, body=body, notify=False
    )
    notification_record(
        NotificationKind.WAITLIST_OFFER,
        resident_id=entry.resident_id,
        clinic_id=slot.clinic_id,
        message=message,
        detail={
            "path": path,
            "offer_id": offer.pk,
            "start": slot.start.isoformat(),
            "expires_at": offer.expires_at.isoformat(),
            "what": "" if slot.appointment_type.discreet else slot.appointment_type.web_name,
        },
    )


def _locked_offerable(slot_id: int, now: dt.datetime) -> Slot | None:
    """The slot, row-locked, if it is still free, unpublished, unblocked and ahead."""
    return (
        Slot.objects.select_for_update(of=("self",))
        .select_related("clinic", "appointment_type")
        .filter(pk=slot_id, status=SlotStatus.FREE, is_published=False, is_blocked=False, start__gt=now)
        .first()
    )


def waitlist_offer_freed_slots(*, slot_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """R-WAIT-3: offer freed times to the waitlist before the publisher puts them on the web. Each
    time in its own transaction; a time that nobody waits for is left free for the publisher."""
    now = now or timezone.now()
    ids = sorted(set(slot_ids))
    waiting_types = set(
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, appointment_type__slots__pk__in=ids).values_list(
            "appointment_type_id", flat=True
        )
    )
    if not waiting_types:
        return 0
    offered = 0
    for slot_id in Slot.objects.filter(pk__in=ids, appointment_type_id__in=waiting_types).values_list("pk", flat=True):
        with transaction.atomic():
            slot = _locked_offerable(slot_id, now)
            if slot is not None and _offer_next(slot=slot, now=now) is not None:
                offered += 1
    return offered


def _pass_on(*, offer: WaitlistOffer, state: OfferState, now: dt.datetime) -> WaitlistOffer | None:
    """End an active offer (the caller holds the slot's lock) and give the time to the next match,
    or free it for everyone (R-PUB-1). The conditional UPDATE lets only one ender end it."""
    ended = WaitlistOffer.objects.filter(pk=offer.pk, state=OfferState.ACTIVE).update(state=state, answered_at=now)
    if not ended:
        return None
    offer.state = state
    slot = Slot.objects.select_related("clinic", "appointment_type").get(pk=offer.slot_id)
    if slot.status != SlotStatus.OFFERED:
        return None
    if not slot.is_blocked and slot.start > now:
        following = _offer_next(slot=slot, now=now)
        if following is not None:
            return following
    slot_free(slot_id=slot.pk)  # the publisher puts it on the web (or leaves it off, blocked or past)
    bulk_refresh_later()
    return None


def _offer_for(*, resident: User, token: str, lock: bool = False) -> WaitlistOffer:
    offers = WaitlistOffer.objects.select_related("entry", "slot")
    if lock:
        offers = offers.select_for_update(of=("self",))
    offer = offers.filter(token=token, entry__resident=resident).first()
    if offer is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    return offer


@transaction.atomic
def waitlist_offer_accept(
    *, resident: User, token: str, actor: User | None = None, now: dt.datetime | None = None
) -> Booking:
    """R-WAIT-3, R-WAIT-4: the offered resident books the time. Two confirmations, a confirmation
    after the offer ran out (by the server's clock, whether or not the sweep has run) and a staff
    booking of the same time end with one booking: all queue on the slot's row lock. ``actor``: a
    guardian or attorney accepting for the resident, checked under the resident's lock (R-GUARD-4,
    R-POA-1)."""
    now = now or timezone.now()
    resident_lock(resident=resident)
    slot_id = _offer_for(resident=resident, token=token).slot_id
    slot = _lock_slots([slot_id])[slot_id]
    acting = _acting(actor=actor, patient=resident, clinic_id=slot.clinic_id, now=now)
    offer = _offer_for(resident=resident, token=token, lock=True)
    if offer.state == OfferState.EXPIRED or (offer.state == OfferState.ACTIVE and offer.expires_at <= now):
        raise BookingError(ErrorCode.HOLD_EXPIRED, OFFER_EXPIRED)
    if offer.state != OfferState.ACTIVE or slot.status != SlotStatus.OFFERED:
        raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED, OFFER_ENDED)
    if slot.start <= now:
        raise BookingError(ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED)
    if slot.start <= booking_notice_start(appointment_type=slot.appointment_type, now=now):
        raise BookingError(
            ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT,
            too_late_to_book_message(appointment_type=slot.appointment_type, clinic=slot.clinic),
        )
    if slot.is_blocked:
        raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED)
    _check_no_overlap(resident=resident, slot=slot)
    booking = _insert_booking(
        slot=slot,
        resident=resident,
        channel=Channel.WEB,
        created_by=acting.actor,
        acting_as=acting.acting_as,
        waitlist_entry=offer.entry,
    )
    WaitlistOffer.objects.filter(pk=offer.pk).update(state=OfferState.ACCEPTED, answered_at=now, booking=booking)
    WaitlistEntry.objects.filter(pk=offer.entry_id).update(status=WaitlistStatus.BOOKED)
    _web_booking_recorded(resident=resident, slot=slot, booking=booking, acting=acting, now=now)
    return booking


@transaction.atomic
def waitlist_offer_decline(
    *, resident: User, token: str, actor: User | None = None, now: dt.datetime | None = None
) -> None:
    """R-WAIT-3: the resident (or a guardian or attorney for them, R-POA-1) says no; the time goes
    to the next match at once. They stay on the waitlist for other times."""
    now = now or timezone.now()
    offer = _offer_for(resident=resident, token=token)
    resident_lock(resident=resident)
    acting = _acting(actor=actor, patient=resident, clinic_id=offer.entry.clinic_id, now=now)
    _lock_slots([offer.slot_id])
    offer = _offer_for(resident=resident, token=token, lock=True)
    if offer.state != OfferState.ACTIVE:
        raise BookingError(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED, OFFER_ENDED)
    if not acting.is_self:
        WaitlistOffer.objects.filter(pk=offer.pk).update(answered_by=acting.actor)
    _pass_on(offer=offer, state=OfferState.DECLINED, now=now)
    attorney_waitlist_message(acting=acting, entry=offer.entry, joined=None)


def waitlist_offer_withdraw_for_entry(*, entry_id: int, now: dt.datetime) -> None:
    """The entry left the waitlist: its running offer ends and the time goes on (in the caller's
    transaction)."""
    offer = WaitlistOffer.objects.filter(entry_id=entry_id, state=OfferState.ACTIVE).first()
    if offer is not None:
        _lock_slots([offer.slot_id])
        _pass_on(offer=offer, state=OfferState.WITHDRAWN, now=now)


def waitlist_offers_expire(*, now: dt.datetime | None = None) -> int:
    """The beat sweep (R-WAIT-3): offers past their time end and their times go on. Each offer in
    its own transaction; a lost or late task delays nothing beyond the next sweep."""
    now = now or timezone.now()
    expired = 0
    due = WaitlistOffer.objects.filter(state=OfferState.ACTIVE, expires_at__lte=now).order_by("expires_at")
    for offer in list(due[:1000]):
        try:
            with transaction.atomic():
                _lock_slots([offer.slot_id])
                _pass_on(offer=offer, state=OfferState.EXPIRED, now=now)
                expired += offer.state == OfferState.EXPIRED
        except (OperationalError, BookingError):
            # A lock timeout, or the slot removed meanwhile: the next sweep looks again.
            logger.warning("could not expire waitlist offer %s this round", offer.pk, exc_info=True)
    return expired
