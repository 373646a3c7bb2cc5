"""Structured logs (JSON, python-json-logger) with a request id, and the request metrics.

Every request gets an id: the one the front proxy sent in ``X-Request-ID`` (nginx passes the
client's or makes its own, deploy/nginx/) when it looks like an id, otherwise a new one. It is
on every log line written while the request is served and in the answer's ``X-Request-ID``, so a
resident's "it said something went wrong" can be found in the logs of whichever node served it.

A personnummer is never logged (as never in a URL, R-SEC-2): the formatter blanks anything shaped like one in the
finished line, message, arguments and traceback alike, whatever code wrote it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter

from core import metrics

logger = logging.getLogger("tidbok.request")

REQUEST_ID_HEADER = "X-Request-ID"
# nginx's $request_id is 32 hex digits; a client's own id is kept when it is as harmless.
_GOOD_ID = re.compile(r"[A-Za-z0-9._-]{8,64}", re.ASCII)
# 8 or 6 digits of birth date, an optional - or +, 4 digits: every written form of a
# personnummer or samordningsnummer, standing alone (not a part of a longer number or of an id
# such as a request id's hex digits).
PERSONNUMMER_SHAPE = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{2})?[0-9]{6}[-+]?[0-9]{4}(?![0-9A-Za-z])", re.ASCII)
REDACTED = "[personnummer]"

_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Puts the request id on every record (``-`` outside a request: a worker, a command)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line, with any personnummer-shaped number blanked."""

    def format(self, record: logging.LogRecord) -> str:
        return PERSONNUMMER_SHAPE.sub(REDACTED, super().format(record))


class RequestLogMiddleware:
    """First in the stack, so even an answer the overload shedding gives at once is timed and
    carries its id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = sent if _GOOD_ID.fullmatch(sent) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        began = time.perf_counter()
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - began
            # The route's pattern, never the path: bounded label values, and no id from a URL.
            match = request.resolver_match
            route = match.route if match is not None else "unmatched"
            method, status = request.method or "", response.status_code
            metrics.observe_request(route=route, method=method, status=status, seconds=seconds)
            response[REQUEST_ID_HEADER] = request_id
            logger.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={"route": route, "status": status, "duration_ms": round(seconds * 1000, 1)},
            )
            return response
        finally:
            _request_id.reset(token)
