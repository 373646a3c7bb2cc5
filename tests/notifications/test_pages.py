"""R-NOTE-3: support's page of messages not delivered, with "send again"; R-NOTE-4: the DEBUG-only
page of what would have been sent."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from notifications.models import Notification, NotificationEvent, NotificationState

from ..clinics.test_workspace_admin import type_post
from ..workspace import login as workspace_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(resident, clinic):
    event = NotificationEvent.objects.create(key="k1", kind="booked", resident=resident, clinic=clinic)
    return Notification.objects.create(
        event=event,
        channel="sms",
        to="+46701234567",
        state=NotificationState.FAILED,
        attempts=6,
        last_error="SmsError: SMS gateway answered 500",
    )


def test_support_sees_failed_messages_masked_and_sends_one_again(
    client, support, failed, django_capture_on_commit_callbacks
):
    workspace_login(client, support)
    url = reverse("workspace:failed_notifications", args=[failed.event.clinic_id])
    page = client.get(url).content.decode()
    assert "Meddelanden som inte kom fram" in page
    assert "+4670… …67" in page and "+46701234567" not in page  # masked
    assert "SMS gateway answered 500" in page
    assert failed.event.resident.personnummer not in page

    resend = reverse("workspace:notification_resend", args=[failed.event.clinic_id, failed.pk])
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(resend, follow=True)
    assert answer.status_code == 200 and "Meddelandet skickas igen." in answer.content.decode()
    failed.refresh_from_db()
    # Sent at once (tasks run inline in tests): the in-memory SMS backend took it.
    assert failed.state == NotificationState.SENT
    assert AuditEvent.objects.filter(action="notification.resend", actor=support).exists()
    assert "Alla meddelanden har kommit fram." in client.get(url).content.decode()
    assert client.post(resend).status_code == 404  # no longer failed


def test_the_outbox_page_exists_only_with_debug(client, settings, failed):
    settings.DEBUG = False
    assert client.get(reverse("dev_outbox")).status_code == 404
    settings.DEBUG = True
    page = client.get(reverse("dev_outbox"))
    assert page.status_code == 200 and "Vad som skulle ha skickats" in page.content.decode()


def test_a_local_admin_marks_a_type_discreet(client, local_admin, clinic, appointment_type):
    """R-NOTE-2: the type form has the discreet flag, and unticking it clears it again."""
    client = workspace_login(client, local_admin)
    edit = reverse("workspace:appointment_type_edit", args=[clinic.pk, appointment_type.pk])
    assert 'name="discreet"' in client.get(edit).content.decode()
    assert client.post(edit, type_post(discreet="on")).status_code == 302
    appointment_type.refresh_from_db()
    assert appointment_type.discreet is True
    assert client.post(edit, type_post()).status_code == 302
    appointment_type.refresh_from_db()
    assert appointment_type.discreet is False
