"""What a resident sees when acting for someone else (R-GUARD-2, R-POA-1): the patient's bookings
, inbox, booking bases and waitlist places, narrowed to the clinics a power of attorney covers: what
an attorney cannot act on is not listed either. Whom they may act for is decided in
``accounts.acting``; the pages, the API and the calendar read through here."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from accounts.acting import Acting
from core.errors import BookingError, ErrorCode

from .basis_selectors import bases_for_resident
from .models import Booking, BookingBasis, InboxMessage, WaitlistEntry, WaitlistOffer
from .selectors import bookings_for_resident, inbox_for_resident
from .waitlist_selectors import waitlist_entries_for_resident, waitlist_offers_open_for_resident


def acting_bookings(*, acting: Acting, now: dt.datetime | None = None) -> QuerySet[Booking]:
    bookings = bookings_for_resident(resident=acting.patient, now=now)
    return bookings if acting.clinic_ids is None else bookings.filter(clinic_id__in=acting.clinic_ids)


def acting_booking(*, acting: Acting, booking_id: int, now: dt.datetime | None = None) -> Booking:
    """One booking the actor may see for the patient; anything else is "not found" (R-ACL-2)."""
    booking = acting_bookings(acting=acting, now=now).filter(pk=booking_id).first()
    if booking is None:
        raise BookingError(ErrorCode.NOT_FOUND)
    return booking


def acting_inbox(*, acting: Acting) -> QuerySet[InboxMessage]:
    """The patient's messages; an attorney with chosen clinics sees those clinics' messages and the
    ones about the power of attorney itself (no clinic)."""
    inbox = inbox_for_resident(resident=acting.patient)
    if acting.clinic_ids is None:
        return inbox
    return inbox.filter(clinic_id__in=acting.clinic_ids) | inbox.filter(clinic__isnull=True)


def acting_unread_count(*, acting: Acting) -> int:
    return acting_inbox(acting=acting).filter(read_at__isnull=True).count()


def acting_bases(*, acting: Acting) -> list[BookingBasis]:
    """The patient's usable booking bases and open summons (the start page's "Boka tid"), at the
    clinics the actor may act for them at."""
    return [basis for basis in bases_for_resident(resident=acting.patient) if acting.covers(basis.clinic_id)]


def acting_waitlist_entries(*, acting: Acting) -> QuerySet[WaitlistEntry]:
    entries = waitlist_entries_for_resident(resident=acting.patient)
    return entries if acting.clinic_ids is None else entries.filter(clinic_id__in=acting.clinic_ids)


def acting_waitlist_offers(*, acting: Acting) -> QuerySet[WaitlistOffer]:
    offers = waitlist_offers_open_for_resident(resident=acting.patient)
    return offers if acting.clinic_ids is None else offers.filter(entry__clinic_id__in=acting.clinic_ids)
