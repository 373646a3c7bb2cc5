"""Reads of notifications for support and for the DEBUG outbox page."""

from __future__ import annotations

from django.db.models import QuerySet

from clinics.models import Clinic

from .models import Notification, NotificationState


def failed_for_clinic(*, clinic: Clinic) -> QuerySet[Notification]:
    """R-NOTE-3: the messages about this clinic's bookings that did not get through, newest first."""
    return (
        Notification.objects.filter(event__clinic=clinic, state=NotificationState.FAILED)
        .select_related("event__booking")
        .order_by("-created_at")
    )


def masked_address(notification: Notification) -> str:
    """Enough for support to recognise an address with the resident, not to read it out:
    ``a…@exempel.se``, ``+46 70… …67``."""
    to = notification.to
    if "@" in to:
        name, domain = to.split("@", 1)
        return f"{name[:1]}…@{domain}"
    return f"{to[:5]}… …{to[-2:]}"
