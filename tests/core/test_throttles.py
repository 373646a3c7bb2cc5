"""The booking API's rate limits counted on Redis in one round trip (core.api, core.cache): DRF's
sliding window and wait, counted in one place for every node and atomically, failing open
(R-OPS-1). The API's 429s and 503s themselves are in tests/core/test_api.py."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from django.core.cache import caches

from core.api import BookingUserThrottle
from core.cache import FailOpenRedisCache

from ..faults.procs import free_port


def _node() -> FailOpenRedisCache:
    """A cache object of its own on the configured Redis, as another web process has."""
    cache = caches.create_connection("default")
    assert isinstance(cache, FailOpenRedisCache)
    return cache


def _answers(monkeypatch, times: list[float]) -> list[tuple[bool, float | None]]:
    """The per-resident throttle's answer at each of ``times`` (seconds): admitted, and the wait
    it gives when not."""
    clock = iter(times)
    monkeypatch.setattr(BookingUserThrottle, "timer", staticmethod(lambda: next(clock)))
    request = SimpleNamespace(method="POST", user=SimpleNamespace(is_authenticated=True, pk=4711))
    answers: list[tuple[bool, float | None]] = []
    for _ in times:
        throttle = BookingUserThrottle()
        admitted = throttle.allow_request(request, None)
        answers.append((admitted, None if admitted else throttle.wait()))
    return answers


TIMES = [1000.0, 1010.0, 1020.0, 1030.0, 1060.5, 1065.0, 1071.0, 1080.0, 1200.0]


def test_the_window_on_redis_admits_and_waits_exactly_as_drfs_own(settings, monkeypatch):
    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "booking_user": "2/min"}
    assert isinstance(caches["default"], FailOpenRedisCache)
    on_redis = _answers(monkeypatch, TIMES)

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    caches["default"].clear()
    drfs_own = _answers(monkeypatch, TIMES)

    assert on_redis == drfs_own
    assert on_redis[:5] == [(True, None), (True, None), (False, 40.0), (False, 30.0), (True, None)]


def test_every_node_counts_in_one_window_and_two_at_once_never_both_take_the_last_place():
    nodes = [_node() for _ in range(20)]
    start = threading.Barrier(len(nodes))
    admitted: list[bool] = []

    def ask(node: FailOpenRedisCache) -> None:
        start.wait()
        admitted.append(node.rate_window("throttle_test_shared", limit=5, duration=60, now=1000.0)[0])

    threads = [threading.Thread(target=ask, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert admitted.count(True) == 5
    assert _node().rate_window("throttle_test_shared", limit=5, duration=60, now=1001.0) == (False, 5, 1000.0)


@pytest.mark.django_db
def test_without_redis_every_request_is_admitted_and_the_outage_is_said_once(settings, monkeypatch, caplog):
    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "booking_user": "1/min"}
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

    assert _answers(monkeypatch, [1000.0, 1001.0, 1002.0]) == [(True, None)] * 3
    warnings = [r for r in caplog.records if r.name == "core.cache"]
    assert len(warnings) == 1 and "cache unavailable" in warnings[0].getMessage()
