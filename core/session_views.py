"""The signed-in session's clock, for the page's idle warning (R-SEC-5, static/js/session-timeout.js)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from .middleware import session_passive, session_seconds_left, session_touch


@require_GET
@session_passive
def session_status(request: HttpRequest) -> JsonResponse:
    """Seconds left before the session ends. Asking does not count as activity, so a page left
    open does not keep itself signed in; another tab's activity shows here."""
    return JsonResponse({"seconds_left": session_seconds_left(request)})


@require_POST
def session_keep_alive(request: HttpRequest) -> JsonResponse:
    """ "Stay logged in": restart the idle clock now."""
    if not request.user.is_authenticated:
        return JsonResponse({"seconds_left": 0}, status=401)
    session_touch(request, request.user, force=True)
    return JsonResponse({"seconds_left": session_seconds_left(request)})
