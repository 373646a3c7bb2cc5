"""Notifications sent and failed for good are counted in the site-wide metrics (core.metrics),
by channel, from the worker that sends them."""

from __future__ import annotations

import pytest

from core.sms import SmsError
from notifications.models import NotificationState
from notifications.services import DeliveryDeferred, notification_deliver

from ..core.test_operability import TOKEN, sample
from .test_delivery import pending  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def scrape(client) -> str:
    return client.get("/metrics/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()


def test_sent_and_failed_notifications_are_counted_by_channel(client, settings, pending, monkeypatch):  # noqa: F811
    settings.TIDBOK_METRICS_TOKEN = TOKEN
    settings.TIDBOK_NOTIFY_MAX_ATTEMPTS = 1
    before = scrape(client)

    assert notification_deliver(notification_id=pending["email"].pk) is True

    def broken(self, message):
        raise SmsError("gateway down")

    monkeypatch.setattr("core.sms.LocmemBackend.send", broken)
    try:
        notification_deliver(notification_id=pending["sms"].pk)
    except DeliveryDeferred:
        pytest.fail("one attempt allowed: the SMS fails for good, it is not retried")
    pending["sms"].refresh_from_db()
    assert pending["sms"].state == NotificationState.FAILED

    after = scrape(client)
    for channel, outcome in (("email", "sent"), ("sms", "failed")):
        labels = {"channel": channel, "outcome": outcome}
        assert sample(after, "tidbok_notifications_total", **labels) == (
            sample(before, "tidbok_notifications_total", **labels) + 1
        ), labels
    assert sample(after, "tidbok_notifications_total", channel="email", outcome="failed") == sample(
        before, "tidbok_notifications_total", channel="email", outcome="failed"
    )
