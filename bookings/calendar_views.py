"""The resident's calendar page and the private calendar feed that calendar apps poll (R-NOTE-5)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.throttling import SimpleRateThrottle

from accounts.decorators import resident_required
from accounts.http import AuthenticatedHttpRequest
from accounts.lockout import too_many_attempts

from . import ics
from .selectors import (
    calendar_feed_bookings,
    calendar_feed_for_resident,
    calendar_feed_for_token,
    calendar_feed_language,
    calendar_feed_token_hash,
)
from .services import calendar_feed_create, calendar_feed_revoke
from .video import meeting_urls_for_calendar


class CalendarFeedThrottle(SimpleRateThrottle):
    """Polls of one feed address: calendar apps ask every few minutes at most. Counted in the
    cache like the API's throttles, keyed on the token's hash (the token itself is never written
    anywhere); with Redis down the count is lost and the feed is served (fail open, R-OPS-1)."""

    scope = "calendar_feed"

    def __init__(self, *, token_hash: str) -> None:
        self.token_hash = token_hash
        super().__init__()

    def get_rate(self) -> str | None:
        return settings.TIDBOK_RATE_LIMITS[self.scope]

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.token_hash}


def _feed_address(request: HttpRequest, token: str) -> str:
    # webcal:// makes the browser hand the address to the calendar app, which subscribes to it.
    https = request.build_absolute_uri(reverse("bookings:calendar_feed", args=[token]))
    return "webcal://" + https.split("://", 1)[1]


@resident_required
@require_http_methods(["GET", "POST"])
def calendar_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Make, remake or turn off the private calendar address. A new address is shown on the answer
    to the POST that made it and never again: only its hash is kept. Acting for someone else, it is
    their address (R-GUARD-2, R-POA-1), and it works only while one may still act for them."""
    address = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "revoke":
            if calendar_feed_revoke(resident=request.patient):
                messages.success(
                    request, _("Your calendar address is turned off. Calendars that used it get no more updates.")
                )
            return redirect("bookings:calendar")
        if action != "create":
            return redirect("bookings:calendar")
        address = _feed_address(request, calendar_feed_create(resident=request.patient, created_by=request.user))
    feed = calendar_feed_for_resident(resident=request.patient)
    return render(request, "bookings/calendar.html", {"feed": feed, "address": address})


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed: no login, the token in the address is the only secret. An unknown, malformed or
    turned-off token is "not found", whichever it is."""
    throttle = CalendarFeedThrottle(token_hash=calendar_feed_token_hash(token))
    # The stubs ask for DRF's Request and view; allow_request reads neither, only get_cache_key above.
    if not throttle.allow_request(request, None):  # type: ignore[arg-type]
        refused = too_many_attempts(request=request, retry_after=max(1, int(throttle.wait() or 1)))
        # Django logs every 4xx with its path; this path holds a working token, so it is left out.
        refused._has_been_logged = True  # type: ignore[attr-defined]
        return refused
    feed = calendar_feed_for_token(token=token)
    if feed is None:
        raise Http404
    with override(calendar_feed_language(feed=feed)):
        bookings = list(calendar_feed_bookings(feed=feed))
        body = ics.bookings_feed_ics(
            bookings, name=_("My booked times (Tidbok)"), meeting_urls=meeting_urls_for_calendar(bookings=bookings)
        )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="tidbok.ics"'
    # A shared cache must never keep one resident's bookings; the answer is always fresh.
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
