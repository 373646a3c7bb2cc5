"""Operable: liveness and readiness probes, Prometheus metrics that only the monitoring network
sees, and JSON logs with a request id that never carry a personnummer (R-SEC-2 keeps it out of
URLs; the same holds for log lines)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from core import metrics, overload
from core.outbox.models import OutboxMessage
from core.request_log import REDACTED, RedactingJsonFormatter, RequestIdFilter

from ..bookings.test_staff_api import login
from ..factories import SlotFactory, tomorrow_at

pytestmark = pytest.mark.django_db
BASE = Path(__file__).resolve().parents[2]
TOKEN = "metrics-test-token-0123456789"


def scrape(client) -> str:
    response = client.get("/metrics/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus's text format (0 when it is not there yet)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.split("{")[0] == name and found == labels:
            return float(value)
    return 0.0


@pytest.fixture
def metrics_token(settings):
    settings.TIDBOK_METRICS_TOKEN = TOKEN


# --- liveness and readiness -------------------------------------------------------------------


def test_liveness_and_readiness_answer_when_everything_is_there(client):
    assert client.get("/healthz/").status_code == 200
    ready = client.get("/readyz/")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert body["checks"] == {"database": "ok", "outbox_lag_seconds": 0.0, "redis": "ok"}


def test_not_ready_while_the_outbox_is_far_behind(client, settings):
    settings.TIDBOK_READY_OUTBOX_LAG_SECONDS = 300
    OutboxMessage.objects.create(name="x", available_at=timezone.now() - dt.timedelta(minutes=2))
    assert client.get("/readyz/").status_code == 200  # two minutes late: still ready

    OutboxMessage.objects.create(name="x", available_at=timezone.now() - dt.timedelta(hours=1))
    response = client.get("/readyz/")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["checks"]["outbox_lag_seconds"] >= 3600


def test_a_sent_or_not_yet_due_message_is_no_lag(client):
    now = timezone.now()
    OutboxMessage.objects.create(name="x", available_at=now - dt.timedelta(hours=2), sent_at=now)
    OutboxMessage.objects.create(name="x", available_at=now + dt.timedelta(hours=1))
    assert client.get("/readyz/").json()["checks"]["outbox_lag_seconds"] == 0.0


def test_not_ready_without_redis(client, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here once closed
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    metrics.redis_client.cache_clear()
    try:
        response = client.get("/readyz/")
    finally:
        metrics.redis_client.cache_clear()
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unavailable"


def test_not_ready_without_the_database(client, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def refuse(self, sql, params=None):
        raise OperationalError("the server closed the connection")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    response = client.get("/readyz/")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"


# --- the metrics endpoint is not public -------------------------------------------------------------


def test_metrics_are_not_served_without_a_configured_token(client, settings):
    settings.TIDBOK_METRICS_TOKEN = ""
    assert client.get("/metrics/").status_code == 404
    assert client.get("/metrics/", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_need_the_token(client, metrics_token, resident):
    assert client.get("/metrics/").status_code == 404
    assert client.get("/metrics/", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics/", HTTP_AUTHORIZATION=TOKEN).status_code == 404
    client.force_login(resident)  # a logged-in resident is no monitoring system
    assert client.get("/metrics/").status_code == 404
    assert client.post("/metrics/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    assert "tidbok_bookings_total" in scrape(client)


def test_the_public_proxy_never_passes_metrics_on():
    template = (BASE / "deploy" / "nginx" / "tidbok.conf.template").read_text()
    blocked = re.search(r"location \^~ /metrics \{\s*return 404;\s*\}", template)
    assert blocked is not None


# --- what is counted ------------------------------------------------------------------------------


def test_request_latency_is_recorded_by_route_pattern(client, metrics_token):
    labels = {"route": "healthz/", "method": "GET", "status": "200"}
    before = sample(scrape(client), "tidbok_http_request_duration_seconds_count", **labels)
    client.get("/healthz/")
    client.get("/healthz/")
    after = scrape(client)
    assert sample(after, "tidbok_http_request_duration_seconds_count", **labels) == before + 2
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    client.get("/no/such/page/12345/")
    assert sample(scrape(client), "tidbok_http_request_duration_seconds_count", **unmatched) >= 1
    # Routes are patterns, never paths (a sample's value may hold those digits by chance).
    assert not re.search(r'route="[^"]*(12345|no/such)', scrape(client))


def test_bookings_cancellations_and_holds_are_counted_by_channel(
    client, metrics_token, resident, appointment_type, resource, django_capture_on_commit_callbacks
):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10, days=3))
    held = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(11, days=3))
    before = scrape(client)
    client.force_login(resident)
    with django_capture_on_commit_callbacks(execute=True):
        booked = client.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json")
        assert booked.status_code == 201, booked.content
        cancelled = client.post(f"/api/v1/bookings/{booked.json()['id']}/cancel/")
        assert cancelled.status_code == 204, cancelled.content
        hold = client.post("/api/v1/holds/", {"slot": held.pk}, content_type="application/json")
        assert hold.status_code == 201, hold.content
    after = scrape(client)
    for name in ("tidbok_bookings_total", "tidbok_cancellations_total"):
        assert sample(after, name, channel="web") == sample(before, name, channel="web") + 1, name
        assert sample(after, name, channel="staff") == sample(before, name, channel="staff")
    assert sample(after, "tidbok_holds_total") == sample(before, "tidbok_holds_total") + 1


def test_a_booking_that_was_refused_is_not_counted(
    client, metrics_token, resident, other_resident, appointment_type, resource, django_capture_on_commit_callbacks
):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10, days=3))
    client.force_login(other_resident)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json").status_code == 201
    before = sample(scrape(client), "tidbok_bookings_total", channel="web")
    client.force_login(resident)
    with django_capture_on_commit_callbacks(execute=True):
        taken = client.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json")
    assert taken.status_code == 409
    assert sample(scrape(client), "tidbok_bookings_total", channel="web") == before


def test_shed_requests_are_counted(client, metrics_token, resident, slot, monkeypatch, settings):
    settings.TIDBOK_SHED_QUEUE = 10
    monkeypatch.setattr(overload, "queued", lambda: 10_000)
    monkeypatch.setattr(overload, "_draw", lambda: 0.99)
    before = sample(scrape(client), "tidbok_shed_requests_total")
    client.force_login(resident)
    shed = client.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json")
    assert shed.status_code == 503
    assert sample(scrape(client), "tidbok_shed_requests_total") == before + 1


def test_queue_depth_and_outbox_lag_are_gauges(client, metrics_token):
    OutboxMessage.objects.create(name="x", available_at=timezone.now() - dt.timedelta(seconds=90))
    text = scrape(client)
    assert sample(text, "tidbok_outbox_lag_seconds") >= 90
    assert re.search(r"^tidbok_celery_queue_depth \d", text, re.M)


# --- several gunicorn workers ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_scrape_adds_up_every_gunicorn_worker(tmp_path, transactional_db):
    """Under gunicorn with several workers each writes its own files (the client's multiprocess
    mode, tidbok/gunicorn_conf.py) and a scrape of any one of them counts the whole node."""
    port = _free_port()
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "TIDBOK_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "-c",
        "python:tidbok.gunicorn_conf",
        f"--bind=127.0.0.1:{port}",
        "--workers=3",
        "tidbok.wsgi:application",
    ]
    server = subprocess.Popen(command, cwd=BASE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        healthz = f"http://127.0.0.1:{port}/healthz/"
        while True:
            try:
                # Long enough that no request is given up on and answered after the first scrape.
                urllib.request.urlopen(healthz, timeout=30).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics/", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            before = response.read().decode()
        # Twelve at a time, each on its own connection: while one worker answers, others accept
        # (once they have started, which takes a moment on a busy machine).
        sent, pids = 0, set[str]()
        while len(pids) < 2 and time.monotonic() < deadline:
            with ThreadPoolExecutor(max_workers=12) as pool:
                list(pool.map(lambda _: urllib.request.urlopen(healthz, timeout=10).close(), range(24)))
            sent += 24
            pids = {p.name for p in (tmp_path / "metrics").glob("histogram_*.db")}
        with urllib.request.urlopen(request, timeout=5) as response:
            after = response.read().decode()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert len(pids) >= 2, pids  # the requests were served by more than one worker
    labels = {"route": "healthz/", "method": "GET", "status": "200"}
    counted = sample(after, "tidbok_http_request_duration_seconds_count", **labels)
    assert counted == sample(before, "tidbok_http_request_duration_seconds_count", **labels) + sent


# --- JSON logs with a request id, never a personnummer ------------------------------------------------


@pytest.fixture
def json_log():
    """Everything logged, at every level, through the production formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingJsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_the_production_logging_is_json_with_the_request_id():
    handlers = [h for h in logging.getLogger().handlers if isinstance(h.formatter, RedactingJsonFormatter)]
    assert handlers, "the root logger writes JSON"
    assert any(isinstance(f, RequestIdFilter) for h in handlers for f in h.filters)


