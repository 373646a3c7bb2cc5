"""The address of the client a request came from, for limits keyed on it (R-SEC-4).

``X-Forwarded-For`` is written by whoever sends the request, so it is believed only as far as
the operator's own proxies go: with ``TIDBOK_TRUSTED_PROXIES = 0`` (the default) the address is
the TCP peer, ``REMOTE_ADDR``; with N trusted proxies it is the N-th address from the right of
``X-Forwarded-For`` — the right-most one no trusted proxy wrote itself. The same rule serves the
API's throttles (DRF's ``NUM_PROXIES`` is set from the same setting) and the login limits of
the pages (allauth's adapter), so no client gets a fresh bucket by sending a made-up header.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    remote_addr = request.META.get("REMOTE_ADDR", "") or ""
    trusted = settings.TIDBOK_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted <= 0 or not forwarded:
        return remote_addr
    chain = [address.strip() for address in forwarded.split(",")]
    # Fewer entries than trusted proxies: the request skipped a proxy; the left-most entry is
    # then the oldest hop anyone reported, as DRF's own NUM_PROXIES rule takes it.
    chosen = chain[-min(trusted, len(chain))]
    try:
        return str(ipaddress.ip_address(chosen))
    except ValueError:
        # Not an address (a misconfigured proxy): the peer, rather than a key anyone can vary.
        return remote_addr
