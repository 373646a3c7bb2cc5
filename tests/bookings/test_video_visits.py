"""Video visits: a booking of a video type carries its own meeting link through every booking
channel, staff may set it by hand (audited), rebooking keeps it, and the resident may use it from
15 minutes before the start until 2 hours after (R-BOOK-5)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import AuditEvent, Role
from bookings.models import Booking
from bookings.services import (
    booking_cancel,
    booking_create,
    booking_create_by_proxy,
    booking_create_for_resident,
    booking_meeting_link_set,
    booking_rebook,
)
from bookings.video import meeting_join_for_resident
from clinics.services import appointment_type_save, clinic_meeting_template_update
from core.errors import BookingError, PermissionDeniedError, ValidationFailed

from ..factories import AppointmentTypeFactory, reloaded, staff, tomorrow_at
from ..pages import make_slot
from .conftest import TEMPLATE

pytestmark = pytest.mark.django_db

ROOM = re.compile(r"^https://mote\.region\.example/([A-Za-z0-9_-]{22,})$")


def _room(url: str) -> str:
    match = ROOM.match(url)
    assert match is not None, url
    return match.group(1)


# --- The clinic's template ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("http://mote.region.example/{room}", "https://"),
        ("https://mote.region.example/rum", "{room}"),
        ("https://mote region/{room}", "webbadress"),
        ("https://mote.region.example/{rom}/{room}", "webbadress"),
        ("javascript:alert(1)//{room}", "https://"),
        ("https://x/\x00{room}", "tecken"),
        ("https://mote.region.example/" + "a" * 450 + "{room}", "450"),
    ],
)
def test_a_bad_template_is_refused_beside_the_field_and_changes_nothing(local_admin, clinic, template, says):
    with pytest.raises(ValidationFailed) as refused:
        clinic_meeting_template_update(actor=local_admin, clinic=clinic, template=template)
    [message] = refused.value.field_errors["meeting_url_template"]
    assert says in str(message)
    assert reloaded(clinic).meeting_url_template == ""
    assert not AuditEvent.objects.filter(action="clinic.meeting_template_update").exists()


def test_the_local_admin_sets_the_template_and_the_change_is_audited(local_admin, clinic):
    clinic_meeting_template_update(actor=local_admin, clinic=clinic, template=f"  {TEMPLATE} ")
    assert reloaded(clinic).meeting_url_template == TEMPLATE
    event = AuditEvent.objects.get(action="clinic.meeting_template_update")
    assert (event.actor, event.clinic, event.detail) == (local_admin, clinic, TEMPLATE)
    clinic_meeting_template_update(actor=local_admin, clinic=clinic, template="")
    assert reloaded(clinic).meeting_url_template == ""
    assert AuditEvent.objects.filter(action="clinic.meeting_template_update").count() == 2


def test_only_an_admin_of_the_clinic_sets_its_template(scheduler, other_clinic, clinic):
    other_admin = staff(Role.LOCAL_ADMIN, other_clinic)
    for actor in (scheduler, other_admin):
        with pytest.raises(PermissionDeniedError):
            clinic_meeting_template_update(actor=actor, clinic=clinic, template=TEMPLATE)
    assert reloaded(clinic).meeting_url_template == ""


def test_the_django_admin_refuses_what_the_page_refuses(clinic):
    clinic.meeting_url_template = "http://mote.region.example/{room}"
    with pytest.raises(ValidationError) as refused:
        clinic.full_clean()
    assert "meeting_url_template" in refused.value.message_dict


def test_the_video_flag_is_saved_with_the_type(local_admin, clinic):
    saved = appointment_type_save(
        actor=local_admin, clinic=clinic, internal_name="Video", web_name="Videobesök", is_video_visit=True
    )
    assert reloaded(saved).is_video_visit is True


# --- A link for every booking, from every channel ----------------------------------------------


def test_every_booking_channel_gives_a_video_visit_its_own_unguessable_room(
    resident, other_resident, video_type, resource, scheduler, video_clinic
):
    proxy_video = AppointmentTypeFactory(clinic=video_clinic, internal_name="Ombud video", is_video_visit=True)
    booker = staff(Role.PROXY_BOOKER, video_clinic, unit_name="1177 Vårdguiden på telefon")
    slots = [make_slot(video_type, resource, tomorrow_at(9 + n, 0, days=3)) for n in range(4)]
    slots[2] = make_slot(proxy_video, resource, tomorrow_at(15, 0, days=3))
    token, _created = Token.objects.get_or_create(user=other_resident)
    fhir = Client(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    reference = {"reference": f"Slot/{slots[3].pk}"}
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "slot", "valueReference": reference}]}
    answer = fhir.post("/fhir/r4/Appointment/$book", json.dumps(parameters), content_type="application/fhir+json")
    assert answer.status_code == 201, answer.content[:300]

    bookings = [
        booking_create(resident=resident, slot_id=slots[0].pk),
        booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slots[1].pk),
        booking_create_by_proxy(actor=booker, resident=other_resident, slot_id=slots[2].pk),
        Booking.objects.get(slot=slots[3]),
    ]
    rooms = {_room(booking.meeting_url) for booking in bookings}
    assert len(rooms) == 4  # a room of its own each, 128 random bits


def test_a_visit_that_is_not_a_video_visit_has_no_link(resident, appointment_type, resource, video_clinic):
    booking = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, tomorrow_at(9)).pk)
    assert booking.meeting_url == ""
    assert meeting_join_for_resident(booking=booking) is None


def test_without_a_template_a_video_visit_waits_for_staff_to_give_the_link(resident, clinic, resource):
    video = AppointmentTypeFactory(clinic=clinic, is_video_visit=True)
    booking = booking_create(resident=resident, slot_id=make_slot(video, resource, tomorrow_at(9)).pk)
    assert booking.meeting_url == ""
    join = meeting_join_for_resident(booking=booking, now=booking.start)
    assert join is not None and not join.has_link and join.url == ""


# --- Rebooking ---------------------------------------------------------------------------------


def test_rebooking_keeps_the_link_and_a_booking_without_one_gets_a_room(resident, video_booking, video_type, resource):
    later = make_slot(video_type, resource, tomorrow_at(11, 0, days=4))
    moved = booking_rebook(resident=resident, booking_id=video_booking.pk, new_slot_id=later.pk)
    assert moved.meeting_url == video_booking.meeting_url

    Booking.objects.filter(pk=moved.pk).update(meeting_url="")
    again = make_slot(video_type, resource, tomorrow_at(13, 0, days=4))
    renewed = booking_rebook(resident=resident, booking_id=moved.pk, new_slot_id=again.pk)
    _room(renewed.meeting_url)


# --- Staff set the link by hand ----------------------------------------------------------------


def test_a_scheduler_sets_and_replaces_the_link_audited_without_the_link(scheduler, video_booking):
    sequence = video_booking.calendar_sequence
    booking_meeting_link_set(actor=scheduler, booking_id=video_booking.pk, meeting_url=" https://video.example.se/m/1 ")
    booking = reloaded(video_booking)
    assert booking.meeting_url == "https://video.example.se/m/1"
    assert booking.calendar_sequence == sequence + 1  # R-NOTE-5: calendars pick up the new link
    event = AuditEvent.objects.get(action="booking.meeting_link_set")
    assert (event.actor, event.resident, event.object_id, event.detail) == (
        scheduler,
        video_booking.resident,
        str(video_booking.pk),
        "replaced",
    )
    booking_meeting_link_set(actor=scheduler, booking_id=video_booking.pk, meeting_url="")
    assert reloaded(video_booking).meeting_url == ""
    assert AuditEvent.objects.filter(action="booking.meeting_link_remove").count() == 1
    for event in AuditEvent.objects.all():
        assert "video.example.se" not in event.detail and "mote.region" not in event.detail


@pytest.mark.parametrize(
    "url", ["http://video.example.se/m/1", "ftp://video.example.se", "inte en länk", "https://", "https://a\x00b"]
)
def test_a_bad_link_is_refused_beside_the_field(scheduler, video_booking, url):
    with pytest.raises(ValidationFailed) as refused:
        booking_meeting_link_set(actor=scheduler, booking_id=video_booking.pk, meeting_url=url)
    assert list(refused.value.field_errors) == ["meeting_url"]
    assert reloaded(video_booking).meeting_url == video_booking.meeting_url
    assert not AuditEvent.objects.filter(action__startswith="booking.meeting_link").exists()


def test_only_the_clinics_schedulers_set_a_link_on_an_active_video_visit(
    video_booking, support, local_admin, other_scheduler, scheduler, resident, appointment_type, resource
):
    for actor in (support, local_admin, other_scheduler, resident):
        with pytest.raises(BookingError):
            booking_meeting_link_set(actor=actor, booking_id=video_booking.pk, meeting_url="https://x.example.se/1")
    plain = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, tomorrow_at(15)).pk)
    with pytest.raises(ValidationFailed):
        booking_meeting_link_set(actor=scheduler, booking_id=plain.pk, meeting_url="https://x.example.se/1")
    booking_cancel(actor=resident, booking_id=video_booking.pk)
    with pytest.raises(BookingError):
        booking_meeting_link_set(actor=scheduler, booking_id=video_booking.pk, meeting_url="https://x.example.se/1")
    assert reloaded(video_booking).meeting_url == video_booking.meeting_url


# --- The join window (R-BOOK-5) ----------------------------------------------------------------


def test_r_book_5_the_link_is_usable_from_15_minutes_before_until_2_hours_after_the_start(video_booking):
    start = video_booking.start
    second = dt.timedelta(seconds=1)
    for now, open_ in [
        (start - dt.timedelta(minutes=15) - second, False),
        (start - dt.timedelta(minutes=15), True),
        (start, True),
        (start + dt.timedelta(hours=2) - second, True),
        (start + dt.timedelta(hours=2), False),
    ]:
        join = meeting_join_for_resident(booking=video_booking, now=now)
        assert join is not None
        assert join.is_open is open_, now - start
        assert join.url == (video_booking.meeting_url if open_ else "")
    before = meeting_join_for_resident(booking=video_booking, now=start - dt.timedelta(days=1))
    assert before is not None and before.not_yet and before.opens_at == start - dt.timedelta(minutes=15)


def test_the_window_is_reckoned_from_the_time_now(video_booking):
    join = meeting_join_for_resident(booking=video_booking)
    assert join is not None and not join.is_open and timezone.now() < join.opens_at
