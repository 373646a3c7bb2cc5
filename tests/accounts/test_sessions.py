"""The session, its user and the staff check in one query (accounts.sessions, R-SEC-2, R-SEC-5):
nothing is kept between requests, so a logged-out, ended or expired session is gone at once,
and a new or removed membership, a changed password or a deactivated account counts from the
very next request."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session as DjangoSession
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role, UserSession
from accounts.services import user_sessions_end
from accounts.sessions import STAFF_MEMBER_AT_LOAD, SessionStore

from ..factories import UserFactory, login_with_second_factor

pytestmark = pytest.mark.django_db

BOOKINGS = "/api/v1/bookings/"


def _code(answer) -> str:
    return answer.json().get("code", "")


def test_a_signed_in_request_reads_its_session_user_and_staff_check_in_one_query(resident_client):
    resident_client.get(BOOKINGS)

    with CaptureQueriesContext(connection) as captured:
        assert resident_client.get("/healthz/").status_code == 200

    statements = [q["sql"] for q in captured.captured_queries]
    session_reads = [s for s in statements if "accounts_session" in s]
    assert len(session_reads) == 1
    assert '"accounts_user"' in session_reads[0] and '"accounts_membership"' in session_reads[0]
    others = [s for s in statements if "accounts_session" not in s]
    assert not [s for s in others if '"accounts_user"' in s or '"accounts_membership"' in s]


def test_the_session_and_user_read_with_it_are_the_ones_the_database_holds(client, clinic):
    """The session's statement is written by hand: what it reads must be what the ORM reads."""
    user = UserFactory(last_login=timezone.now() - dt.timedelta(days=2))
    Membership.objects.create(user=user, role=Role.SCHEDULER, clinic=clinic)
    client.force_login(user)
    key = client.session.session_key

    store = SessionStore(session_key=key)
    assert store.load()[SESSION_KEY] == str(user.pk)

    loaded, orms = store.loaded_user, UserSession.objects.select_related("user").get(session_key=key).user
    assert loaded is not None and orms is not None
    assert getattr(loaded, STAFF_MEMBER_AT_LOAD) is True
    fields = type(user)._meta.concrete_fields
    assert [getattr(loaded, f.attname) for f in fields] == [getattr(orms, f.attname) for f in fields]
    assert not loaded._state.adding and loaded._state.db == orms._state.db
    assert SessionStore(session_key="no-such-session-key-at-all-00000").load() == {}


@pytest.mark.django_db(transaction=True)
def test_a_changed_session_is_written_with_one_statement_and_keeps_its_user_and_expiry(resident):
    """Outside a transaction (as a request's answer saves it) a change is one UPDATE."""
    client = Client()
    client.force_login(resident)
    store = SessionStore(session_key=client.session.session_key)
    store["flag"] = True
    store.set_expiry(600)

    with CaptureQueriesContext(connection) as captured:
        store.save()

    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["UPDATE"]
    row = UserSession.objects.get(session_key=store.session_key)
    assert row.user_id == resident.pk
    assert abs((row.expire_date - timezone.now()).total_seconds() - 600) < 60
    assert SessionStore(session_key=store.session_key).load()["flag"] is True


@pytest.mark.django_db(transaction=True)
def test_saving_a_session_whose_row_is_gone_says_so_as_django_does(resident):
    client = Client()
    client.force_login(resident)
    store = SessionStore(session_key=client.session.session_key)
    store["flag"] = True
    UserSession.objects.all().delete()  # logged out everywhere meanwhile

    with pytest.raises(UpdateError):
        store.save()
    assert not UserSession.objects.exists()


def test_the_session_row_carries_its_user(resident_client, resident):
    row = UserSession.objects.get(session_key=resident_client.session.session_key)
    assert row.user_id == resident.pk


