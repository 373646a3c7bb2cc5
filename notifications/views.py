"""The DEBUG-only page of what would have been sent (R-NOTE-4): under ``make run`` e-mails and text
messages go to the worker's console; this page shows the latest ones rendered, for a newcomer
who does not read the worker's log. 404 unless DEBUG: it shows residents' messages to anyone."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Notification
from .render import render as render_notification

SHOWN = 30


def dev_outbox(request: HttpRequest) -> HttpResponse:
    if not settings.DEBUG:
        raise Http404
    notifications = Notification.objects.select_related(
        "event__clinic", "event__booking__appointment_type", "event__booking__clinic"
    ).order_by("-created_at")[:SHOWN]
    rows = [(n, render_notification(n.event, language=n.language)) for n in notifications]
    page = render(request, "notifications/dev_outbox.html", {"rows": rows})
    page["Cache-Control"] = "no-store"
    return page
