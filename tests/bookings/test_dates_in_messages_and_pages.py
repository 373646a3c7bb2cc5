"""Dates are written one way in every message and page (core.dates): the summons and the
cancellation in the inbox, an open summons, the inbox list and the confirm page say
"fredag 4 december 2026 kl. 09.00", never "2026-12-04" or "09:00" in Swedish."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from bookings.models import InboxMessage, MessageKind
from bookings.services import booking_cancel, booking_create_for_resident, open_summons_send
from core import dates

from ..factories import AppointmentTypeFactory, tomorrow_at
from ..pages import hold_via_client, make_slot

pytestmark = pytest.mark.django_db

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _sv(value: dt.datetime | dt.date, name: dates.Format = "when") -> str:
    with translation.override("sv"):
        return dates.when(value, name)


def test_the_summons_and_the_cancellation_in_the_inbox_write_the_time_in_full(
    scheduler, resident, appointment_type, resource
):
    start = tomorrow_at(9, 0, days=3)
    slot = make_slot(appointment_type, resource, start)
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)
    booking_cancel(actor=scheduler, booking_id=booking.pk)

    summons = InboxMessage.objects.get(resident=resident, kind=MessageKind.SUMMONS)
    cancellation = InboxMessage.objects.get(resident=resident, kind=MessageKind.CANCELLATION)
    for message in (summons, cancellation):
        assert f"Besök, {_sv(start)}." in message.body
        assert "kl. 09.00" in message.body
        assert message.subject.endswith(f"Besök, {_sv(start, 'date')}")
        assert not ISO_DATE.search(message.subject + message.body)


def test_an_open_summons_names_its_first_and_last_day_in_full(clinic, scheduler, resident):
    screening = AppointmentTypeFactory(clinic=clinic, web_name="Hälsokontroll", requires_booking_basis=True)
    first, last = timezone.localdate() + dt.timedelta(days=3), timezone.localdate() + dt.timedelta(days=20)
    open_summons_send(
        actor=scheduler,
        clinic=clinic,
        appointment_type=screening,
        resident=resident,
        valid_from=first,
        valid_until=last,
    )
    body = InboxMessage.objects.get(resident=resident).body
    assert f"mellan {_sv(first, 'date')} och {_sv(last, 'date')}" in body
    assert not ISO_DATE.search(body)


def test_the_inbox_lists_each_message_with_the_same_date_and_time(
    resident_client, scheduler, resident, appointment_type, resource
):
    slot = make_slot(appointment_type, resource, tomorrow_at(9, 0, days=3))
    booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)
    message = InboxMessage.objects.get(resident=resident)

    page = resident_client.get(reverse("bookings:inbox")).content.decode()
    assert _sv(message.created_at) in page
    detail = resident_client.get(reverse("bookings:message", args=[message.pk])).content.decode()
    assert _sv(message.created_at) in detail


def test_the_confirm_page_writes_the_visit_as_a_span_in_swedish_and_english(
    resident_client, appointment_type, resource
):
    start = tomorrow_at(9, 0, days=3)
    slot = make_slot(appointment_type, resource, start, minutes=30)
    hold = hold_via_client(resident_client, slot)
    url = reverse("bookings:confirm", args=[hold.pk])

    page = resident_client.get(url).content.decode()
    assert f"{_sv(start)}–09.30" in page
    resident_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = resident_client.get(url)
    with translation.override("en"):
        expected = dates.span(start, start + dt.timedelta(minutes=30))
    assert expected in english.content.decode() and "at 09:00–09:30" in expected
