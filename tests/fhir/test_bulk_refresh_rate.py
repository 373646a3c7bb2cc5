"""The SMART bulk files are rewritten at most once every TIDBOK_BULK_REFRESH_SECONDS (a minute by
default), however often changes ask: under a booking rush a rewrite per change would take a
worker's whole time. An ask within the interval is put off until it has passed, never dropped."""

from __future__ import annotations

import time

import pytest

from fhir import bulk, tasks
from tidbok import settings as tidbok_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def refreshes(monkeypatch) -> list[int]:
    runs: list[int] = []

    def refresh() -> bool:
        runs.append(1)
        return True  # a walk started

    monkeypatch.setattr(bulk, "refresh_start", refresh)
    return runs


@pytest.fixture
def put_off(monkeypatch) -> list[float]:
    countdowns: list[float] = []
    monkeypatch.setattr(tasks.bulk_publish_refresh, "apply_async", lambda countdown: countdowns.append(countdown))
    return countdowns


def test_the_interval_is_a_minute_by_default():
    # The settings module's own value: the test suite's conftest sets 0 for the other tests.
    assert tidbok_settings.TIDBOK_BULK_REFRESH_SECONDS == 60


def test_asks_within_the_interval_make_one_refresh_and_one_put_off_until_it_ends(settings, refreshes, put_off):
    settings.TIDBOK_BULK_REFRESH_SECONDS = 60

    tasks.bulk_publish_refresh()
    tasks.bulk_publish_refresh()  # a change a moment later
    tasks.bulk_publish_refresh()  # and another: already put off

    assert len(refreshes) == 1
    assert len(put_off) == 1 and 58 < put_off[0] <= 60


def test_a_refresh_runs_again_once_the_interval_has_passed(settings, refreshes, put_off):
    settings.TIDBOK_BULK_REFRESH_SECONDS = 1
    tasks.bulk_publish_refresh()
    tasks.bulk_publish_refresh()
    assert (len(refreshes), len(put_off)) == (1, 1)

    time.sleep(1.1)  # the claim expires in the cache (Redis), not by this process's clock
    tasks.bulk_publish_refresh()

    assert len(refreshes) == 2


def test_no_interval_refreshes_every_time(settings, refreshes, put_off):
    settings.TIDBOK_BULK_REFRESH_SECONDS = 0
    for _ in range(3):
        tasks.bulk_publish_refresh()
    assert (len(refreshes), put_off) == (3, [])
