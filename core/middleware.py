import math
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import ngettext


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Swedish unless the visitor chose English with the language switch. The browser's
    Accept-Language is not consulted: a Swedish e-service speaks Swedish by default."""

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class RetryAfterMiddleware:
    """Every 429 says when to come back (allauth's login limits do not set the header)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 429 and not response.has_header("Retry-After"):
            response["Retry-After"] = "60"
        return response


# Paths whose answers may carry personal data even to a caller the middleware sees as anonymous:
# API and FHIR callers authenticate with a bearer token inside the view.
_PERSONAL_PREFIXES = ("/api/", "/fhir/")


class NoStoreMiddleware:
    """R-SEC-5: nothing that may carry personal data is kept by a browser or a shared cache.

    Every answer to a signed-in user and every API/FHIR answer gets ``Cache-Control: no-store``
    (pages, JSON, the ``.ics`` file), unless the view said ``public`` itself: a statement that the
    answer is the same for everyone (the FHIR bulk-publish files). Anonymous pages and static
    files keep their own caching."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        personal = (user is not None and user.is_authenticated) or request.path.startswith(_PERSONAL_PREFIXES)
        if personal and "public" not in response.get("Cache-Control", ""):
            response["Cache-Control"] = "no-store"
        return response


# The session key holding the time (epoch seconds) of the session's last request.
LAST_ACTIVITY_KEY = "tidbok_last_activity"


def session_idle_seconds(user) -> int:
    """How long a signed-in session of ``user`` may sit unused (residents and staff differ)."""
    if getattr(user, "is_resident", False):
        return settings.TIDBOK_SESSION_IDLE_SECONDS
    return settings.TIDBOK_STAFF_SESSION_IDLE_SECONDS


def session_passive(view):
    """Mark a view whose requests do not count as activity (the page's own session check)."""
    view.session_passive = True
    return view


class SessionTimedRequest(HttpRequest):
    """A request SessionIdleTimeoutMiddleware has seen: it sets these for the page's warning script."""

    session_seconds_left: int
    session_warning_seconds: int


class SessionIdleTimeoutMiddleware:
    """R-SEC-5: a signed-in session ends after ``TIDBOK_SESSION_IDLE_SECONDS`` (residents) or
    ``TIDBOK_STAFF_SESSION_IDLE_SECONDS`` (staff) without a request.

    The last request's time is kept in the session and checked before every request, so the
    server ends the session with or without the page's warning script (static/js/session-timeout.js).
    The time is written at most every minute (a tenth of the limit when that is shorter), not on
    every request, to spare the session store; the store's own expiry follows a minute later as a
    backstop that also clears sessions nobody comes back to."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and time.time() - last >= session_idle_seconds(user):
                self._end(request, user)
        response = self.get_response(request)
        # The request that logged in. A bearer-token API request is authenticated too, but has no
        # signed-in session and must not get one.
        if SESSION_KEY in request.session and LAST_ACTIVITY_KEY not in request.session:
            session_touch(request, request.user, force=True)
        return response

    def process_view(self, request: SessionTimedRequest, view_func, view_args, view_kwargs) -> None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not getattr(view_func, "session_passive", False):
            session_touch(request, user)
        # What the page's warning script counts down from (templates/session_timeout.html).
        request.session_seconds_left = session_seconds_left(request)
        if request.session_seconds_left:
            idle = session_idle_seconds(request.user)
            request.session_warning_seconds = min(settings.TIDBOK_SESSION_WARNING_SECONDS, idle // 2)

    @staticmethod
    def _end(request: HttpRequest, user) -> None:
        minutes = max(1, session_idle_seconds(user) // 60)
        logout(request)
        if not request.path.startswith(_PERSONAL_PREFIXES):
            messages.info(
                request,
                ngettext(
                    "You were logged out because you did nothing for %(minutes)d minute.",
                    "You were logged out because you did nothing for %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
            )


def session_touch(request: HttpRequest, user, *, force: bool = False) -> None:
    """Count a request as activity: restart the idle clock (and the session store's expiry)."""
    idle = session_idle_seconds(user)
    now = time.time()
    last = request.session.get(LAST_ACTIVITY_KEY)
    if force or last is None or now - last >= min(60, idle / 10):
        request.session[LAST_ACTIVITY_KEY] = now
        request.session.set_expiry(idle + 60)


def session_seconds_left(request: HttpRequest) -> int:
    """Seconds until the signed-in session ends unless it is used again (0 when signed out)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    last = request.session.get(LAST_ACTIVITY_KEY, time.time())
    return max(0, math.ceil(last + session_idle_seconds(user) - time.time()))
