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

from typing import Any, cast

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
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
        row, self.loaded_user = _session_read(self.session_key)
        if row is None:
            self._session_key = None
        return row

    def save(self, must_create: bool = False) -> None:
        """Django's save; a change to an existing session (the idle clock, a flag the pages set)
        is one UPDATE in autocommit, written once, instead of the ORM's forced update inside a
        transaction of its own. Inside a transaction, and for a new session, Django's own way."""
        connection = connections[DEFAULT_DB_ALIAS]
        if must_create or self.session_key is None or connection.in_atomic_block:
            super().save(must_create=must_create)
            return
        # SessionBase's data, loaded if it was not yet; django-stubs leave the property out.
        row = self.create_model_instance(self._session)  # type: ignore[attr-defined]
        if not _session_write(connection, row):
            raise UpdateError  # the row is gone (logged out elsewhere, expired and cleared), as Django says

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        row = cast(UserSession, super().create_model_instance(data))
        row.user_id = _user_id(data)
        return row


class _SessionRead:
    """The one statement that reads a session with its user and the staff check, written once per
    database vendor: building it with the ORM on every request costs more than the database takes
    to answer it. The rows are made as the ORM makes them (``Model.from_db``, with the backend's
    converters), so the session and the user read here are the ones a queryset would give."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        quote = connection.ops.quote_name
        session_fields = UserSession._meta.concrete_fields
        user_fields = User._meta.concrete_fields
        session, user, membership = (
            quote(UserSession._meta.db_table),
            quote(User._meta.db_table),
            quote(Membership._meta.db_table),
        )

        def column(table: str, model: Any, name: str) -> str:
            return f"{table}.{quote(model._meta.get_field(name).column)}"

        session_user = column(session, UserSession, "user")
        columns = [column(session, UserSession, f.name) for f in session_fields]
        columns.append(
            f"EXISTS(SELECT 1 FROM {membership} WHERE {column(membership, Membership, 'user')} = {session_user})"
        )
        columns += [column(user, User, f.name) for f in user_fields]
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {session}"
            f" LEFT OUTER JOIN {user} ON ({session_user} = {column(user, User, User._meta.pk.name)})"
            f" WHERE {column(session, UserSession, 'session_key')} = %s"
            f" AND {column(session, UserSession, 'expire_date')} > %s"
        )
        self.session_names = [f.attname for f in session_fields]
        self.user_names = [f.attname for f in user_fields]
        self.staff_at = len(session_fields)
        self.user_pk_at = self.staff_at + 1 + self.user_names.index(User._meta.pk.attname)
        # (position, column, converters) for the values the backend converts (SQLite's dates and
        # booleans, say; none on PostgreSQL).
        self.converters: list[tuple[int, Any, list[Any]]] = []
        for position, field in enumerate([*session_fields, None, *user_fields]):
            if field is not None:
                col = field.get_col(field.model._meta.db_table)
                found = [*connection.ops.get_db_converters(col), *field.get_db_converters(connection)]
                if found:
                    self.converters.append((position, col, found))

    def __call__(
        self, connection: BaseDatabaseWrapper, session_key: str | None
    ) -> tuple[UserSession | None, User | None]:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [session_key, now])
            found = cursor.fetchone()
        if found is None:
            return None, None
        values = list(found)
        for position, col, converters in self.converters:
            for converter in converters:
                values[position] = converter(values[position], col, connection)
        row = UserSession.from_db(connection.alias, self.session_names, values[: self.staff_at])
        if values[self.user_pk_at] is None:  # no user column, or it points at nobody
            return row, None
        user = User.from_db(connection.alias, self.user_names, values[self.staff_at + 1 :])
        setattr(user, STAFF_MEMBER_AT_LOAD, bool(values[self.staff_at]))
        row.user = user
        return row, user


_reads: dict[str, _SessionRead] = {}
_writes: dict[str, str] = {}


def _session_write(connection: BaseDatabaseWrapper, row: UserSession) -> bool:
    """Write ``row``'s data, expiry and user over its session's row; whether there was one."""
    sql = _writes.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        meta = UserSession._meta
        columns = {f.name: quote(cast(str, f.column)) for f in meta.concrete_fields}
        sql = _writes[connection.vendor] = (
            f"UPDATE {quote(meta.db_table)} SET {columns['session_data']} = %s, {columns['expire_date']} = %s,"
            f" {columns['user']} = %s WHERE {columns['session_key']} = %s"
        )
    expire = connection.ops.adapt_datetimefield_value(row.expire_date)
    with connection.cursor() as cursor:
        cursor.execute(sql, [row.session_data, expire, row.user_id, row.session_key])
        return cursor.rowcount > 0


def _session_read(session_key: str | None) -> tuple[UserSession | None, User | None]:
    connection = connections[DEFAULT_DB_ALIAS]
    read = _reads.get(connection.vendor)
    if read is None:
        read = _reads[connection.vendor] = _SessionRead(connection)
    return read(connection, session_key)


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
