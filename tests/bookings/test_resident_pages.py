"""The resident's web pages, driven through the Django test client: booking, viewing, rebooking,
cancelling (R-BOOK-*, R-TYPE-*), the inbox (R-BOOK-9), ownership (R-ACL-2) and language."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from accounts.models import Role
from bookings.book_views import DRAFT_KEY
from bookings.models import Booking, BookingStatus, InboxMessage, LogStatus, MessageKind, WebBookingLogEntry
from bookings.services import booking_create, booking_create_for_resident, inbox_message_send
from clinics.models import (
    AppointmentType,
    CaseKind,
    CaseType,
    ClinicRelation,
    RelationSource,
)
from clinics.services import relation_add
from core.errors import ErrorCode
from schedules.models import Hold, HoldState, Slot, SlotStatus
from schedules.selectors import LOCAL_TZ
from schedules.services import block_create, hold_create

from ..factories import (
    AppointmentTypeFactory,
    ResourceFactory,
    UserFactory,
    login_with_second_factor,
    staff,
    tomorrow_at,
)
from ..pages import (
    accept_conditions,
    error_message,
    found,
    hold_via_client,
    in_hours,
    make_slot,
    slot_inputs,
    sv_gettext,
    text,
    unread_badge,
)

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

# --- 4. The booking flow ---------------------------------------------------------------------------


def test_full_booking_flow(resident_client, resident, clinic, appointment_type, resource, day_slots):
    conditions_url = reverse("bookings:book_conditions", args=[clinic.pk])
    types_url = reverse("bookings:book_types", args=[clinic.pk])
    first, second = day_slots
    day = timezone.localtime(first.start, LOCAL_TZ).date()

    # Steps need the conditions to be accepted first.
    assert resident_client.get(types_url).url == conditions_url

    # Conditions (R-CASE-1).
    page = resident_client.get(conditions_url)
    assert page.status_code == 200
    assert "Avboka senast 24 timmar innan" in text(page) and "Ta med legitimation" in text(page)
    refused = resident_client.post(conditions_url, {})
    content = text(refused)
    assert refused.status_code == 400
    assert 'id="accept_error"' in content
    assert sv_gettext("Confirm that you have read the conditions to continue.") in content
    checkbox = found(r'<input type="checkbox"[^>]*\bid="accept"[^>]*>', content)[0]
    assert 'aria-invalid="true"' in checkbox and 'aria-describedby="accept_error"' in checkbox
    accepted = resident_client.post(conditions_url, {"accept": "yes"})
    assert accepted.status_code == 302 and accepted.url == types_url

    # Types (R-TYPE-1): web name and info, never the internal name.
    types_page = text(resident_client.get(types_url))
    assert "Besök" in types_page and "Kom tio minuter innan." in types_page
    assert "Uppföljning 30 min" not in types_page
    days_url = reverse("bookings:book_days", args=[clinic.pk, appointment_type.pk])
    assert f'href="{days_url}"' in types_page

    # Days: the day is a link whose accessible name says how many free times it has.
    days_page = resident_client.get(days_url)
    assert days_page.status_code == 200
    times_url = reverse("bookings:book_times", args=[clinic.pk, appointment_type.pk, day.isoformat()])
    link = re.search(rf'<a href="{re.escape(times_url)}"\s+aria-label="([^"]+)"', text(days_page))
    assert link, "the day with free times must be a link"
    label = link[1]
    assert label.rsplit(",", 1)[1].strip().startswith("2")
    with translation.override("sv"):
        assert ngettext("%(counter)s free time", "%(counter)s free times", 2) % {"counter": 2} in label

    # Times.
    times_page = text(resident_client.get(times_url))
    assert "10.00" in times_page and "10.30" in times_page and "Distriktssköterska" in times_page
    assert slot_inputs(times_page) == {first.pk, second.pk}

    # Hold (R-BOOK-3): the time leaves the web at once.
    response = resident_client.post(reverse("bookings:hold"), {"slot": first.pk, "back": times_url})
    hold = Hold.objects.get(resident=resident, state=HoldState.ACTIVE)
    assert response.status_code == 302 and response.url == reverse("bookings:confirm", args=[hold.pk])
    first.refresh_from_db()
    assert first.status == SlotStatus.HELD and not first.is_published
    assert first.pk not in slot_inputs(text(resident_client.get(times_url)))

    # Confirm page with the countdown.
    confirm_page = resident_client.get(response.url)
    content = text(confirm_page)
    assert confirm_page.status_code == 200
    seconds = int(found(r'id="countdown" data-seconds="(\d+)"', content)[1])
    assert 0 < seconds <= 300
    assert "Besök" in content and "Uppföljning 30 min" not in content
    assert 'name="phone"' not in content  # the clinic does not ask for a comment

    confirmed = resident_client.post(response.url)

    booking = Booking.objects.get(resident=resident)
    assert confirmed.status_code == 302
    assert confirmed.url == f"{reverse('bookings:detail', args=[booking.pk])}?kvitto=1"
    assert booking.status == BookingStatus.ACTIVE and booking.slot_id == first.pk
    hold.refresh_from_db()
    first.refresh_from_db()
    assert hold.state == HoldState.CONVERTED and first.status == SlotStatus.BOOKED
    log = WebBookingLogEntry.objects.get(resident=resident)
    assert log.status == LogStatus.BOOKED and log.booking_id == booking.pk
    receipt = resident_client.get(confirmed.url)
    assert receipt.status_code == 200 and "Besök" in text(receipt)
    assert ClinicRelation.objects.filter(resident=resident, clinic=clinic, on_start_page=True).exists()


def test_patient_comment_is_required_when_the_clinic_asks(resident_client, resident, clinic, day_slots):
    clinic.patient_comment_on_web = True
    clinic.save()
    hold = hold_via_client(resident_client, day_slots[0])
    url = reverse("bookings:confirm", args=[hold.pk])
    assert 'name="phone"' in text(resident_client.get(url))

    missing = resident_client.post(url, {"phone": "", "reason": "Ont i halsen"})

    content = text(missing)
    assert missing.status_code == 400
    assert 'id="phone_error"' in content and 'id="reason_error"' not in content
    phone_input = found(r'<input[^>]*\bid="phone"[^>]*>', content)[0]
    assert 'aria-invalid="true"' in phone_input and "phone_error" in phone_input
    assert "Ont i halsen" in content  # what was typed is shown again
    assert not Booking.objects.exists()
    hold.refresh_from_db()
    assert hold.state == HoldState.ACTIVE

    both_missing = resident_client.post(url, {"phone": "abc", "reason": "   "})
    assert both_missing.status_code == 400
    assert 'id="phone_error"' in text(both_missing) and 'id="reason_error"' in text(both_missing)
    assert not Booking.objects.exists()

    valid = resident_client.post(url, {"phone": "070-123 45 67", "reason": "Ont i halsen"})

    booking = Booking.objects.get(resident=resident)
    assert valid.status_code == 302
    assert booking.patient_phone == "070-123 45 67" and booking.patient_reason == "Ont i halsen"
    assert DRAFT_KEY not in resident_client.session


# --- 5. "Just taken" ----------------------------------------------------------------------------------


def test_time_just_taken_by_another_resident_gives_a_friendly_message(
    resident_client, other_client, resident, other_resident, clinic, appointment_type, day_slots
):
    slot = day_slots[0]
    hold = hold_via_client(resident_client, slot)
    assert resident_client.post(reverse("bookings:confirm", args=[hold.pk])).status_code == 302
    booking = Booking.objects.get(resident=resident)
    accept_conditions(other_client, clinic)
    back = reverse(
        "bookings:book_times",
        args=[clinic.pk, appointment_type.pk, timezone.localtime(slot.start, LOCAL_TZ).date().isoformat()],
    )

    response = other_client.post(reverse("bookings:hold"), {"slot": slot.pk, "back": back})

    assert response.status_code == 302 and response.url == back
    shown = other_client.get(back)
    assert shown.status_code == 200
    assert error_message(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED) in text(shown)
    assert not Booking.objects.filter(resident=other_resident).exists()
    assert not Hold.objects.filter(resident=other_resident).exists()
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE and slot.status == SlotStatus.BOOKED


def test_time_held_by_another_resident_cannot_be_held(resident_client, other_client, other_resident, day_slots):
    slot = day_slots[0]
    hold = hold_via_client(resident_client, slot)
    accept_conditions(other_client, slot.clinic)

    response = other_client.post(reverse("bookings:hold"), {"slot": slot.pk, "back": "/mina-tider/"}, follow=True)

    assert error_message(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED) in text(response)
    assert not Hold.objects.filter(resident=other_resident).exists()
    hold.refresh_from_db()
    assert hold.state == HoldState.ACTIVE


def test_a_time_cannot_be_held_before_the_conditions_are_accepted(resident_client, resident, slot):
    response = resident_client.post(reverse("bookings:hold"), {"slot": slot.pk, "back": "/"})

    assert response.status_code == 302
    assert response.url == reverse("bookings:book_conditions", args=[slot.clinic_id])
    assert not Hold.objects.filter(resident=resident).exists()


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "///evil.example"])
def test_hold_ignores_an_external_back_url(resident_client, resident, booked, back):
    accept_conditions(resident_client, booked.clinic)
    response = resident_client.post(reverse("bookings:hold"), {"slot": booked.slot_id, "back": back})

    assert response.status_code == 302 and response.url == "/"


def test_expired_hold_taken_by_someone_else_keeps_what_the_resident_typed(
    other_client, resident, other_resident, clinic, appointment_type, resource, day_slots
):
    """Resident B's hold ran out and resident A took the time: B's confirm says so kindly, and
    the phone and reason B typed are kept for the next attempt."""
    clinic.patient_comment_on_web = True
    clinic.save()
    first, second = day_slots
    b_hold = hold_via_client(other_client, first)
    Hold.objects.filter(pk=b_hold.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    a_hold = hold_create(resident=resident, slot_id=first.pk)
    booking_create(resident=resident, slot_id=first.pk, hold=a_hold, phone="08-111 222 33", reason="Kontroll")

    response = other_client.post(
        reverse("bookings:confirm", args=[b_hold.pk]), {"phone": "070-765 43 21", "reason": "Feber i tre dagar"}
    )

    assert response.status_code == 302
    shown = text(other_client.get(response.url))
    assert (
        error_message(ErrorCode.HOLD_EXPIRED) in shown
        or error_message(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED) in shown
    )
    assert not Booking.objects.filter(resident=other_resident).exists()
    assert Booking.objects.get(slot=first, status=BookingStatus.ACTIVE).resident_id == resident.pk
    assert other_client.session.get(DRAFT_KEY) == {
        "hold": b_hold.pk,
        "phone": "070-765 43 21",
        "reason": "Feber i tre dagar",
    }
    new_hold = hold_via_client(other_client, second)
    content = text(other_client.get(reverse("bookings:confirm", args=[new_hold.pk])))
    assert 'value="070-765 43 21"' in content and "Feber i tre dagar</textarea>" in content


def test_time_blocked_while_held_keeps_what_the_resident_typed(
    other_client, other_resident, clinic, appointment_type, resource, scheduler, day_slots
):
    clinic.patient_comment_on_web = True
    clinic.save()
    first, second = day_slots
    hold = hold_via_client(other_client, first)
    block_create(actor=scheduler, resource=resource, start=first.start, end=first.end)

    response = other_client.post(
        reverse("bookings:confirm", args=[hold.pk]), {"phone": "070-765 43 21", "reason": "Feber i tre dagar"}
    )

    assert response.status_code == 302
    assert response.url == reverse("bookings:book_days", args=[clinic.pk, appointment_type.pk])
    accept_conditions(other_client, clinic)
    assert error_message(ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED) in text(other_client.get(response.url))
    assert not Booking.objects.filter(resident=other_resident).exists()
    assert other_client.session[DRAFT_KEY] == {"hold": hold.pk, "phone": "070-765 43 21", "reason": "Feber i tre dagar"}
    new_hold = hold_via_client(other_client, second)
    content = text(other_client.get(reverse("bookings:confirm", args=[new_hold.pk])))
    assert 'value="070-765 43 21"' in content and "Feber i tre dagar</textarea>" in content


def test_release_gives_the_time_back(resident_client, resident, clinic, appointment_type, day_slots):
    slot = day_slots[0]
    hold = hold_via_client(resident_client, slot)

    response = resident_client.post(reverse("bookings:release", args=[hold.pk]))

    assert response.status_code == 302
    assert response.url == reverse("bookings:book_days", args=[clinic.pk, appointment_type.pk])
    hold.refresh_from_db()
    slot.refresh_from_db()
    assert hold.state == HoldState.RELEASED and slot.status == SlotStatus.FREE


# --- 6. My bookings, detail, .ics, cancel, rebook -------------------------------------------------------


def test_my_bookings_and_detail_show_the_web_name_only(resident_client, booked):
    content = text(resident_client.get(reverse("bookings:my_bookings")))

    assert "Besök" in content and "Distriktssköterska" in content and "Vårdcentralen Solna" in content
    assert "Uppföljning 30 min" not in content
    assert reverse("bookings:detail", args=[booked.pk]) in content
    assert reverse("bookings:cancel", args=[booked.pk]) in content
    assert reverse("bookings:rebook_conditions", args=[booked.pk]) in content

    detail = resident_client.get(reverse("bookings:detail", args=[booked.pk]))
    assert detail.status_code == 200
    assert "Besök" in text(detail) and "Uppföljning 30 min" not in text(detail)
    assert reverse("bookings:ics", args=[booked.pk]) in text(detail)


def test_ics_file_has_utc_start_and_the_web_name(resident_client, booked):
    response = resident_client.get(reverse("bookings:ics", args=[booked.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode().replace("\r\n ", "")
    start = booked.start.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    end = booked.end.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"\r\nDTSTART:{start}\r\n" in body and f"\r\nDTEND:{end}\r\n" in body
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    summary = found(r"^SUMMARY:(.*)$", body, re.M)[1]
    assert "Besök" in summary
    assert "Uppföljning" not in body


def test_cancelling_starts_with_the_manage_conditions_text(resident_client, resident, clinic, booked):
    """R-CASE-1: the MANAGE case type's conditions text comes first when cancelling, as when
    rebooking; a cancellation posted without reading it cancels nothing."""
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.MANAGE).update(conditions_text="• Avboka i god tid")
    cancel_url = reverse("bookings:cancel", args=[booked.pk])
    conditions_url = reverse("bookings:cancel_conditions", args=[booked.pk])

    assert resident_client.get(cancel_url).url == conditions_url
    posted = resident_client.post(cancel_url)
    assert posted.status_code == 302 and posted.url == conditions_url
    booked.refresh_from_db()
    assert booked.status == BookingStatus.ACTIVE

    page = resident_client.get(conditions_url)
    assert page.status_code == 200 and "Avboka i god tid" in text(page)
    assert resident_client.post(conditions_url, {}).status_code == 400
    accepted = resident_client.post(conditions_url, {"accept": "yes"})
    assert accepted.status_code == 302 and accepted.url == cancel_url
    assert resident_client.get(cancel_url).status_code == 200
    assert resident_client.post(cancel_url).url == reverse("bookings:my_bookings")
    booked.refresh_from_db()
    assert booked.status == BookingStatus.CANCELLED


@pytest.mark.parametrize(("hours_ahead", "late"), [(3, True), (72, False)])
def test_cancel_page_warns_about_late_cancellation_only_within_24_hours(
    resident_client, resident, appointment_type, resource, hours_ahead, late, django_capture_on_commit_callbacks
):
    slot = make_slot(appointment_type, resource, in_hours(hours_ahead))
    booking = booking_create(resident=resident, slot_id=slot.pk)
    url = reverse("bookings:cancel", args=[booking.pk])
    accept_conditions(resident_client, booking.clinic, CaseKind.MANAGE)

    page = resident_client.get(url)

    assert page.status_code == 200
    assert ('class="warning"' in text(page)) is late
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE  # GET changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = resident_client.post(url)

    assert response.status_code == 302 and response.url == reverse("bookings:my_bookings")
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert slot.status == SlotStatus.FREE and slot.is_published  # back on the web (R-PUB-1)
    log = WebBookingLogEntry.objects.get(resident=resident, status=LogStatus.CANCELLED)
    assert log.is_late is late
    assert reverse("bookings:detail", args=[booking.pk]) not in text(resident_client.get(response.url))
    assert resident_client.get(reverse("bookings:detail", args=[booking.pk])).status_code == 404


def test_rebook_offers_only_same_resource_and_type_and_moves_the_booking(
    resident_client, resident, clinic, appointment_type, resource, booked
):
    same = make_slot(appointment_type, resource, tomorrow_at(11, 0, days=4))
    other_resource = make_slot(
        appointment_type, ResourceFactory(clinic=clinic, name="Läkare Lund"), tomorrow_at(11, 0, days=4)
    )
    other_type = make_slot(
        AppointmentTypeFactory(clinic=clinic, web_name="Provtagning"), resource, tomorrow_at(12, 0, days=4)
    )
    conditions_url = reverse("bookings:rebook_conditions", args=[booked.pk])
    days_url = reverse("bookings:rebook_days", args=[booked.pk])
    day = timezone.localtime(same.start, LOCAL_TZ).date()
    times_url = reverse("bookings:rebook_times", args=[booked.pk, day.isoformat()])
    old_slot_id = booked.slot_id

    assert resident_client.get(days_url).url == conditions_url
    assert resident_client.get(times_url).url == conditions_url
    assert resident_client.get(conditions_url).status_code == 200
    assert resident_client.post(conditions_url, {}).status_code == 400
    accepted = resident_client.post(conditions_url, {"accept": "yes"})
    assert accepted.status_code == 302 and accepted.url == days_url

    # A day first (a month's calendar, no times on it), then that day's times.
    days_page = text(resident_client.get(f"{days_url}?manad={day:%Y-%m}"))
    assert slot_inputs(days_page) == set() and f'href="{times_url}"' in days_page
    offered = slot_inputs(text(resident_client.get(times_url)))
    assert offered == {same.pk}

    # A slot of another resource is refused even if posted by hand.
    refused = resident_client.post(
        reverse("bookings:hold"), {"slot": other_resource.pk, "rebook": booked.pk, "back": times_url}
    )
    assert refused.status_code == 302 and refused.url == times_url
    assert not Hold.objects.filter(slot__in=[other_resource, other_type]).exists()

    hold = hold_via_client(resident_client, same, rebook=booked.pk, back=times_url)
    assert hold.rebook_of_id == booked.pk
    confirm_url = reverse("bookings:confirm", args=[hold.pk])
    assert resident_client.get(confirm_url).status_code == 200

    response = resident_client.post(confirm_url)

    new = Booking.objects.get(resident=resident, status=BookingStatus.ACTIVE)
    assert response.status_code == 302
    assert response.url == f"{reverse('bookings:detail', args=[new.pk])}?kvitto=1"
    booked.refresh_from_db()
    assert booked.status == BookingStatus.REBOOKED
    assert new.slot_id == same.pk and new.rebooked_from_id == booked.pk
    assert Slot.objects.get(pk=old_slot_id).status == SlotStatus.FREE
    assert WebBookingLogEntry.objects.filter(resident=resident, status=LogStatus.REBOOKED).count() == 1


@pytest.mark.parametrize(("hours_ahead", "late"), [(3, True), (72, False)])
def test_rebook_page_warns_about_late_change_only_within_24_hours(
    resident_client, resident, clinic, appointment_type, resource, hours_ahead, late
):
    booking = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, in_hours(hours_ahead)).pk)
    accept_conditions(resident_client, clinic, CaseKind.MANAGE)

    page = resident_client.get(reverse("bookings:rebook_days", args=[booking.pk]))

    assert page.status_code == 200
    assert ('class="warning"' in text(page)) is late


def test_type_not_cancellable_on_web_says_call_the_clinic(resident_client, resident, clinic, resource):
    appointment_type = AppointmentTypeFactory(clinic=clinic, web_name="Samtal", cancellable_on_web=False)
    slot = make_slot(appointment_type, resource, tomorrow_at(9, 0, days=3))
    booking = booking_create(resident=resident, slot_id=slot.pk)
    detail_url = reverse("bookings:detail", args=[booking.pk])
    cancel_url = reverse("bookings:cancel", args=[booking.pk])

    content = text(resident_client.get(detail_url))
    with translation.override("sv"):
        expected = gettext("This time cannot be cancelled on the web. To cancel, call %(clinic)s on %(phone)s.") % {
            "clinic": clinic.name,
            "phone": clinic.phone,
        }
    assert expected in content
    assert clinic.phone in content
    assert cancel_url not in content
    assert reverse("bookings:rebook_conditions", args=[booking.pk]) in content  # still reschedulable
    assert cancel_url not in text(resident_client.get(reverse("bookings:my_bookings")))

    get = resident_client.get(cancel_url)
    assert get.status_code == 302 and get.url == detail_url
    post = resident_client.post(cancel_url)
    assert post.status_code == 302 and post.url == detail_url
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE and slot.status == SlotStatus.BOOKED
    assert not WebBookingLogEntry.objects.filter(status=LogStatus.CANCELLED).exists()
    assert error_message(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED) in text(resident_client.get(detail_url))


# --- 7. Inbox (R-BOOK-9) -----------------------------------------------------------------------------


def test_inbox_marks_unread_and_opening_marks_read(resident_client, resident, clinic):
    first = inbox_message_send(
        resident=resident, clinic=clinic, kind=MessageKind.INFO, subject="Välkommen", body="Hej och välkommen."
    )
    inbox_message_send(resident=resident, clinic=clinic, kind=MessageKind.INFO, subject="Påminnelse", body="Kom ihåg.")

    listing = text(resident_client.get(reverse("bookings:inbox")))
    assert listing.count('class="card unread"') == 2
    assert "Välkommen" in listing and "Påminnelse" in listing
    assert (badge := unread_badge(listing)) is not None and badge.startswith("2")

    opened = resident_client.get(reverse("bookings:message", args=[first.pk]))

    assert opened.status_code == 200
    assert "Hej och välkommen." in text(opened)
    first.refresh_from_db()
    assert first.read_at is not None
    assert (badge := unread_badge(text(opened))) is not None and badge.startswith("1")
    listing = text(resident_client.get(reverse("bookings:inbox")))
    assert listing.count('class="card unread"') == 1
    read_item = re.search(rf'<li class="card">\s*<a href="{reverse("bookings:message", args=[first.pk])}">', listing)
    assert read_item

    resident_client.get(reverse("bookings:message", args=[first.pk]))
    first.refresh_from_db()
    read_at = first.read_at
    resident_client.get(reverse("bookings:message", args=[first.pk]))
    first.refresh_from_db()
    assert first.read_at == read_at  # opening again does not move the read time


def test_nav_shows_no_badge_without_unread_messages(resident_client):
    assert unread_badge(text(resident_client.get(reverse("clinics:search")))) is None


def test_message_about_a_hidden_type_booking_never_shows(resident_client, resident, clinic, resource, scheduler):
    hidden = AppointmentTypeFactory(
        clinic=clinic,
        web_name="Hemlig",
        hidden_for_patient=True,
        bookable_on_web=False,
        cancellable_on_web=False,
        reschedulable_on_web=False,
    )
    slot = make_slot(hidden, resource, tomorrow_at(14, 0, days=2))
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)
    assert not InboxMessage.objects.filter(resident=resident).exists()  # no summons for a hidden type
    message = InboxMessage.objects.create(
        resident=resident,
        clinic=clinic,
        kind=MessageKind.SUMMONS,
        subject="Bokad tid: Hemlig",
        body="x",
        booking=booking,
    )

    listing = text(resident_client.get(reverse("bookings:inbox")))

    assert "Bokad tid: Hemlig" not in listing
    assert unread_badge(listing) is None
    assert resident_client.get(reverse("bookings:message", args=[message.pk])).status_code == 404
    message.refresh_from_db()
    assert message.read_at is None


def test_summons_about_a_type_hidden_later_disappears(resident_client, resident, appointment_type, resource, scheduler):
    slot = make_slot(appointment_type, resource, tomorrow_at(14, 0, days=2))
    booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)
    message = InboxMessage.objects.get(resident=resident)
    assert message.subject in text(resident_client.get(reverse("bookings:inbox")))

    AppointmentType.objects.filter(pk=appointment_type.pk).update(
        hidden_for_patient=True, bookable_on_web=False, cancellable_on_web=False, reschedulable_on_web=False
    )

    listing = text(resident_client.get(reverse("bookings:inbox")))
    assert message.subject not in listing and unread_badge(listing) is None
    assert resident_client.get(reverse("bookings:message", args=[message.pk])).status_code == 404


# --- 8. Ownership (R-ACL-2) -----------------------------------------------------------------------------


def test_another_resident_cannot_see_or_change_a_residents_data(
    other_client, resident, clinic, appointment_type, resource, booked
):
    held_slot = make_slot(appointment_type, resource, tomorrow_at(13, 0, days=3))
    free_slot = make_slot(appointment_type, resource, tomorrow_at(13, 30, days=3))
    hold = hold_create(resident=resident, slot_id=held_slot.pk)
    message = inbox_message_send(resident=resident, clinic=clinic, kind=MessageKind.INFO, subject="Privat", body="x")
    accept_conditions(other_client, clinic, CaseKind.MANAGE)

    day = timezone.localtime(free_slot.start, LOCAL_TZ).date().isoformat()
    for name, args in [
        *((name, [booked.pk]) for name in ("detail", "ics", "cancel", "cancel_conditions", "rebook_conditions")),
        ("rebook_days", [booked.pk]),
        ("rebook_times", [booked.pk, day]),
    ]:
        response = other_client.get(reverse(f"bookings:{name}", args=args))
        assert response.status_code == 404, name
        assert "Besök" not in text(response) or name == "ics"
    for name in ("cancel", "cancel_conditions", "rebook_conditions"):
        assert other_client.post(reverse(f"bookings:{name}", args=[booked.pk]), {"accept": "yes"}).status_code == 404
    assert other_client.get(reverse("bookings:message", args=[message.pk])).status_code == 404
    rebook_hold = other_client.post(reverse("bookings:hold"), {"slot": free_slot.pk, "rebook": booked.pk})
    assert rebook_hold.status_code == 404

    confirm_url = reverse("bookings:confirm", args=[hold.pk])
    get = other_client.get(confirm_url)
    assert get.status_code == 302 and get.url == reverse("bookings:my_bookings")
    post = other_client.post(confirm_url, {"phone": "070-123 45 67", "reason": "x"})
    assert post.status_code == 302 and post.url == reverse("bookings:my_bookings")
    assert other_client.post(reverse("bookings:release", args=[hold.pk])).status_code == 404

    # Nothing of the first resident's changed.
    booked.refresh_from_db()
    hold.refresh_from_db()
    message.refresh_from_db()
    held_slot.refresh_from_db()
    free_slot.refresh_from_db()
    assert booked.status == BookingStatus.ACTIVE and booked.resident_id == resident.pk
    assert hold.state == HoldState.ACTIVE and hold.resident_id == resident.pk
    assert held_slot.status == SlotStatus.HELD and free_slot.status == SlotStatus.FREE
    assert message.read_at is None
    assert Booking.objects.count() == 1
    assert not Hold.objects.exclude(pk=hold.pk).exists()
    assert list(WebBookingLogEntry.objects.values_list("status", flat=True)) == [LogStatus.BOOKED]
    assert "Privat" not in text(other_client.get(reverse("bookings:inbox")))
    assert reverse("bookings:detail", args=[booked.pk]) not in text(other_client.get(reverse("bookings:my_bookings")))


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.SUPPORT, None], ids=["scheduler", "support", "no_role"])
def test_staff_user_gets_403_on_resident_pages(client, clinic, booked, role):
    user = staff(role, clinic) if role else UserFactory()
    TOTP.activate(user, TOTP_SECRET)
    login_with_second_factor(client, user)
    hold_slot = make_slot(booked.appointment_type, booked.resource, tomorrow_at(13, 0, days=3))

    urls = [
        reverse("bookings:start"),
        reverse("bookings:my_bookings"),
        reverse("bookings:inbox"),
        reverse("bookings:book_conditions", args=[clinic.pk]),
        reverse("clinics:contact_card_login", args=[clinic.pk, "book"]),
        reverse("bookings:detail", args=[booked.pk]),
        reverse("bookings:ics", args=[booked.pk]),
        reverse("bookings:cancel", args=[booked.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("bookings:cancel", args=[booked.pk])).status_code == 403
    assert client.post(reverse("bookings:hold"), {"slot": hold_slot.pk}).status_code == 403
    booked.refresh_from_db()
    assert booked.status == BookingStatus.ACTIVE
    assert not Hold.objects.exists()


# --- 9. Hidden types (R-TYPE-2) --------------------------------------------------------------------------


def test_hidden_type_never_appears_to_the_resident(
    resident_client, resident, clinic, appointment_type, resource, scheduler
):
    hidden = AppointmentTypeFactory(
        clinic=clinic,
        internal_name="Intern provtagning",
        web_name="Hemlig provtagning",
        hidden_for_patient=True,
        bookable_on_web=False,
        cancellable_on_web=False,
        reschedulable_on_web=False,
    )
    hidden_slot = make_slot(hidden, resource, tomorrow_at(15, 0, days=2))
    visible_slot = make_slot(appointment_type, resource, tomorrow_at(16, 0, days=2))
    hidden_booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=hidden_slot.pk)
    visible_booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=visible_slot.pk)
    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)
    accept_conditions(resident_client, clinic)

    types_page = text(resident_client.get(reverse("bookings:book_types", args=[clinic.pk])))
    assert "Besök" in types_page
    assert "Hemlig provtagning" not in types_page and "Intern provtagning" not in types_page
    assert resident_client.get(reverse("bookings:book_days", args=[clinic.pk, hidden.pk])).status_code == 404

    for url in (reverse("bookings:my_bookings"), reverse("bookings:start"), reverse("bookings:inbox")):
        content = text(resident_client.get(url))
        assert "Hemlig provtagning" not in content, url
        assert reverse("bookings:detail", args=[hidden_booking.pk]) not in content, url
    assert reverse("bookings:detail", args=[visible_booking.pk]) in text(
        resident_client.get(reverse("bookings:my_bookings"))
    )
    for name in ("detail", "ics", "cancel", "cancel_conditions", "rebook_conditions"):
        assert resident_client.get(reverse(f"bookings:{name}", args=[hidden_booking.pk])).status_code == 404, name
    assert resident_client.post(reverse("bookings:cancel", args=[hidden_booking.pk])).status_code == 404
    hidden_booking.refresh_from_db()
    assert hidden_booking.status == BookingStatus.ACTIVE

    free_hidden = make_slot(hidden, resource, tomorrow_at(15, 30, days=2))
    response = resident_client.post(reverse("bookings:hold"), {"slot": free_hidden.pk, "back": "/"})
    assert response.status_code == 302 and response.url == "/"
    assert not Hold.objects.filter(slot=free_hidden).exists()


# --- 10. Language -------------------------------------------------------------------------------------


def test_site_is_swedish_by_default_even_if_the_browser_asks_for_english(client, db):
    response = client.get(reverse("clinics:search"), HTTP_ACCEPT_LANGUAGE="en")

    content = text(response)
    assert '<html lang="sv">' in content
    assert sv_gettext("Book, rebook or cancel a time at your clinic") in content
    assert 'name="language" value="en"' in content  # the switch offers English


def test_language_cookie_switches_to_english(client, db):
    client.cookies["django_language"] = "en"

    content = text(client.get(reverse("clinics:search")))

    assert '<html lang="en">' in content
    assert "Book, rebook or cancel a time at your clinic" in content and "Find a clinic" in content
    assert 'name="language" value="sv"' in content


def test_unknown_language_cookie_falls_back_to_swedish(client, db):
    client.cookies["django_language"] = "de"

    assert '<html lang="sv">' in text(client.get(reverse("clinics:search")))


def test_language_switch_sets_the_cookie(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    assert response.status_code == 302
    assert client.cookies["django_language"].value == "en"
    assert '<html lang="en">' in text(client.get("/"))
