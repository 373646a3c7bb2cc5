"""R-SEC-4: throttles key on the real client. X-Forwarded-For is written by whoever sends the
request, so it is believed only as far as TIDBOK_TRUSTED_PROXIES of the operator's own proxies
go; by default the client is REMOTE_ADDR. The same rule keys the API's booking throttle and the
staff login limits of the pages."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.adapter import get_adapter
from django.test import Client, RequestFactory

from core.client_address import client_address

from ..factories import ResidentFactory, SlotFactory

PROXY = "10.0.0.5"


def _hold(slot, *, remote_addr: str, forwarded_for: str | None) -> int:
    """One resident (a new one each time, so only the per-address limit can bite) holds a time."""
    extra: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    client = Client(REMOTE_ADDR=remote_addr, **extra)
    client.force_login(ResidentFactory())
    free = SlotFactory(appointment_type=slot.appointment_type, resource=slot.resource)
    return client.post("/api/v1/holds/", {"slot": free.pk}, content_type="application/json").status_code


@pytest.fixture
def two_per_address(settings):
    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "booking_address": "2/min"}


def test_made_up_forwarded_for_headers_share_the_peers_bucket_by_default(two_per_address, slot):
    answers = [
        _hold(slot, remote_addr="198.51.100.7", forwarded_for=header)
        for header in ("203.0.113.1", "203.0.113.2", "203.0.113.3, 203.0.113.4")
    ]

    assert answers == [201, 201, 429]


def test_behind_one_trusted_proxy_the_right_most_address_is_the_client(two_per_address, settings, slot):
    settings.TIDBOK_TRUSTED_PROXIES = 1
    # Whatever a client writes on the left, the proxy appends the address it saw on the right.
    first = [
        _hold(slot, remote_addr=PROXY, forwarded_for=f"{spoofed}, 203.0.113.9")
        for spoofed in ("1.1.1.1", "2.2.2.2", "3.3.3.3")
    ]
    other_client = _hold(slot, remote_addr=PROXY, forwarded_for="1.1.1.1, 203.0.113.10")

    assert first == [201, 201, 429]
    assert other_client == 201  # one proxy, many clients: each has its own bucket


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "expected"),
    [
        (0, None, "198.51.100.7"),
        (0, "203.0.113.1", "198.51.100.7"),
        (1, None, "198.51.100.7"),
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "6.6.6.6, 203.0.113.1", "203.0.113.1"),
        (1, " 6.6.6.6 ,203.0.113.1 ", "203.0.113.1"),
        (2, "6.6.6.6, 203.0.113.1, 10.0.0.9", "203.0.113.1"),
        (3, "203.0.113.1, 10.0.0.9", "203.0.113.1"),  # fewer hops than proxies: the oldest one
        (1, "6.6.6.6, not-an-address", "198.51.100.7"),
        (1, "6.6.6.6, 2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(settings, trusted, forwarded_for, expected):
    settings.TIDBOK_TRUSTED_PROXIES = trusted
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", **extra)

    assert client_address(request) == expected


@pytest.mark.parametrize(("trusted", "expected"), [(0, "198.51.100.7"), (1, "203.0.113.1")])
def test_staff_login_limits_key_on_the_same_address(settings, trusted, expected):
    settings.TIDBOK_TRUSTED_PROXIES = trusted
    request = RequestFactory().post(
        "/accounts/login/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.1"
    )

    assert get_adapter(request).get_client_ip(request) == expected
