"""The public service's own pages, linked from every page's footer: contact and help, personal data, cookies and
the accessibility statement that the Swedish law on accessible digital public services (2018:1937) requires.

What differs between regions (who runs the service, whom to call, where to report) comes from settings, so a
region changes the environment, not the templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _operator() -> dict[str, Any]:
    return {
        "operator_name": settings.TIDBOK_OPERATOR_NAME,
        "contact_phone": settings.TIDBOK_CONTACT_PHONE,
        "contact_email": settings.TIDBOK_CONTACT_EMAIL,
        "privacy_email": settings.TIDBOK_PRIVACY_EMAIL,
        "accessibility_email": settings.TIDBOK_ACCESSIBILITY_EMAIL,
        "accessibility_reviewed": dt.date.fromisoformat(settings.TIDBOK_ACCESSIBILITY_REVIEWED),
        "log_retention_days": settings.TIDBOK_LOG_RETENTION_DAYS,
        "audit_retention_years": settings.TIDBOK_AUDIT_RETENTION_DAYS // 365,
        "idle_minutes": settings.TIDBOK_SESSION_IDLE_SECONDS // 60,
    }


def contact(request: HttpRequest) -> HttpResponse:
    return render(request, "info/contact.html", _operator())


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "info/privacy.html", _operator())


def cookies(request: HttpRequest) -> HttpResponse:
    return render(request, "info/cookies.html", _operator())


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "info/accessibility.html", _operator())
