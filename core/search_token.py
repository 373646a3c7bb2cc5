"""Opaque, short-lived search tokens kept in the server-side session (R-SEC-3).

A staff search by personnummer is posted, its values are kept in the session under a random
token, and the browser is redirected to a URL that names only the token (``?sok=…``). Paging,
exporting and reloading then refer to the token, so a personnummer never lands in a URL, an
access log or the browser's history. A token is only valid in the session that made it, for the
page (scope) that made it, and for :data:`SEARCH_TOKEN_TTL` after its last use.
"""

from __future__ import annotations

import secrets
import time

from django.http import HttpRequest

SESSION_KEY = "tidbok_search_tokens"
SEARCH_TOKEN_TTL = 30 * 60  # seconds since the search was last used
# A session keeps only its newest searches; an old tab's token then reads as expired.
MAX_SEARCHES_PER_SESSION = 20
# The query parameter that carries the token.
SEARCH_TOKEN_PARAM = "sok"


def _live(stored: dict, now: float) -> dict:
    return {token: entry for token, entry in stored.items() if entry.get("expires", 0) > now}


def search_token_store(*, request: HttpRequest, scope: str, data: dict[str, str]) -> str:
    """Keep ``data`` (form values as strings) in the session; returns the token that names it."""
    now = time.time()
    stored = _live(request.session.get(SESSION_KEY, {}), now)
    newest = sorted(stored.items(), key=lambda item: item[1]["expires"])[-(MAX_SEARCHES_PER_SESSION - 1) :]
    stored = dict(newest)
    token = secrets.token_urlsafe(16)
    stored[token] = {"scope": scope, "data": dict(data), "expires": now + SEARCH_TOKEN_TTL}
    request.session[SESSION_KEY] = stored
    return token


def search_token_load(*, request: HttpRequest, scope: str, token: str | None) -> dict[str, str] | None:
    """The values kept under ``token`` for this scope, or None when unknown, expired or another
    page's. Using a token keeps it alive for another :data:`SEARCH_TOKEN_TTL`."""
    if not token or not hasattr(request, "session"):
        return None
    now = time.time()
    stored = request.session.get(SESSION_KEY, {})
    entry = stored.get(token) if isinstance(stored, dict) else None
    if not isinstance(entry, dict) or entry.get("scope") != scope or entry.get("expires", 0) <= now:
        return None
    entry["expires"] = now + SEARCH_TOKEN_TTL
    request.session[SESSION_KEY] = _live(stored, now)
    return dict(entry["data"])
