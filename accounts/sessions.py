"""Sessions in the database, read with their user in one query (R-SEC-5).

Django's database sessions cost a request three queries before the view: the session, its user,
and (``RequireStaffMFAMiddleware``) whether that user is staff. Here the session row carries its
user's id (``UserSession.user``), so one query reads all three, at every request, from the
database: a session that was logged out, ended or expired is gone at once, and a new or removed
membership counts from the next request. Nothing is cached between requests, so there is nothing
a cache outage could bring back.

``SessionUserMiddleware`` (in place of Django's ``AuthenticationMiddleware``) takes the user
from that read and checks it exactly as :func:`django.contrib.auth.get_user` does: the backend
named in the session, the account active, the session's password hash. A session without a
user column (written before it existed) takes Django's own way.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from .models import Membership, User, UserSession

# Set on the user the session's query read: whether they had a membership at that moment.
STAFF_MEMBER_AT_LOAD = "_tidbok_staff_member_at_load"


def _user_id(data: dict[str, Any]) -> int | None:
    value = data.get(SESSION_KEY)
    return int(value) if isinstance(value, str | int) and str(value).isdigit() else None


class SessionStore(DatabaseSessionStore):
    """Django's database store on ``UserSession``: the row keeps its user's id, and loading it
    brings the user along (``loaded_user``)."""

    loaded_user: User | None = None

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def _get_session_from_db(self) -> UserSession | None:
        self.loaded_user = None
        try:
            row = (
                UserSession.objects.select_related("user")
                .annotate(staff_member=Exists(Membership.objects.filter(user_id=OuterRef("user_id"))))
                .get(session_key=self.session_key, expire_date__gt=timezone.now())
            )
        except (UserSession.DoesNotExist, SuspiciousOperation) as error:
            if isinstance(error, SuspiciousOperation):
                logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            self._session_key = None
            return None
        if row.user is not None:
            setattr(row.user, STAFF_MEMBER_AT_LOAD, row.staff_member)
            self.loaded_user = row.user
        return row

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        row = cast(UserSession, super().create_model_instance(data))
        row.user_id = _user_id(data)
        return row


def session_user(request: HttpRequest) -> Any:
    """The signed-in user of the request's session, or an anonymous one: Django's
    :func:`~django.contrib.auth.get_user`, with the user the session's own query read."""
    session = request.session
    user_id = session.get(SESSION_KEY)  # loads the session, and with it its user
    loaded = getattr(session, "loaded_user", None)
    backend_path = session.get(BACKEND_SESSION_KEY)
    if loaded is None or user_id is None or str(loaded.pk) != str(user_id) or backend_path is None:
        return auth.get_user(request)
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    backend = load_backend(backend_path)
    if not isinstance(backend, ModelBackend):
        return auth.get_user(request)
    if not backend.user_can_authenticate(loaded):
        return AnonymousUser()
    session_hash = session.get(HASH_SESSION_KEY)
    current = loaded.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, current):
        return loaded
    # As Django: a hash made with a retired SECRET_KEY (SECRET_KEY_FALLBACKS) is renewed, any
    # other mismatch (a changed password) ends the session.
    if session_hash and any(
        constant_time_compare(session_hash, fallback) for fallback in loaded.get_session_auth_fallback_hash()
    ):
        session.cycle_key()
        session[HASH_SESSION_KEY] = current
        return loaded
    session.flush()
    return AnonymousUser()


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's ``AuthenticationMiddleware``, taking the user from the session's own query."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _cached_session_user(request))  # type: ignore[assignment]


def _cached_session_user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        request._cached_user = session_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]
