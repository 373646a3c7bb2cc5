"""R-NOTE-2 and R-NOTE-4: every message, in the resident's language, by e-mail (to a real SMTP
server) and by text message (to a local HTTP gateway); what they say and what they never say."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.utils import timezone
from icalendar import Calendar

from accounts.models import ContactDetails, Membership, Role
from bookings.models import Booking, InboxMessage, MessageKind
from bookings.services import (
    booking_cancel,
    booking_create,
    booking_create_by_proxy,
    booking_create_for_resident,
    booking_rebook,
    inbox_message_send,
    open_summons_send,
)
from notifications.models import Notification, NotificationEvent, NotificationState
from notifications.services import notification_deliver, notification_event_record, reminders_due

from ..factories import AppointmentTypeFactory, UserFactory, tomorrow_at
from ..pages import make_slot

pytestmark = pytest.mark.django_db


def _bodies(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def _ics(message) -> Calendar | None:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_payload(decode=True))
    return None


def _book(resident, appointment_type, resource, capture, *, days=3, hour=9):
    slot = make_slot(appointment_type, resource, tomorrow_at(hour, 0, days=days))
    with capture(execute=True):
        return booking_create(resident=resident, slot_id=slot.pk)


def test_a_booking_is_confirmed_by_e_mail_and_sms_in_swedish(
    smtp, gateway, verified, resident, appointment_type, resource, django_capture_on_commit_callbacks
):
    booking = _book(resident, appointment_type, resource, django_capture_on_commit_callbacks)

    [received] = smtp.messages
    assert received["To"] == "anna@exempel.se"
    assert received["Subject"].strip().startswith("Bokad tid ")
    assert received["Content-Language"] == "sv"
    assert received["Auto-Submitted"] == "auto-generated"
    key = Notification.objects.get(event__booking=booking, channel="email").key
    assert received["Message-ID"].strip().startswith(f"<tidbok-notification-{key}@")
    text, html = _bodies(received)
    for body in (text, html):
        assert "Din tid på Vårdcentralen Solna är bokad." in body
        assert "När:" in body and "kl. 09.00" in body
        assert "Var: Vårdcentralen Solna" in body
        assert f"https://tidbok.example.se/mina-tider/{booking.pk}/" in body  # cancel or rebook here
        assert resident.personnummer not in body
    calendar = _ics(received)
    assert calendar is not None
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == booking.calendar_uid

    [sms] = gateway.requests
    assert sms["fields"]["to"] == "+46701234567" and sms["fields"]["from"] == "Tidbok"
    assert sms["headers"]["Authorization"] == "Basic " + base64.b64encode(b"tidbok:gateway-secret").decode()
    assert sms["headers"]["Idempotency-Key"] == sms["fields"]["reference"]
    body = sms["fields"]["message"]
    assert "Din tid på Vårdcentralen Solna är bokad." in body and "kl. 09.00" in body
    assert f"https://tidbok.example.se/mina-tider/{booking.pk}/" in body
    assert resident.personnummer not in body
    assert set(Notification.objects.values_list("state", flat=True)) == {NotificationState.SENT}


def test_the_resident_s_language_is_english_when_chosen(
    smtp, gateway, verified, resident, appointment_type, resource, django_capture_on_commit_callbacks
):
    ContactDetails.objects.filter(pk=verified.pk).update(language="en")
    _book(resident, appointment_type, resource, django_capture_on_commit_callbacks)

    [received] = smtp.messages
    assert received["Subject"].strip().startswith("Booked time ")
    assert received["Content-Language"] == "en"
    text, html = _bodies(received)
    for body in (text, html):
        assert "Your time at Vårdcentralen Solna is booked." in body and "at 09:00" in body
    assert "Your time at Vårdcentralen Solna is booked." in gateway.requests[0]["fields"]["message"]


def test_nothing_is_sent_to_an_address_that_is_not_verified(
    smtp, gateway, resident, appointment_type, resource, django_capture_on_commit_callbacks
):
    ContactDetails.objects.create(user=resident, email_pending="anna@exempel.se", mobile_pending="+46701234567")
    _book(resident, appointment_type, resource, django_capture_on_commit_callbacks)
    assert NotificationEvent.objects.count() == 1  # the change is recorded …
    assert not Notification.objects.exists()  # … but there is nowhere verified to send it
    assert smtp.messages == [] and gateway.requests == []


def test_a_discreet_type_is_never_named_and_the_reason_for_the_visit_never_appears(
    smtp, gateway, verified, resident, clinic, resource, django_capture_on_commit_callbacks
):
    clinic.patient_comment_on_web = True
    clinic.save()
    discreet = AppointmentTypeFactory(clinic=clinic, web_name="Preventivmedelsrådgivning", discreet=True)
    slot = make_slot(discreet, resource, tomorrow_at(9, 0, days=3))
    with django_capture_on_commit_callbacks(execute=True):
        booking_create(resident=resident, slot_id=slot.pk, phone="070-123 45 67", reason="Spiral som krånglar")

    [received] = smtp.messages
    text, html = _bodies(received)
    everything = [received["Subject"], text, html, gateway.requests[0]["fields"]["message"]]
    for body in everything:
        assert "Vårdcentralen Solna" in body
        assert "Preventivmedel" not in body
        assert "Spiral" not in body
        assert resident.personnummer not in body
    calendar = _ics(received)
    assert calendar is not None
    [event] = calendar.walk("VEVENT")
    # The calendar event names only the clinic too (a calendar is often seen by others).
    assert str(event["SUMMARY"]) == "Vårdcentralen Solna"
    assert "Preventivmedel" not in calendar.to_ical().decode()


def _kinds_of_message(resident, scheduler, proxy, clinic, appointment_type, resource, capture):
    """Each kind of change, one after the other; returns the (kind, by) recorded for each."""
    slot = make_slot(appointment_type, resource, tomorrow_at(9, 0, days=3))
    with capture(execute=True):
        booked = booking_create(resident=resident, slot_id=slot.pk)
    moved_to = make_slot(appointment_type, resource, tomorrow_at(11, 0, days=3))
    with capture(execute=True):
        moved = booking_rebook(resident=resident, booking_id=booked.pk, new_slot_id=moved_to.pk)
    with capture(execute=True):
        booking_cancel(actor=resident, booking_id=moved.pk)
    staff_slot = make_slot(appointment_type, resource, tomorrow_at(13, 0, days=4))
    with capture(execute=True):
        summoned = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=staff_slot.pk)
    with capture(execute=True):
        booking_cancel(actor=scheduler, booking_id=summoned.pk, reason="  Läkaren är  sjuk ")
    proxy_type = AppointmentTypeFactory(clinic=clinic, internal_name="Rådgivning (Ombud)", web_name="Rådgivning")
    proxy_slot = make_slot(proxy_type, resource, tomorrow_at(14, 0, days=5))
    with capture(execute=True):
        booking_create_by_proxy(actor=proxy, resident=resident, slot_id=proxy_slot.pk)
    with capture(execute=True):
        inbox_message_send(
            resident=resident, clinic=clinic, kind=MessageKind.INFO, subject="Provsvar", body="Dina provsvar …"
        )


@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_message_goes_by_both_channels_in_the_resident_s_language(
    language,
    smtp,
    gateway,
    verified,
    resident,
    scheduler,
    clinic,
    appointment_type,
    resource,
    django_capture_on_commit_callbacks,
):
    ContactDetails.objects.filter(pk=verified.pk).update(language=language)
    proxy = UserFactory()
    Membership.objects.create(user=proxy, role=Role.PROXY_BOOKER, region=clinic.region, unit_name="1177")
    _kinds_of_message(
        resident, scheduler, proxy, clinic, appointment_type, resource, django_capture_on_commit_callbacks
    )

    expected = {
        "sv": [
            "Din tid på Vårdcentralen Solna är bokad.",
            "Din tid på Vårdcentralen Solna har flyttats.",
            "Du har avbokat din tid på Vårdcentralen Solna.",
            "Vårdcentralen Solna har bokat en tid åt dig.",
            "Vårdcentralen Solna har avbokat din tid.",
            "En tid på Vårdcentralen Solna har bokats åt dig.",
            "Vårdcentralen Solna har skickat ett meddelande till dig i Tidbok.",
        ],
        "en": [
            "Your time at Vårdcentralen Solna is booked.",
            "Your time at Vårdcentralen Solna has been moved.",
            "You have cancelled your time at Vårdcentralen Solna.",
            "Vårdcentralen Solna has booked a time for you.",
            "Vårdcentralen Solna has cancelled your time.",
            "A time at Vårdcentralen Solna has been booked for you.",
            "Vårdcentralen Solna has sent you a message in Tidbok.",
        ],
    }[language]
    texts = [_bodies(message)[0] for message in smtp.messages]
    smses = [request["fields"]["message"] for request in gateway.requests]
    assert len(texts) == len(smses) == len(expected)
    for headline, text, sms in zip(expected, texts, smses, strict=True):
        assert text.startswith(headline) and sms.startswith(headline)
    reason = {"sv": "Mottagningens orsak: Läkaren är sjuk", "en": "The clinic's reason: Läkaren är sjuk"}[language]
    assert reason in texts[4] and reason in smses[4]
    # The rebooking says where it was before; the cancellation's calendar file removes the event.
    assert ("Tidigare:" if language == "sv" else "Before:") in texts[1]
    cancel_ics = _ics(smtp.messages[2])
    assert cancel_ics is not None and str(cancel_ics["METHOD"]) == "CANCEL"
    # The message from the clinic only says one is waiting, never what it says.
    assert "provsvar" not in texts[6].lower() and "/inkorg/" in texts[6]
    for body in texts + smses:
        assert resident.personnummer not in body


def test_a_task_delivered_twice_sends_once(
    smtp, gateway, verified, resident, appointment_type, resource, django_capture_on_commit_callbacks
):
    booking = _book(resident, appointment_type, resource, django_capture_on_commit_callbacks)
    for notification in Notification.objects.filter(event__booking=booking):
        assert notification_deliver(notification_id=notification.pk) is False
    assert len(smtp.messages) == 1 and len(gateway.requests) == 1


def test_an_event_recorded_twice_is_one_event_with_its_first_row_and_one_message_per_channel(
    verified, resident, clinic, django_assert_max_num_queries
):
    payload = {"key": "k-twice", "kind": "booked", "resident_id": resident.pk, "clinic_id": clinic.pk, "by": "resident"}
    first = notification_event_record(payload=payload)
    NotificationEvent.objects.filter(pk=first.pk).update(reason="kept")
    again = notification_event_record(payload={**payload, "reason": "ignored"})

    assert again.pk == first.pk
    assert list(NotificationEvent.objects.values_list("key", "reason")) == [("k-twice", "kept")]
    assert Notification.objects.filter(event=first).count() == 2  # e-mail and SMS, not twice each
    NotificationEvent.objects.all().delete()
    # A resident without verified contact details: the event, then nothing to send.
    ContactDetails.objects.filter(user=resident).delete()
    with django_assert_max_num_queries(4):  # the savepoint, the upsert, the contact details, its release
        notification_event_record(payload={**payload, "key": "k-new"})
    assert NotificationEvent.objects.get().key == "k-new"


# --- Reminders --------------------------------------------------------------------------------


def test_reminders_come_24_hours_before_and_a_second_when_configured_once_each(
    smtp, gateway, verified, resident, clinic, appointment_type, resource, time_machine
):
    clinic.second_reminder_hours = 2
    clinic.save()
    start = tomorrow_at(9, 0, days=3)
    time_machine.move_to(start - dt.timedelta(days=5))
    booking = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, start).pk)

    time_machine.move_to(start - dt.timedelta(hours=24, minutes=1))
    assert reminders_due() == 0
    time_machine.move_to(start - dt.timedelta(hours=23, minutes=59))
    assert reminders_due() == 1
    assert reminders_due() == 0  # once
    time_machine.move_to(start - dt.timedelta(hours=1, minutes=59))
    assert reminders_due() == 1
    assert list(NotificationEvent.objects.filter(kind="reminder").values_list("key", flat=True).order_by("pk")) == [
        f"reminder:{booking.pk}:24",
        f"reminder:{booking.pk}:2",
    ]


def test_no_reminder_for_a_cancelled_booking_nor_one_booked_after_its_reminder_time(
    resident, other_resident, clinic, appointment_type, resource, time_machine
):
    start = tomorrow_at(9, 0, days=3)
    time_machine.move_to(start - dt.timedelta(days=5))
    cancelled = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, start).pk)
    booking_cancel(actor=resident, booking_id=cancelled.pk)
    time_machine.move_to(start - dt.timedelta(hours=10))
    late = booking_create(
        resident=other_resident,
        slot_id=make_slot(appointment_type, resource, start + dt.timedelta(minutes=30)).pk,
    )
    time_machine.move_to(start - dt.timedelta(hours=9))
    assert reminders_due() == 0
    assert not NotificationEvent.objects.filter(kind="reminder").exists()
    assert late.status == "active"


def test_a_reminder_is_not_sent_once_the_booking_is_cancelled(
    smtp, verified, resident, appointment_type, resource, time_machine, django_capture_on_commit_callbacks
):
    start = tomorrow_at(9, 0, days=3)
    time_machine.move_to(start - dt.timedelta(days=5))
    booking = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, start).pk)
    time_machine.move_to(start - dt.timedelta(hours=23))
    # Recorded, but the booking is cancelled before the worker gets to it.
    with django_capture_on_commit_callbacks(execute=False):
        reminders_due()
    Booking.objects.filter(pk=booking.pk).update(status="cancelled", ended_at=timezone.now())
    reminder = Notification.objects.get(event__kind="reminder", channel="email")
    assert notification_deliver(notification_id=reminder.pk) is False
    reminder.refresh_from_db()
    assert reminder.state == NotificationState.SKIPPED
    assert smtp.messages == []


def test_reminders_respect_the_resident_s_choice_per_channel(
    smtp, gateway, verified, resident, appointment_type, resource, time_machine, django_capture_on_commit_callbacks
):
    ContactDetails.objects.filter(pk=verified.pk).update(reminders_by_sms=False)
    start = tomorrow_at(9, 0, days=3)
    time_machine.move_to(start - dt.timedelta(days=5))
    booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, start).pk)
    time_machine.move_to(start - dt.timedelta(hours=23))
    with django_capture_on_commit_callbacks(execute=True):
        reminders_due()
    [received] = smtp.messages
    assert received["Subject"].strip().startswith("Påminnelse: tid ")
    assert "Påminnelse: du har en tid på Vårdcentralen Solna." in _bodies(received)[0]
    assert gateway.requests == []


def test_an_open_summons_links_to_its_message_to_book_from(
    smtp, gateway, verified, resident, scheduler, clinic, appointment_type, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        open_summons_send(
            actor=scheduler,
            clinic=clinic,
            appointment_type=appointment_type,
            valid_from=today,
            valid_until=today + dt.timedelta(days=30),
            resident=resident,
        )
    message = InboxMessage.objects.get(resident=resident, kind=MessageKind.OPEN_SUMMONS)
    [received] = smtp.messages
    assert received["Subject"].strip() == "Boka en tid på Vårdcentralen Solna"
    text = _bodies(received)[0]
    sms = gateway.requests[0]["fields"]["message"]
    for body in (text, sms):
        assert body.startswith("Vårdcentralen Solna ber dig boka en tid.")
        assert f"https://tidbok.example.se/inkorg/{message.pk}/" in body
