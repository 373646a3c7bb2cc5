"""R-NOTE-3 and R-NOTE-4: each (event, channel) is sent at most once, failures are retried with
back-off and end as failed for support; the SMS gateway backend against a local HTTP server."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent
from bookings.services import booking_create
from core.errors import BookingError, PermissionDeniedError
from core.sms import HttpGatewayBackend, Sms, SmsError
from notifications import tasks
from notifications.models import Notification, NotificationState
from notifications.services import (
    DeliveryDeferred,
    notification_deliver,
    notification_resend,
    notification_sweep,
)

from ..factories import tomorrow_at
from ..pages import make_slot
from .servers import GatewayServer, hang

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(verified, resident, appointment_type, resource, django_capture_on_commit_callbacks):
    """A booking whose e-mail and SMS are recorded but not yet sent (the tasks have not run)."""
    slot = make_slot(appointment_type, resource, tomorrow_at(9, 0, days=3))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        booking_create(resident=resident, slot_id=slot.pk)
    # Only the record step: the deliveries it queues are run by hand below.
    with django_capture_on_commit_callbacks(execute=False):
        for callback in callbacks:
            callback()
    return {n.channel: n for n in Notification.objects.all()}


def test_a_claim_in_progress_is_not_taken_and_a_stale_one_is_sent_once(pending, settings):
    settings.TIDBOK_NOTIFY_CLAIM_SECONDS = 60
    email = pending["email"]
    claimed_at = timezone.now()
    Notification.objects.filter(pk=email.pk).update(state=NotificationState.SENDING, claimed_at=claimed_at)

    assert notification_deliver(notification_id=email.pk, now=claimed_at + dt.timedelta(seconds=59)) is False
    assert notification_sweep(now=claimed_at + dt.timedelta(seconds=59)) == 0
    assert mail.outbox == []

    # The SMS (pending, never tried) and the stale e-mail claim are both picked up by the sweep.
    assert notification_sweep(now=claimed_at + dt.timedelta(seconds=61)) == 2
    assert notification_sweep(now=claimed_at + dt.timedelta(seconds=200)) == 0
    assert tasks.notification_deliver.delay(email.pk).get() is False
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.state == NotificationState.SENT and email.sent_at is not None
    # The same Message-ID whoever sends it: a resend after a crash is recognisably the same e-mail.
    assert mail.outbox[0].extra_headers["Message-ID"].startswith(f"<tidbok-notification-{email.key}@")


def test_a_failed_send_backs_off_exponentially_and_ends_as_failed(pending, settings, monkeypatch):
    settings.TIDBOK_NOTIFY_MAX_ATTEMPTS = 3
    email = pending["email"]

    def broken(self, *args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", broken)
    now = timezone.now()
    waits = []
    for _attempt in range(2):
        with pytest.raises(DeliveryDeferred) as deferred:
            notification_deliver(notification_id=email.pk, now=now)
        waits.append(deferred.value.countdown)
        email.refresh_from_db()
        assert email.state == NotificationState.PENDING and email.claim is None
        assert "mail server down" in email.last_error
        # Not before its time, even if the task is delivered again.
        assert notification_deliver(notification_id=email.pk, now=now) is False
        now = email.next_attempt_at
    assert waits == [30, 60]
    assert notification_deliver(notification_id=email.pk, now=now) is False
    email.refresh_from_db()
    assert (email.state, email.attempts) == (NotificationState.FAILED, 3)
    notification_sweep(now=now + dt.timedelta(days=1))
    email.refresh_from_db()
    assert (email.state, email.attempts) == (NotificationState.FAILED, 3)  # stays failed, for support


def test_support_sends_a_failed_message_again_on_the_audit_log(pending, support, scheduler, clinic, other_clinic):
    email = pending["email"]
    Notification.objects.filter(pk=email.pk).update(state=NotificationState.FAILED, attempts=6)

    with pytest.raises(PermissionDeniedError):
        notification_resend(actor=scheduler, clinic=clinic, notification_id=email.pk)
    with pytest.raises(PermissionDeniedError):
        notification_resend(actor=support, clinic=other_clinic, notification_id=email.pk)
    notification_resend(actor=support, clinic=clinic, notification_id=email.pk)
    email.refresh_from_db()
    assert (email.state, email.attempts) == (NotificationState.PENDING, 0)
    assert AuditEvent.objects.filter(actor=support, action="notification.resend").count() == 1
    with pytest.raises(BookingError):  # only a failed one
        notification_resend(actor=support, clinic=clinic, notification_id=email.pk)
    assert notification_deliver(notification_id=email.pk) is True


# --- The SMS gateway backend (R-NOTE-4) ----------------------------------------------------------


@pytest.fixture
def gateway_settings(settings):
    settings.SMS_GATEWAY_USER, settings.SMS_GATEWAY_PASSWORD, settings.SMS_SENDER = "u", "p", "Vardcentr"
    settings.SMS_GATEWAY_TIMEOUT = 1
    return settings


def test_the_gateway_gets_a_form_post_when_configured(gateway_settings):
    server = GatewayServer().start()
    try:
        gateway_settings.SMS_GATEWAY_URL, gateway_settings.SMS_GATEWAY_FORMAT = server.url, "form"
        HttpGatewayBackend().send(Sms(to="+46701234567", body="Hej då & välkommen", reference="ref-1"))
    finally:
        server.stop()
    [request] = server.requests
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert request["fields"] == {
        "from": "Vardcentr",
        "to": "+46701234567",
        "message": "Hej då & välkommen",
        "reference": "ref-1",
    }
    assert urllib.parse.urlparse(server.url).path == request["path"]


@pytest.mark.parametrize(("answer", "error"), [(lambda request: 500, "answered 500"), (hang(3), "not reached")])
def test_a_gateway_that_answers_500_or_times_out_is_an_error_that_names_no_number(gateway_settings, answer, error):
    server = GatewayServer(answer).start()
    try:
        gateway_settings.SMS_GATEWAY_URL = server.url
        with pytest.raises(SmsError) as raised:
            HttpGatewayBackend().send(Sms(to="+46701234567", body="Din tid", reference="ref-2"))
    finally:
        server.stop()
    assert error in str(raised.value)
    assert "46701234567" not in str(raised.value) and "Din tid" not in str(raised.value)


def test_a_gateway_error_is_retried_with_back_off_and_the_retry_is_sent_once(pending, gateway):
    sms = pending["sms"]
    gateway.answer = lambda request: 500
    now = timezone.now()
    with pytest.raises(DeliveryDeferred):
        notification_deliver(notification_id=sms.pk, now=now)
    sms.refresh_from_db()
    assert sms.state == NotificationState.PENDING and "answered 500" in sms.last_error
    gateway.answer = lambda request: 200
    assert notification_deliver(notification_id=sms.pk, now=sms.next_attempt_at) is True
    assert notification_deliver(notification_id=sms.pk, now=sms.next_attempt_at) is False
    # Both tries carried the same reference: a gateway that got the first can drop the second.
    assert len(gateway.requests) == 2
    assert {request["fields"]["reference"] for request in gateway.requests} == {f"tidbok-notification-{sms.key}"}
