"""What a resident and the staff see of the waitlist and its offers (R-WAIT-1, R-WAIT-3)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_record

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
