"""The project's own 400, 403, 404, 500 and 503 pages in its layout, problem+json under /api/ (R-OPS-4).

500 and 503 are rendered without the database: no context processor, no session, no user."""

from __future__ import annotations

import json
from typing import cast

import psycopg
import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory
from django.urls import include, path
from django.utils.functional import SimpleLazyObject

from accounts.models import User
from core import views

pytestmark = pytest.mark.django_db


def _fail() -> None:
    raise RuntimeError("a bug")


def _lost_database() -> None:
    try:
        raise psycopg.OperationalError("connection failed: Connection refused")
    except psycopg.OperationalError as exc:
        raise OperationalError(str(exc)) from exc


def _cancelled_query() -> None:
    """An OperationalError that is not an outage (a statement timeout): still a 500."""
    try:
        raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    except psycopg.OperationalError as exc:
        raise OperationalError(str(exc)) from exc


def _raising(fault):
    def view(request):
        fault()

    return view


# This module is also the URLconf of the tests marked with it: views that fail in known ways.
urlpatterns = [
    path("bug/", _raising(_fail)),
    path("api/bug/", _raising(_fail)),
    path("lost/", _raising(_lost_database)),
    path("api/lost/", _raising(_lost_database)),
    path("cancelled/", _raising(_cancelled_query)),
    path("", include("tidbok.urls")),  # the layout links to the real pages
]
handler500 = "core.views.server_error"
with_failing_views = pytest.mark.urls(__name__)


def _in_layout(response) -> str:
    html = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert 'class="site-header"' in html and 'id="main"' in html
    return html


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == status and body["code"] == code
    return body


@pytest.fixture
def failing_client(client):
    client.raise_request_exception = False
    return client


def test_404_page_in_layout_in_the_chosen_language(client):
    response = client.get("/finns-inte/")
    assert response.status_code == 404
    assert "Sidan kunde inte hittas" in _in_layout(response)
    client.cookies["django_language"] = "en"
    assert "Page not found" in _in_layout(client.get("/finns-inte/"))


def test_404_on_the_api_is_a_problem(client):
    body = _problem(client.get("/api/v1/finns-inte/"), 404, "NOT_FOUND")
    assert body["detail"] == "Resursen finns inte."


def test_403_page_in_layout(client, resident):
    client.force_login(resident)
    response = client.get("/personal/")
    assert response.status_code == 403
    html = _in_layout(response)
    assert "Du har inte behörighet till den här sidan" in html
    assert "Logga ut" in html  # the resident's own navigation, unlike on the 500 and 503 pages


def test_400_page_and_problem(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "Förfrågan kunde inte tolkas" in _in_layout(response)
    _problem(client.get("/api/v1/clinics/", HTTP_HOST="evil.example"), 400, "INVALID_INPUT")


def test_csrf_failure_page_in_layout(client):
    client.handler.enforce_csrf_checks = True
    response = client.post("/i18n/setlang/", {"language": "en"})
    assert response.status_code == 403
    assert "Formuläret kunde inte skickas" in _in_layout(response)


@with_failing_views
def test_500_page_in_layout_and_problem_on_the_api(failing_client):
    response = failing_client.get("/bug/")
    assert response.status_code == 500
    assert "Det har uppstått ett fel i tjänsten" in _in_layout(response)
    assert "Server Error (500)" not in response.content.decode()
    _problem(failing_client.get("/api/bug/"), 500, "SERVER_ERROR")


@with_failing_views
def test_lost_database_is_503_with_retry_after(failing_client):
    response = failing_client.get("/lost/")
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert "Tjänsten är tillfälligt otillgänglig" in _in_layout(response)
    failing_client.cookies["django_language"] = "en"
    response = failing_client.get("/api/lost/")
    body = _problem(response, 503, "SERVICE_UNAVAILABLE")
    assert int(response["Retry-After"]) > 0
    assert body["detail"] == "The service is temporarily unavailable. Try again in a moment."


@with_failing_views
def test_an_operational_error_that_is_not_an_outage_stays_a_500(failing_client):
    assert failing_client.get("/cancelled/").status_code == 500


def _no_database(execute, sql, params, many, context):
    raise AssertionError(f"the error page queried the database: {sql}")


def _untouchable_user():
    raise AssertionError("the error page looked up the user")


@pytest.mark.parametrize("fault", [_fail, _lost_database])
def test_500_and_503_pages_render_without_database_or_user(fault):
    request = RequestFactory().get("/boka/")
    # The lazy user AuthenticationMiddleware puts on a request, typed as the user it stands for.
    request.user = cast(User, SimpleLazyObject(_untouchable_user))
    with connection.execute_wrapper(_no_database):
        try:
            fault()
        except Exception:
            response = views.server_error(request)
    assert response.status_code in (500, 503)
    assert 'class="site-header"' in response.content.decode()
