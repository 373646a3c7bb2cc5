"""When the database is away: 503 with Retry-After, and back to normal by itself (R-OPS-4).

A PostgreSQL restart, a failover or a terminated backend shows in Django as an
``OperationalError``/``InterfaceError`` from wherever the next query happens: a view, the session
or the user lookup in a middleware, a context processor. Answering that with a bare 500 tells the
resident something is broken; the truth is "busy, come back in a moment". So:

* :class:`DatabaseUnavailableMiddleware` turns a lost database in a view into 503 at once;
* :func:`core.views.server_error` (``handler500``) does the same for one raised anywhere else
  (it still sees the exception being handled);
* both answer problem+json under ``/api/`` and the project's 503 page elsewhere, rendered
  without context processors or the session, which would need the database themselves.

Recovery needs nothing from here: Django closes a connection that failed at the end of the
request, and ``CONN_HEALTH_CHECKS`` checks a kept connection before a request reuses it, so
the first request after PostgreSQL is back opens a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Long enough for a PostgreSQL restart or failover, short enough that a resident retries.
RETRY_AFTER_SECONDS = 10

# SQLSTATEs of a server that went away or will not take connections: admin_shutdown (what
# pg_terminate_backend and a fast shutdown send), crash_shutdown, cannot_connect_now (starting
# up or in recovery), too_many_connections. Class 08 is every connection exception.
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}


def is_database_unavailable(exc: BaseException | None) -> bool:
    """True for an error that means "the database cannot be reached right now", not a bug:
    a refused or dropped connection, a server shutting down, a busy SQLite file."""
    if isinstance(exc, InterfaceError):
        return True  # Django's "connection already closed"
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if cause is not None and type(cause).__module__.startswith("psycopg"):
        # No SQLSTATE: the client library lost or never got the connection.
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
    # SQLite (the development default): another process holds the write lock past the timeout.
    return "database is locked" in str(exc)


def chosen_language(request: HttpRequest) -> str:
    """The visitor's language from the cookie, as ChosenLanguageMiddleware reads it (that
    middleware may not have run when the error happened)."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def problem_response(status: int, code: str, title: str, detail: str) -> JsonResponse:
    body = {
        "type": f"https://tidbok.se/problem/{code.lower()}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    return JsonResponse(body, status=status, content_type="application/problem+json")


def render_standalone(request: HttpRequest, template_name: str, status: int) -> HttpResponse:
    """A page in the site's layout that needs neither the database nor the session: no context
    processors (they look up the user), only what the layout needs from the request."""
    with translation.override(chosen_language(request)):
        context = {"request": request, "csrf_token": get_token(request)}
        content = loader.get_template(template_name).render(context)
    response = HttpResponse(content, status=status)
    response["Cache-Control"] = "no-store"
    return response


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: problem+json on the API, the 503 page in the chosen language elsewhere."""
    if is_api(request):
        with translation.override(chosen_language(request)):
            detail = _("The service is temporarily unavailable. Try again in a moment.")
        response: HttpResponse = problem_response(503, "SERVICE_UNAVAILABLE", "Service unavailable", detail)
        response["Cache-Control"] = "no-store"
    else:
        response = render_standalone(request, "503.html", 503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Answers a view that lost its database with 503 instead of 500 (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        # One line, no traceback: an outage makes many of these, the cause is in PostgreSQL's log.
        logger.warning("Database unavailable, answered 503: %s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)