def test_workers_and_beat_log_through_the_same_json_configuration():
    """Celery leaves the root logger to LOGGING instead of putting its plain-text handler there."""
    from tidbok.celery import app

    assert app.conf.worker_hijack_root_logger is False


def test_each_request_has_an_id_in_its_answer_and_its_log_lines(client, json_log):
    given = client.get("/healthz/", HTTP_X_REQUEST_ID="0123456789abcdef0123456789abcdef")
    assert given["X-Request-ID"] == "0123456789abcdef0123456789abcdef"
    made = client.get("/healthz/")
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    hostile = client.get("/healthz/", HTTP_X_REQUEST_ID="<script>\nforged log line")
    assert hostile["X-Request-ID"] != "<script>\nforged log line"
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    request_lines = [line for line in lines if line["name"] == "tidbok.request"]
    assert [line["request_id"] for line in request_lines] == [
        "0123456789abcdef0123456789abcdef",
        made["X-Request-ID"],
        hostile["X-Request-ID"],
    ]
    assert request_lines[0]["route"] == "healthz/" and request_lines[0]["status"] == 200


def test_no_personnummer_in_the_logs_of_a_booking_and_a_lookup(
    client, json_log, resident, scheduler, clinic, appointment_type, resource, django_capture_on_commit_callbacks
):
    """A booking, a staff lookup by personnummer (in the body) and code that logs one outright:
    the number appears in none of the lines, in any of its written forms."""
    from django.db import connection

    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10, days=3))
    number = resident.personnummer
    forms = {number, number[2:], f"{number[:8]}-{number[8:]}", f"{number[2:8]}-{number[8:]}"}
    connection.force_debug_cursor = True  # every SQL statement and its parameters logged too
    try:
        client.force_login(resident)
        with django_capture_on_commit_callbacks(execute=True):
            booked = client.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json")
        assert booked.status_code == 201, booked.content
        client.logout()
        login(client, scheduler)
        looked = client.post(
            f"/api/v1/staff/clinics/{clinic.pk}/residents/lookup/",
            {"personnummer": number},
            content_type="application/json",
        )
        assert looked.status_code == 200, looked.content
        logging.getLogger("tidbok.anything").warning("looked up %s", f"{number[:8]}-{number[8:]}")
    finally:
        connection.force_debug_cursor = False
    written = json_log.getvalue()
    assert "tidbok.request" in written and "looked up" in written  # the lines are there
    assert REDACTED in written
    for form in forms:
        assert form not in written, form


def test_other_numbers_are_left_alone():
    formatter = RedactingJsonFormatter("%(message)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "booking %s slot %s at %s", (1234567, 42, "10:20"), None)
    assert json.loads(formatter.format(record))["message"] == "booking 1234567 slot 42 at 10:20"
