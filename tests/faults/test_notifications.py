"""R-NOTE-3 (R-OPS-2): a notification is claimed before it is sent; a claim that never completed
(the worker was SIGKILLed mid-send) is taken over after the claim timeout and the message goes
exactly once, also when its task is delivered a second time.

Real worker processes on the test's own redis-server: the first one's mail backend announces the
send and then hangs (tests/faults/mail.py), the test kills it with SIGKILL, and a second worker
with beat's notification sweep finishes the job. E-mails are files the second worker writes.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import ContactDetails
from bookings.models import MessageKind
from bookings.services import inbox_message_send
from core.outbox.models import OutboxMessage
from core.outbox.services import outbox_relay_resume
from notifications import tasks
from notifications.models import Notification, NotificationState

from .procs import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CLAIM_SECONDS = 2


@pytest.fixture(autouse=True)
def _relay_not_paused():
    yield
    outbox_relay_resume()


def _mail_ids(folder: Path) -> list[str]:
    found: list[str] = []
    for path in folder.glob("*.log") if folder.exists() else []:
        found += re.findall(r"^Message-ID:\s*<(tidbok-notification-[0-9a-f-]+)@", path.read_text(), re.M)
    return found


def test_a_send_killed_mid_delivery_is_sent_exactly_once_after_the_claim_timeout(
    app_on_redis, celery_worker, celery_beat, tmp_path, resident, clinic
):
    redis = app_on_redis
    started = tmp_path / "send-started"
    mail = tmp_path / "mail"
    ContactDetails.objects.create(user=resident, email="anna@exempel.se", email_verified_at=timezone.now())

    inbox_message_send(resident=resident, clinic=clinic, kind=MessageKind.INFO, subject="Provsvar", body="…")
    # Recorded in the message's transaction and handed to the broker by the after-commit relay.
    assert OutboxMessage.objects.get(name="notifications.tasks.notification_event_record").sent_at is not None

    hanging = celery_worker(
        redis_url=redis.url(),
        EMAIL_BACKEND="tests.faults.mail.HangingEmailBackend",
        TIDBOK_TEST_MAIL_STARTED=str(started),
    )
    wait_until(started.exists, what="the first worker to start sending")
    claimed = Notification.objects.get()
    assert claimed.state == NotificationState.SENDING and claimed.claimed_at is not None
    assert claimed.attempts == 1  # recorded before the send
    hanging.kill()  # SIGKILL mid-delivery: the claim never completes

    env = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail),
        "TIDBOK_NOTIFY_CLAIM_SECONDS": str(CLAIM_SECONDS),
        "EMAIL_TIMEOUT": "1",  # a claim must outlast a send (checked at start)
        "SMS_GATEWAY_TIMEOUT": "1",
        "TIDBOK_NOTIFY_SWEEP_SECONDS": "1",
    }
    worker = celery_worker(redis_url=redis.url(), **env)
    celery_beat(redis_url=redis.url(), **env)

    wait_until(
        lambda: Notification.objects.filter(pk=claimed.pk, state=NotificationState.SENT).exists(),
        what="the sweep to send the notification whose claim went stale",
    )
    sent = Notification.objects.get(pk=claimed.pk)
    # Taken over only once the first claim was older than the timeout.
    assert sent.claimed_at is not None and claimed.claimed_at is not None
    assert sent.claimed_at >= claimed.claimed_at + dt.timedelta(seconds=CLAIM_SECONDS)

    # The task delivered once more (a redelivery): it finds the message sent and sends nothing.
    mark = worker.mark()
    tasks.notification_deliver.apply_async(args=(claimed.pk,))
    worker.wait_for_line(
        r"Task notifications\.tasks\.notification_deliver\[[^\]]+\] succeeded in \S+: False", after=mark
    )
    # Two more sweeps after it was sent: a second send would show up now.
    for _ in range(2):
        mark = worker.mark()
        worker.wait_for_line(r"Task notifications\.tasks\.notification_sweep\[[^\]]+\] succeeded", after=mark)

    assert _mail_ids(mail) == [f"tidbok-notification-{claimed.key}"]
    assert Notification.objects.get(pk=claimed.pk).sent_at is not None
