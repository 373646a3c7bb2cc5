"""Turning new bookings away while requests queue in front of the workers.

Under gunicorn's sync workers a rush does not show inside the application: each worker serves
one request, and the rest wait in the listening socket's accept queue until the client gives
up. The kernel knows that queue's length (``TCP_INFO`` on a listening socket reports it as
``tcpi_unacked``), so every request can look at it for the price of one system call. When more
than ``TIDBOK_SHED_QUEUE`` connections are waiting, views marked with :func:`shed_when_queued`
(making a booking, a hold or a rebooking) admit only the share the queue can absorb
(limit / queued) and answer the rest 503 with Retry-After at once, before any session or
database work. Bookings go on at what the workers can do, the queue stops growing, and reads
and cancellations keep being served.
"""

from __future__ import annotations

import os
import random
import socket
import stat
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core import metrics

# struct tcp_info: eight one-byte fields, then rto, ato, snd_mss, rcv_mss, unacked (u32 each).
_UNACKED_OFFSET = 8 + 4 * 4
RETRY_AFTER_SECONDS = 2

View = TypeVar("View", bound=Callable[..., Any])


def shed_when_queued(view: View) -> View:
    """Mark a view (function or class) whose POSTs are turned away while the queue is long."""
    # A marker on the function or class itself; mypy knows of no attributes on a Callable.
    view.shed_when_queued = True  # type: ignore[attr-defined]
    return view


def accept_queue_length(listener: socket.socket) -> int:
    """Connections waiting to be accepted on a listening TCP socket (Linux)."""
    info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return int.from_bytes(info[_UNACKED_OFFSET : _UNACKED_OFFSET + 4], "little")


@cache
def _listeners() -> tuple[socket.socket, ...]:
    """The process's listening TCP sockets: gunicorn's workers inherit the server's. None under
    the development server or the test client, where nothing is shed."""
    found: list[socket.socket] = []
    ours: set[int] = set()
    names = os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []
    for name in names:
        # The listing was taken before any copy was made, so a number in it may by now be one of
        # our own copies (a freed number is reused at once): counting it would count a listener
        # twice and shed bookings at half the queue. Only sockets are copied at all, so no copy
        # of a pipe or file keeps it open (a pipe's reader would never see end-of-file).
        try:
            fd = int(name)
            if fd in ours or not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            candidate = socket.socket(fileno=os.dup(fd))
        except (OSError, ValueError):
            continue
        ours.add(candidate.fileno())
        try:
            listening = candidate.type == socket.SOCK_STREAM and candidate.family in (socket.AF_INET, socket.AF_INET6)
            if listening and candidate.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                found.append(candidate)
                continue
        except OSError:
            pass
        candidate.close()
    return tuple(found)


def admitted(queue: int, limit: int, draw: float) -> bool:
    """Admit everything up to ``limit`` waiting connections, then the share limit / queue:
    with ``draw`` uniform in [0, 1), a long queue turns most bookings away, never all."""
    return queue <= limit or draw < limit / queue


def _draw() -> float:
    return random.random()


def queued() -> int:
    try:
        return sum(accept_queue_length(listener) for listener in _listeners())
    except OSError:
        return 0


def _busy(request: HttpRequest) -> HttpResponse:
    metrics.count("tidbok_shed_requests")
    if not request.path.startswith("/api/"):
        response = render(request, "busy.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    code = "SERVICE_BUSY"
    body = {
        "type": f"https://tidbok.se/problem/{code.lower()}",
        "title": "Service busy",
        "status": 503,
        "code": code,
        "detail": _("Many people are booking right now. Try again in a few seconds."),
    }
    response = JsonResponse(body, status=503, content_type="application/problem+json")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ShedWhenQueuedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], *args: Any) -> HttpResponse | None:
        if request.method != "POST":
            return None
        view = getattr(view_func, "view_class", view_func)  # class-based views keep their class here
        if getattr(view, "shed_when_queued", False) and not admitted(queued(), settings.TIDBOK_SHED_QUEUE, _draw()):
            return _busy(request)
        return None
