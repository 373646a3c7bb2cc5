"""R-OPS-1, R-OPS-2: with Redis stopped, a change the database committed is answered as a success,
and its side effects (tasks, cache bumps, notification e-mails) are delivered once Redis is back:
each exactly once, nothing lost.

The test's own redis-server is the cache and the broker of this test process (the Django test
client serves the pages and the API) and of the worker and beat it starts afterwards. What is
asserted is in the database, in the worker's log and in the e-mails the worker wrote to files.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ContactDetails
from bookings.models import Booking, BookingStatus, InboxMessage
from clinics.models import CaseKind
from core.outbox.models import OutboxMessage
from core.outbox.services import outbox_relay_resume
from notifications.models import Notification, NotificationEvent, NotificationState
from schedules.models import Hold, Slot
from tests.factories import STAFF_TOTP_SECRET, SlotFactory, tomorrow_at

from .procs import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-staff-password-2026"


@pytest.fixture(autouse=True)
def _relay_not_paused():
    """The after-commit relay of this process pauses after the broker failed; not into the next test."""
    yield
    outbox_relay_resume()


def _slots(appointment_type, resource, count: int) -> list[Slot]:
    return [
        SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9 + i, days=3))
        for i in range(count)
    ]


def _resident_client(resident, clinic) -> Client:
    client = Client()
    client.force_login(resident)
    session = client.session
    session[f"conditions_{CaseKind.BOOK}_{clinic.pk}"] = True  # the conditions page was read (R-CASE-1)
    session[f"conditions_{CaseKind.MANAGE}_{clinic.pk}"] = True  # and the one before cancelling
    session.save()
    return client


def _staff_login(client: Client, user) -> None:
    """allauth's own login: password, then the TOTP code (its rate limits live in the cache)."""
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith(reverse("mfa_authenticate")), response["Location"]
    code = format_hotp_value(hotp_value(STAFF_TOTP_SECRET, int(time.time()) // 30))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302, response.status_code
    assert client.get(reverse("clinics:search")).status_code == 200


def _mail_ids(folder: Path) -> list[str]:
    """The Message-ID of every e-mail the worker wrote (one per message sent, even if resent)."""
    found: list[str] = []
    for path in folder.glob("*.log") if folder.exists() else []:
        found += re.findall(r"^Message-ID:\s*<(tidbok-notification-[0-9a-f-]+)@", path.read_text(), re.M)
    return found


def test_changes_made_while_redis_is_down_succeed_and_their_side_effects_arrive_once(
    app_on_redis, celery_worker, celery_beat, tmp_path, clinic, appointment_type, resource, resident, scheduler
):
    redis = app_on_redis
    page_slot, api_slot, staff_slot = _slots(appointment_type, resource, 3)
    scheduler.set_password(PASSWORD)
    scheduler.save()
    TOTP.activate(scheduler, STAFF_TOTP_SECRET)
    pages, api, staff = _resident_client(resident, clinic), _resident_client(resident, clinic), Client()
    # R-NOTE-3: the resident is told of each change by e-mail and SMS, nothing lost, nothing twice.
    ContactDetails.objects.create(
        user=resident,
        email="anna@exempel.se",
        email_verified_at=timezone.now(),
        mobile="+46701234567",
        mobile_verified_at=timezone.now(),
    )

    redis.stop()

    # A resident books and cancels through the pages.
    held = pages.post(reverse("bookings:hold"), {"slot": page_slot.pk, "back": "/"})
    assert held.status_code == 302, held.status_code
    hold = Hold.objects.get(slot=page_slot)
    assert pages.post(reverse("bookings:confirm", args=[hold.pk])).status_code == 302
    page_booking = Booking.objects.get(slot=page_slot)
    assert pages.post(reverse("bookings:cancel", args=[page_booking.pk])).status_code == 302

    # … and through the API (its throttles count in the cache), after asking for free times.
    free = api.get(f"/api/v1/clinics/{clinic.pk}/free-times/", {"type": appointment_type.pk})
    assert free.status_code == 200 and api_slot.pk in [s["id"] for s in free.json()]
    created = api.post("/api/v1/bookings/", {"slot": api_slot.pk}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert api.post(f"/api/v1/bookings/{created.json()['id']}/cancel/").status_code == 204

    # Staff log in, book for the resident (a summons) and cancel it (a cancellation message).
    _staff_login(staff, scheduler)
    staff_api = f"/api/v1/staff/clinics/{clinic.pk}/bookings/"
    booked = staff.post(staff_api, {"personnummer": resident.personnummer, "slot": staff_slot.pk}, "application/json")
    assert booked.status_code == 201, booked.content
    assert staff.post(f"{staff_api}{booked.json()['id']}/cancel/").status_code == 204

    # Every change is in the database; its side effects wait in the outbox, none sent.
    assert set(Booking.objects.values_list("slot_id", "status")) == {
        (page_slot.pk, BookingStatus.CANCELLED),
        (api_slot.pk, BookingStatus.CANCELLED),
        (staff_slot.pk, BookingStatus.CANCELLED),
    }
    assert InboxMessage.objects.count() == 2  # the summons and the cancellation
    assert not NotificationEvent.objects.exists()  # … their notifications wait in the outbox
    waiting = list(OutboxMessage.objects.values_list("name", flat=True))
    assert "schedules.tasks.slots_publish" in waiting
    assert waiting.count("notifications.tasks.notification_event_record") == 6
    assert not OutboxMessage.objects.filter(sent_at__isnull=False).exists()

    # Redis is back: a worker and beat (the outbox sweep every second) deliver what waited.
    redis.start()
    mail = tmp_path / "mail"
    sms = tmp_path / "sms.txt"
    env = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail),
        "SMS_BACKEND": "tests.faults.mail.FileSmsBackend",
        "TIDBOK_TEST_SMS_FILE": str(sms),
        "TIDBOK_OUTBOX_SWEEP_SECONDS": "1",
    }
    worker = celery_worker(redis_url=redis.url(), **env)
    celery_beat(redis_url=redis.url(), **env)

    import signal as _sig

    try:
        wait_until(
            lambda: (
                not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
                and Notification.objects.filter(state=NotificationState.SENT).count() == 12
                and Slot.objects.filter(pk__in=[page_slot.pk, api_slot.pk, staff_slot.pk], is_published=True).count()
                == 3
            ),
            what="the outbox to be sent, the e-mails to go and the cancelled times to be republished",
            timeout=25,
        )
    except Exception:
        worker.signal_group(_sig.SIGABRT)
        time.sleep(3)
        print(worker.output[-8000:])
        print(list(OutboxMessage.objects.values()))
        raise
    tasks = list(OutboxMessage.objects.exclude(name__startswith="schedules.free_times").exclude(name__contains="bulk"))
    for row in tasks:
        worker.wait_for_line(rf"Task {re.escape(row.name)}\[outbox-{row.pk}\] succeeded")
    # One more sweep after everything was sent: anything it sent again would show up now.
    mark = worker.mark()
    worker.wait_for_line(r"Task core\.outbox\.tasks\.outbox_relay\[[^\]]+\] succeeded", after=mark)

    for row in tasks:
        assert len(re.findall(rf"\[outbox-{row.pk}\] received", worker.output)) == 1, row
    notifications = Notification.objects.all()
    assert {n.state for n in notifications} == {NotificationState.SENT}
    assert sorted(_mail_ids(mail)) == sorted(
        f"tidbok-notification-{n.key}" for n in notifications if n.channel == "email"
    )
    assert sorted(sms.read_text().split()) == sorted(
        f"tidbok-notification-{n.key}" for n in notifications if n.channel == "sms"
    )
    assert Booking.objects.count() == 3


def test_a_booking_with_redis_frozen_is_answered_within_seconds_and_its_task_waits_in_the_outbox(
    app_on_redis, clinic, appointment_type, resource, resident
):
    """SIGSTOP: Redis accepts connections and never answers. Short socket timeouts and the pauses
    after a failure (cache and relay) bound what the outage costs a request."""
    (slot,) = _slots(appointment_type, resource, 1)
    api = _resident_client(resident, clinic)
    app_on_redis.freeze()

    started = time.monotonic()
    created = api.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json")
    cancelled = api.post(f"/api/v1/bookings/{created.json()['id']}/cancel/")
    elapsed = time.monotonic() - started

    assert (created.status_code, cancelled.status_code) == (201, 204)
    assert elapsed < 10, elapsed
    assert Booking.objects.get(slot=slot).status == BookingStatus.CANCELLED
    assert OutboxMessage.objects.filter(name="schedules.tasks.slots_publish", sent_at__isnull=True).exists()
