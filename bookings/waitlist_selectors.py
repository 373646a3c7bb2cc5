"""What a resident and the staff see of the waitlist and its offers (R-WAIT-1, R-WAIT-3)."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User

from .models import OfferState, WaitlistEntry, WaitlistOffer, WaitlistStatus


def waitlist_entries_for_resident(*, resident: User) -> QuerySet[WaitlistEntry]:
    """The resident's own waiting entries (R-WAIT-1, R-ACL-2); a type hidden for patients is not
    shown (R-TYPE-2)."""
    return (
        WaitlistEntry.objects.filter(resident=resident, status=WaitlistStatus.WAITING)
        .exclude(appointment_type__hidden_for_patient=True)
        .select_related("clinic", "appointment_type")
        .order_by("created_at", "pk")
    )


def waitlist_offers_open_for_resident(*, resident: User, now: dt.datetime | None = None) -> QuerySet[WaitlistOffer]:
    """Offers the resident can still answer (not run out by the server's clock)."""
    now = now or timezone.now()
    return (
        WaitlistOffer.objects.filter(entry__resident=resident, state=OfferState.ACTIVE, expires_at__gt=now)
        .select_related("slot__clinic", "slot__appointment_type", "slot__resource")
        .order_by("expires_at")
    )


def waitlist_offer_for_resident(*, resident: User, token: str) -> WaitlistOffer | None:
    """An offer by its link's token, only for the resident it was made to (R-ACL-2)."""
    return (
        WaitlistOffer.objects.filter(token=token, entry__resident=resident)
        .select_related("slot__clinic", "slot__appointment_type", "slot__resource", "booking")
        .first()
    )
