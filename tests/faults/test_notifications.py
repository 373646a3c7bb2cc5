"""R-OPS-2: a notification is claimed before it is sent; a claim that never completed (the worker was
SIGKILLed mid-send) is taken over after the claim timeout and the e-mail goes exactly once.

Real worker processes on the test's own redis-server: the first one's mail backend announces the
send and then hangs (tests/faults/mail.py), the test kills it with SIGKILL, and a second worker
with beat's notification sweep finishes the job. E-mails are files the second worker writes.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bookings.models import InboxMessage, MessageKind, NotifyState
from bookings.services import inbox_message_send
from core.outbox.models import OutboxMessage
from core.outbox.services import outbox_relay_resume

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
        found += re.findall(r"^Message-ID: <(tidbok-inbox-\d+)-", path.read_text(), re.M)
    return found


def test_a_send_killed_mid_delivery_is_sent_exactly_once_after_the_claim_timeout(
    app_on_redis, celery_worker, celery_beat, tmp_path, resident, clinic
):
    redis = app_on_redis
    started = tmp_path / "send-started"
    mail = tmp_path / "mail"

    message = inbox_message_send(resident=resident, clinic=clinic, kind=MessageKind.INFO, subject="Provsvar", body="…")
    # Sent to the broker by the after-commit relay.
    assert OutboxMessage.objects.get(name="bookings.tasks.inbox_notify", args=[message.pk]).sent_at is not None

    hanging = celery_worker(
        redis_url=redis.url(),
        EMAIL_BACKEND="tests.faults.mail.HangingEmailBackend",
        TIDBOK_TEST_MAIL_STARTED=str(started),
    )
    wait_until(started.exists, what="the first worker to start sending")
    claimed = InboxMessage.objects.get(pk=message.pk)
    assert claimed.notify_state == NotifyState.SENDING and claimed.notify_claimed_at is not None
    hanging.kill()  # SIGKILL mid-delivery: the claim never completes

    env = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail),
        "TIDBOK_NOTIFY_CLAIM_SECONDS": str(CLAIM_SECONDS),
        "EMAIL_TIMEOUT": "1",  # a claim must outlast a send (checked at start)
        "TIDBOK_NOTIFY_SWEEP_SECONDS": "1",
    }
    worker = celery_worker(redis_url=redis.url(), **env)
    celery_beat(redis_url=redis.url(), **env)

    wait_until(
        lambda: InboxMessage.objects.filter(pk=message.pk, notify_state=NotifyState.SENT).exists(),
        what="the sweep to send the message whose claim went stale",
    )
    sent = InboxMessage.objects.get(pk=message.pk)
    # Taken over only once the first claim was older than the timeout.
    assert sent.notify_claimed_at is not None and claimed.notify_claimed_at is not None
    assert sent.notify_claimed_at >= claimed.notify_claimed_at + dt.timedelta(seconds=CLAIM_SECONDS)
    # Two more sweeps after it was sent: a second send would show up now.
    for _ in range(2):
        mark = worker.mark()
        worker.wait_for_line(r"Task bookings\.tasks\.inbox_notify_sweep\[[^\]]+\] succeeded", after=mark)

    assert _mail_ids(mail) == [f"tidbok-inbox-{message.pk}"]
    assert InboxMessage.objects.get(pk=message.pk).notified_at is not None
