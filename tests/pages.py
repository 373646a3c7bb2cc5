"""Helpers for tests that drive the resident pages through the Django test client."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from clinics.models import (
    CaseKind,
)
from core.errors import DEFAULT_MESSAGES, ErrorCode
from schedules.models import Hold, Slot

from .factories import (
    SlotFactory,
)


def found(pattern: str, string: str, flags: int = 0) -> re.Match[str]:
    """The first match of ``pattern`` in ``string``; the test fails, showing the pattern, if there is none."""
    match = re.search(pattern, string, flags)
    assert match is not None, f"{pattern!r} not found"
    return match


def text(response) -> str:
    return html.unescape(response.content.decode())


def sv(message) -> str:
    """A message as the Swedish (default) site shows it, whatever the catalogue holds today."""
    with translation.override("sv"):
        return str(message)


def sv_gettext(msgid: str) -> str:
    with translation.override("sv"):
        return gettext(msgid)


def error_message(code: ErrorCode) -> str:
    return sv(DEFAULT_MESSAGES[code])


def make_slot(appointment_type, resource, start: dt.datetime, minutes: int = 20) -> Slot:
    return SlotFactory(
        appointment_type=appointment_type,
        resource=resource,
        start=start,
        end=start + dt.timedelta(minutes=minutes),
    )


def in_hours(hours: float) -> dt.datetime:
    return (timezone.now() + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)


def login_url(next_path: str) -> str:
    return f"{reverse('resident_login')}?{urlencode({'next': next_path}, safe='/')}"


def slot_inputs(content: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'name="slot" value="(\d+)"', content)}


def accept_conditions(client, clinic, kind: CaseKind = CaseKind.BOOK) -> None:
    session = client.session
    session[f"conditions_{kind}_{clinic.pk}"] = True
    session.save()


def hold_via_client(client, slot, **extra) -> Hold:
    # The flow shows the conditions text first (R-CASE-1): BOOK's, or MANAGE's when rebooking.
    accept_conditions(client, slot.clinic, CaseKind.MANAGE if "rebook" in extra else CaseKind.BOOK)
    response = client.post(reverse("bookings:hold"), {"slot": slot.pk, "back": "/", **extra})
    assert response.status_code == 302, response
    match = re.fullmatch(r"/boka/bekrafta/(\d+)/", response.url)
    assert match, response.url
    return Hold.objects.get(pk=int(match[1]))


def unread_badge(content: str) -> str | None:
    match = re.search(r'<span class="badge">([^<]*)</span>', content)
    return match[1] if match else None
