"""Shared API pieces: problem-details errors and the resident permission.

Every refusal leaves the API in one JSON shape (RFC 9457 problem details) carrying the same
stable code the pages use, so an app can branch on ``code`` and show ``detail`` as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions, status
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from .cache import FailOpenRedisCache
from .client_address import client_address
from .errors import DomainError, ErrorCode

STATUS_FOR_CODE: dict[ErrorCode, int] = {
    ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED: status.HTTP_409_CONFLICT,
    ErrorCode.USER_IS_ALREADY_OCCUPIED: status.HTTP_409_CONFLICT,
    ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED: status.HTTP_409_CONFLICT,
    ErrorCode.HOLD_EXPIRED: status.HTTP_409_CONFLICT,
    ErrorCode.ONE_BOOKING_AT_A_TIME: status.HTTP_409_CONFLICT,
    ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT: status.HTTP_403_FORBIDDEN,
    ErrorCode.APPOINTMENT_IS_NOT_ALLOWED: status.HTTP_403_FORBIDDEN,
    ErrorCode.BOOKING_BASIS_REQUIRED: status.HTTP_403_FORBIDDEN,
    ErrorCode.PERMISSION_DENIED: status.HTTP_403_FORBIDDEN,
    ErrorCode.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.INVALID_INPUT: status.HTTP_400_BAD_REQUEST,
}

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem(status_code: int, code: str, detail: Any, errors: dict | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"https://tidbok.se/problem/{code.lower()}",
        "title": code.replace("_", " ").capitalize(),
        "status": status_code,
        "code": code,
        "detail": str(detail),
    }
    if errors:
        body["errors"] = {field: [str(m) for m in messages] for field, messages in errors.items()}
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {field: [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])] for field, msgs in detail.items()}
    return {"non_field_errors": [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    # Not at the top: DRF's views import this module's throttles (DEFAULT_THROTTLE_CLASSES) as
    # they load, so this module must load without them.
    from rest_framework.views import exception_handler

    if isinstance(exc, DomainError):
        return problem(STATUS_FOR_CODE[exc.code], exc.code, exc.message, exc.field_errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return problem(response.status_code, ErrorCode.INVALID_INPUT, _first_message(exc.detail), _flatten(exc.detail))
    code = {
        status.HTTP_401_UNAUTHORIZED: "NOT_AUTHENTICATED",
        status.HTTP_403_FORBIDDEN: ErrorCode.PERMISSION_DENIED,
        status.HTTP_404_NOT_FOUND: ErrorCode.NOT_FOUND,
        status.HTTP_429_TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
        status.HTTP_503_SERVICE_UNAVAILABLE: "SERVICE_BUSY",
    }.get(response.status_code, "ERROR")
    problem_response = problem(response.status_code, str(code), getattr(exc, "detail", exc))
    for header in ("Retry-After", "WWW-Authenticate", "Allow"):
        if header in response:
            problem_response[header] = response[header]
    return problem_response


def _first_message(detail: Any) -> str:
    flat = _flatten(detail)
    for messages in flat.values():
        if messages:
            return messages[0]
    return "Invalid input."


class IsResident(permissions.BasePermission):
    """Resident endpoints: a logged-in resident, identified by personnummer (R-ACL-2)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_resident)


if TYPE_CHECKING:
    # The mixins below sit in front of DRF's rate throttles (see BookingUserThrottle).
    _ThrottleBase = SimpleRateThrottle
else:
    _ThrottleBase = object


class _SharedWindowThrottle(_ThrottleBase):
    """DRF's sliding window, counted on the Redis server in one round trip (a script that trims,
    checks and extends the window at once, ``FailOpenRedisCache.rate_window``) instead of a read
    and a write of the whole window from every node, which could also both take the last place.
    The same limits, the same wait (Retry-After), and with Redis away every request is admitted
    (fail open, R-OPS-1). A cache that is not Redis (development) counts the way DRF does."""

    num_requests: int  # set by DRF's __init__ from the rate
    duration: int
    _window: tuple[int, float] | None = None  # (requests in it, the oldest's time), when counted on Redis

    def allow_request(self, request, view) -> bool:
        cache = caches[DEFAULT_CACHE_ALIAS] if self.cache is default_cache else self.cache
        if not isinstance(cache, FailOpenRedisCache):
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        # Not DRF's key: that one holds a pickled list, this one a Redis list.
        admitted, count, oldest = cache.rate_window(
            f"{self.key}:window", limit=self.num_requests, duration=self.duration, now=self.now
        )
        self._window = (count, oldest)
        return admitted

    def wait(self) -> float | None:
        if self._window is None:
            return super().wait()
        # DRF's own arithmetic, on the window the script saw.
        count, oldest = self._window
        remaining = self.duration - (self.now - oldest) if count else self.duration
        available = self.num_requests - count + 1
        return remaining / float(available) if available > 0 else None


class _PostThrottle(_SharedWindowThrottle):
    """Counts only the requests that book or change something; reads its rate from settings at
    request time so operators (and tests) can change it without a restart of the class."""

    scope = ""

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        return settings.TIDBOK_RATE_LIMITS[self.scope]


class _ClientAddressIdent:
    """Key anonymous and per-address buckets on the real client, never on a header the client
    wrote itself (R-SEC-4, core.client_address)."""

    def get_ident(self, request) -> str:
        return client_address(request)


class BookingUserThrottle(_PostThrottle, _ClientAddressIdent, UserRateThrottle):
    """Per resident: a person does not book, hold or cancel dozens of times a minute."""

    scope = "booking_user"


class BookingAddressThrottle(_PostThrottle, _ClientAddressIdent, AnonRateThrottle):
    """Per client address, whoever is logged in: caps one machine scripting many accounts."""

    scope = "booking_address"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class Overloaded(exceptions.Throttled):
    """The site is taking bookings as fast as it can serve them: come back in a moment."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("Many people are booking right now. Try again in a few seconds.")
    default_code = "service_busy"


class BookingSiteThrottle(_PostThrottle, SimpleRateThrottle):
    """An operator's cap on new bookings, holds and rebookings across the whole site (off unless
    RATE_LIMIT_BOOKING_SITE is set, e.g. to protect a downstream system): past it they are
    turned away at once with 503 and Retry-After; cancellations are never counted."""

    scope = "booking_site"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": "site"}

    def allow_request(self, request, view) -> bool:
        if super().allow_request(request, view):
            return True
        raise Overloaded(wait=self.wait())


# New bookings, holds and rebookings: the per-resident and per-address limits, and the site's.
BOOKING_THROTTLES = [BookingUserThrottle, BookingAddressThrottle, BookingSiteThrottle]
