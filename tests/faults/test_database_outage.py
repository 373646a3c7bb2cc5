"""R-OPS-4: when PostgreSQL goes away, gunicorn answers 503 with Retry-After, and comes back by itself.

The outages are real and local to the test: the app is pointed at a TCP proxy in front of the
test database, and stopping the proxy cuts the app's connections and makes the port refuse new
ones (a stopped or restarting server); ``pg_terminate_backend`` kills the app's backend while a
request waits on a lock the test holds (a failover mid-request). The same gunicorn process, never
restarted, answers 200 again afterwards. Persistent connections (``DB_CONN_MAX_AGE``) are on, as
in production, so a connection that died between requests must be noticed by the health check.
"""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from clinics.models import Clinic

from .procs import database_url, wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]

PAGE = "/"
API = "/api/v1/clinics/"
SWEDISH = "Tjänsten är tillfälligt otillgänglig"
ENGLISH = "Sorry, the service is unavailable"


def _through(proxy) -> str:
    return database_url({**connection.settings_dict, "HOST": "127.0.0.1", "PORT": proxy.port})


def _assert_unavailable_page(answer, *, text: str) -> None:
    status, headers, body = answer
    html = body.decode()
    assert status == 503, html[:2000]
    assert int(headers["Retry-After"]) > 0
    assert headers["Content-Type"].startswith("text/html")
    assert text in html
    # The site's own layout, not Django's bare "Server Error (500)".
    assert 'class="site-header"' in html and "Tidbok" in html


def _assert_unavailable_problem(answer, *, detail_starts: str = "Tjänsten") -> None:
    status, headers, body = answer
    assert status == 503, body[:2000]
    assert int(headers["Retry-After"]) > 0
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 503 and problem["code"] == "SERVICE_UNAVAILABLE"
    assert problem["detail"].startswith(detail_starts)


def _assert_serving(server, clinic: Clinic) -> None:
    status, _, body = server.get(PAGE)
    assert status == 200 and clinic.name in body.decode()
    status, _, body = server.get(API)
    assert status == 200 and clinic.name in {row["name"] for row in json.loads(body)}


@pytest.fixture
def server_behind_proxy(web_server, postgres_proxy, clinic):
    return web_server(redis_url=settings.REDIS_URL, database=_through(postgres_proxy), DB_CONN_MAX_AGE="60")


def test_refused_database_gives_503_pages_and_problems_then_recovers(server_behind_proxy, postgres_proxy, clinic):
    server = server_behind_proxy
    _assert_serving(server, clinic)

    postgres_proxy.stop()
    _assert_unavailable_page(server.get(PAGE), text=SWEDISH)
    _assert_unavailable_page(server.get(PAGE, headers={"Cookie": "django_language=en"}), text=ENGLISH)
    # A session cookie: the database is first needed by a middleware (the user), not the view.
    _assert_unavailable_page(
        server.get(PAGE, headers={"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}), text=SWEDISH
    )
    _assert_unavailable_problem(server.get(API))
    _assert_unavailable_problem(server.get(API, headers={"Cookie": "django_language=en"}), detail_starts="The service")
    assert "Internal Server Error" not in server.output

    postgres_proxy.start()
    _assert_serving(server, clinic)


def test_connection_lost_between_requests_is_replaced_without_an_error(server_behind_proxy, postgres_proxy, clinic):
    """A PostgreSQL restart while nobody is asking: the kept connection is dead, and the next
    request must not be the one that finds out."""
    server = server_behind_proxy
    _assert_serving(server, clinic)
    postgres_proxy.stop()
    postgres_proxy.start()
    _assert_serving(server, clinic)


def test_connections_terminated_between_requests_are_replaced(web_server, clinic):
    server = web_server(redis_url=settings.REDIS_URL, DB_CONN_MAX_AGE="60")
    _assert_serving(server, clinic)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1
    _assert_serving(server, clinic)


def _dsn() -> str:
    return database_url(connection.settings_dict)


@pytest.mark.parametrize("path", [PAGE, API])
def test_backend_terminated_mid_request_gives_503_then_recovers(web_server, clinic, path):
    server = web_server(redis_url=settings.REDIS_URL, DB_CONN_MAX_AGE="60")
    _assert_serving(server, clinic)

    answers = []
    with psycopg.connect(_dsn()) as locker:
        # The request's query waits on this lock: it is mid-request when its backend is killed.
        locker.execute(f"LOCK TABLE {Clinic._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        request = threading.Thread(target=lambda: answers.append(server.get(path, timeout=30)))
        request.start()

        def waiting_backend():
            row = locker.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchone()
            return row and row[0]

        pid = wait_until(waiting_backend, timeout=30, what="the request to wait on the lock")
        terminated = locker.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()
        assert terminated is not None and terminated[0]
        locker.rollback()
    request.join(timeout=30)

    if path == API:
        _assert_unavailable_problem(answers[0])
    else:
        _assert_unavailable_page(answers[0], text=SWEDISH)
    _assert_serving(server, clinic)
