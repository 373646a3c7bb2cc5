"""Helpers for tests that drive the clinic workspace pages through the Django test client."""

from __future__ import annotations

import datetime as dt
import html

from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from schedules.selectors import LOCAL_TZ, iso_week

from .factories import (
    login_with_second_factor,
)

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def text(response) -> str:
    return html.unescape(response.content.decode())


def sv(msgid: str) -> str:
    """A source string as the Swedish (default) site shows it, whatever the catalogue holds today."""
    with translation.override("sv"):
        return gettext(msgid)


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def login(client, user):
    TOTP.activate(user, TOTP_SECRET)
    login_with_second_factor(client, user)
    return client


def ws_url(clinic, name: str, query: str = "", **kwargs) -> str:
    return reverse(f"workspace:{name}", kwargs={"clinic_id": clinic.pk, **kwargs}) + (f"?{query}" if query else "")


def week_of(moment: dt.datetime) -> str:
    return iso_week(timezone.localtime(moment, LOCAL_TZ).date())


def schedule_form(resource, appointment_type, /, **overrides) -> dict:
    start = timezone.localdate() + dt.timedelta(days=1)
    data = {
        "resource": resource.pk,
        "appointment_type": appointment_type.pk,
        "weekdays": ["1", "2", "3", "4", "5", "6", "7"],
        "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=1)).isoformat(),
        "day_start": "08:00",
        "day_end": "10:00",
        "slot_minutes": "30",
    }
    data.update(overrides)
    return data