def test_a_logged_out_session_does_not_come_back(resident_client):
    key = resident_client.cookies["sessionid"].value
    assert resident_client.get(BOOKINGS).status_code == 200
    resident_client.post("/accounts/logout/")

    resident_client.cookies["sessionid"] = key  # the old cookie, sent again

    assert resident_client.get(BOOKINGS).status_code in (401, 403)
    assert not UserSession.objects.filter(session_key=key).exists()


def test_a_session_ended_everywhere_is_signed_out_at_the_next_request(resident_client, resident):
    assert resident_client.get(BOOKINGS).status_code == 200

    assert user_sessions_end(user=resident) == 1

    assert resident_client.get(BOOKINGS).status_code in (401, 403)


def test_an_expired_session_is_signed_out(resident_client):
    UserSession.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    assert resident_client.get(BOOKINGS).status_code in (401, 403)


def test_a_changed_password_or_a_deactivated_account_counts_at_the_next_request(client, resident, other_resident):
    client.force_login(resident)
    assert client.get(BOOKINGS).status_code == 200
    resident.set_password("a-new-secret-password")
    resident.save()
    assert client.get(BOOKINGS).status_code in (401, 403)

    client.force_login(other_resident)
    assert client.get(BOOKINGS).status_code == 200
    type(other_resident).objects.filter(pk=other_resident.pk).update(is_active=False)
    assert client.get(BOOKINGS).status_code in (401, 403)


def test_a_membership_given_or_taken_counts_at_the_next_request(client, clinic):
    """R-SEC-2: a user who becomes staff must pass a second factor from the next request on; one
    whose last membership went is no longer asked for it."""
    user = UserFactory()
    client.force_login(user)
    assert _code(client.get(BOOKINGS)) != "SECOND_FACTOR_REQUIRED"

    membership = Membership.objects.create(user=user, role=Role.SCHEDULER, clinic=clinic)
    assert _code(client.get(BOOKINGS)) == "SECOND_FACTOR_REQUIRED"

    membership.delete()
    assert _code(client.get(BOOKINGS)) != "SECOND_FACTOR_REQUIRED"


def test_a_session_without_its_user_column_still_signs_in_the_way_django_does(client, resident):
    """A row written before the column (or by hand) has no user: Django's own reading applies."""
    client.force_login(resident)
    UserSession.objects.update(user=None)

    assert client.get(BOOKINGS).status_code == 200


def test_the_sessions_open_at_the_upgrade_move_over_with_their_user(resident):
    """The migration's carry-over: an open session in Django's table, with its user; an expired one stays behind."""
    migration = __import__("accounts.migrations.0007_user_session", fromlist=["sessions_carry_over"])
    old = DjangoSessionStore()
    data = old.encode({SESSION_KEY: str(resident.pk)})
    soon, gone = timezone.now() + dt.timedelta(hours=1), timezone.now() - dt.timedelta(hours=1)
    DjangoSession.objects.create(session_key="open" + "x" * 28, session_data=data, expire_date=soon)
    DjangoSession.objects.create(session_key="expired" + "x" * 25, session_data=data, expire_date=gone)

    migration.sessions_carry_over(apps, None)

    moved = UserSession.objects.get(session_key="open" + "x" * 28)
    assert moved.user_id == resident.pk and moved.expire_date == soon
    assert SessionStore(session_key=moved.session_key).load()[SESSION_KEY] == str(resident.pk)
    assert not UserSession.objects.filter(session_key="expired" + "x" * 25).exists()


def test_the_admin_lists_when_sessions_end_but_never_their_keys_or_people(client, admin_user, resident):
    """A session's key would sign its holder in (R-SEC-1): the admin shows only expiry times."""
    other = Client()
    other.force_login(resident)
    key = other.cookies["sessionid"].value
    admin_client = login_with_second_factor(client, admin_user)

    page = admin_client.get(reverse("admin:accounts_usersession_changelist"))

    assert page.status_code == 200
    body = page.content.decode()
    assert key not in body and resident.last_name not in body
    assert admin_client.get(reverse("admin:accounts_usersession_change", args=[key])).status_code in (302, 403, 404)
