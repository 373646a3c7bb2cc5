"""Overload: while connections queue in front of the workers, new bookings, holds and
rebookings are turned away at once with 503 and Retry-After (core.overload); reads and
cancellations are still served, and nothing is half-written."""

from __future__ import annotations

import os
import socket

import pytest
from django.test import Client
from django.urls import reverse

from bookings.models import Booking, BookingStatus
from bookings.services import booking_create
from core import overload
from schedules.models import Hold

from ..factories import SlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    clients: list[socket.socket] = []
    yield server, clients
    for client in clients:
        client.close()
    server.close()


def test_the_accept_queue_length_is_read_from_the_listening_socket(listener):
    server, clients = listener
    for _ in range(3):
        client = socket.create_connection(server.getsockname())
        clients.append(client)

    assert overload.accept_queue_length(server) == 3
    accepted, _address = server.accept()
    accepted.close()
    assert overload.accept_queue_length(server) == 2


def test_the_process_listening_sockets_are_found(listener):
    server, _clients = listener
    overload._listeners.cache_clear()
    try:
        ports = {s.getsockname()[1] for s in overload._listeners()}
    finally:
        overload._listeners.cache_clear()
    assert server.getsockname()[1] in ports


@pytest.mark.parametrize(
    ("queue", "draw", "expected"),
    [(0, 0.99, True), (256, 0.99, True), (512, 0.49, True), (512, 0.5, False), (1024, 0.24, True), (1024, 0.3, False)],
)
def test_past_the_limit_only_the_share_the_queue_absorbs_is_admitted(queue, draw, expected):
    assert overload.admitted(queue, 256, draw) is expected


@pytest.fixture
def queue_is_long(monkeypatch, settings):
    """A long queue, and the coin that admits the share limit / queue comes up against us."""
    monkeypatch.setattr(overload, "queued", lambda: settings.TIDBOK_SHED_QUEUE + 1)
    monkeypatch.setattr(overload, "_draw", lambda: 0.999999)


@pytest.fixture
def resident_client(resident):
    client = Client()
    client.force_login(resident)
    return client


def test_api_bookings_and_holds_get_503_with_retry_after_while_the_queue_is_long(
    queue_is_long, resident_client, slot, clinic, appointment_type
):
    booking = resident_client.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json")
    held = resident_client.post("/api/v1/holds/", {"slot": slot.pk}, content_type="application/json")

    for response in (booking, held):
        assert response.status_code == 503
        assert response["Retry-After"] == "2"
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "SERVICE_BUSY"
        assert response.json()["detail"] == "Många bokar just nu. Försök igen om några sekunder."
    assert not Booking.objects.exists() and not Hold.objects.exists()
    # Reading is still served.
    free = resident_client.get(f"/api/v1/clinics/{clinic.pk}/free-times/", {"type": appointment_type.pk})
    assert free.status_code == 200 and [row["id"] for row in free.json()] == [slot.pk]


def test_the_booking_page_answers_with_a_503_page_in_the_chosen_language(queue_is_long, resident_client, slot):
    swedish = resident_client.post(reverse("bookings:hold"), {"slot": slot.pk, "back": "/"})
    resident_client.cookies["django_language"] = "en"
    english = resident_client.post(reverse("bookings:hold"), {"slot": slot.pk, "back": "/"})

    assert swedish.status_code == english.status_code == 503
    assert swedish["Retry-After"] == "2"
    assert "Många bokar just nu" in swedish.content.decode()
    assert "Many people are booking right now" in english.content.decode()
    assert not Hold.objects.exists()


def test_cancellations_are_served_while_bookings_are_turned_away(
    queue_is_long, resident_client, resident, slot, django_capture_on_commit_callbacks
):
    booking = booking_create(resident=resident, slot_id=slot.pk)

    response = resident_client.post(f"/api/v1/bookings/{booking.pk}/cancel/")

    assert response.status_code == 204
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


def test_nothing_is_turned_away_while_the_queue_is_short(monkeypatch, resident_client, slot, settings):
    monkeypatch.setattr(overload, "queued", lambda: settings.TIDBOK_SHED_QUEUE)

    response = resident_client.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json")

    assert response.status_code == 201


def test_outside_gunicorn_nothing_is_queued_and_nothing_is_shed(appointment_type, resident_client):
    """The test client has no listening socket of its own to look at beyond ones tests open."""
    overload._listeners.cache_clear()
    try:
        assert overload.queued() == 0
        other = SlotFactory(appointment_type=appointment_type)
        response = resident_client.post("/api/v1/bookings/", {"slot": other.pk}, content_type="application/json")
    finally:
        overload._listeners.cache_clear()
    assert response.status_code == 201


def test_looking_for_listeners_leaves_no_copy_of_other_descriptors():
    # A leaked copy of a pipe's write end keeps its reader from ever seeing end-of-file (the
    # Playwright driver's stdin, for one: the browser tests then hang when the driver should exit).
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)  # a copy left open fails the read below instead of blocking it
    overload._listeners.cache_clear()
    try:
        for listener in overload._listeners():
            listener.close()
        os.close(write_end)
        assert os.read(read_end, 1) == b""  # end-of-file: no copy of the write end is left open
    finally:
        overload._listeners.cache_clear()
        os.close(read_end)


def test_each_listening_socket_is_found_once():
    # A number in the descriptor listing can be one of the search's own copies by the time it is
    # reached: counted again, the queue would look twice as long and bookings shed at half of it.
    server = socket.create_server(("127.0.0.1", 0))
    overload._listeners.cache_clear()
    try:
        found = overload._listeners()
        try:
            assert [s.getsockname() for s in found].count(server.getsockname()) == 1
        finally:
            for listener in found:
                listener.close()
    finally:
        overload._listeners.cache_clear()
        server.close()
