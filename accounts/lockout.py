"""Staff password lockout that nobody can turn against a colleague (R-SEC-5).

allauth counts failed passwords per address and per account. Counted per account alone, anyone
anywhere could lock a colleague out by typing their e-mail with wrong passwords five times.
Here an account's failures count per address: the guesser locks only themselves out, while the
per-address limit still stops one address from trying many accounts. A refused attempt is
answered ``429 Too Many Requests`` with ``Retry-After`` (when the oldest counted failure
expires), not a form error, as the README promises.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.internal import ratelimit
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

ACTION = "login_failed"
APP = "allauth.account"


def login_failed_key(*, request: HttpRequest, account_key: str) -> str:
    """The per-account counter's key: the client's address and the account together."""
    return f"{ratelimit.get_ip(request)}|{account_key}"


def retry_after_seconds(*, request: HttpRequest, key: str) -> int:
    """Seconds until the next attempt from this address for this account would be counted
    again: when the oldest failure of a full window leaves it (at least 1)."""
    now = time.time()
    wait = 1.0
    for rate in ratelimit.get_rates(app=APP, action=ACTION):
        cache_key = ratelimit.get_cache_key(request, app=APP, action=ACTION, rate=rate, key=key)
        history = [ts for ts in cache.get(cache_key, []) if ts > now - rate.duration]
        if len(history) >= rate.amount:
            wait = max(wait, min(history) + rate.duration - now)
    return math.ceil(wait)


def too_many_attempts(*, request: HttpRequest, retry_after: int) -> HttpResponse:
    response = render(request, "429.html", {"retry_after_minutes": math.ceil(retry_after / 60)}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


if TYPE_CHECKING:
    # The mixin's super() is allauth's account adapter (see accounts.adapters.AccountAdapter).
    from allauth.account.adapter import DefaultAccountAdapter as _AdapterBase
else:
    _AdapterBase = object


class PerAddressLockoutMixin(_AdapterBase):
    """For the allauth account adapter: failed-password counters keyed on address + account,
    and a 429 with Retry-After when one is full."""

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        account_key = super()._get_login_attempts_cache_key(request, **credentials)
        return login_failed_key(request=request, account_key=account_key)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            key = self._get_login_attempts_cache_key(request, **credentials)
            retry_after = retry_after_seconds(request=request, key=key)
            raise ImmediateHttpResponse(too_many_attempts(request=request, retry_after=retry_after)) from None
