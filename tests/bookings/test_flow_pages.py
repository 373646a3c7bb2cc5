"""The book, rebook and cancel flows as a resident meets them (issue 15): back after booking, a
hold that ran out or was refused, what was typed staying with its attempt, the GOV.UK error
summary, "Steg N av M" with a back link on every step, the rebooking's day-first choice and its
24-hour warning (R-BOOK-8), and the visit's end time."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.book_views import DRAFT_CARRY_MINUTES, DRAFT_KEY
from bookings.models import Booking, BookingStatus
from bookings.services import booking_create
from clinics.models import CaseKind
from core.errors import ErrorCode
from schedules.models import Hold, HoldState, SlotStatus
from schedules.selectors import LOCAL_TZ

from ..factories import AppointmentTypeFactory, ResourceFactory, tomorrow_at
from ..pages import accept_conditions, error_message, found, hold_via_client, in_hours, make_slot, slot_inputs, text

pytestmark = pytest.mark.django_db


def _title(content: str) -> str:
    return found(r"<title>(.*?)</title>", content, re.S)[1].strip()


# --- 1. Back after a successful booking ----------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_back_after_booking_says_the_time_is_already_booked_and_links_to_it(
    resident_client, resident, day_slots, method
):
    hold = hold_via_client(resident_client, day_slots[0])
    url = reverse("bookings:confirm", args=[hold.pk])
    booked = resident_client.post(url)
    booking = Booking.objects.get(resident=resident)
    assert booked.status_code == 302

    again = getattr(resident_client, method)(url)

    content = text(again)
    assert again.status_code == 200
    assert "<h1>Du har redan bokat den här tiden</h1>" in content
    assert f'href="{reverse("bookings:detail", args=[booking.pk])}"' in content
    assert error_message(ErrorCode.HOLD_EXPIRED) not in content
    assert "no-store" in again["Cache-Control"]  # the browser asks again on "back"
    assert Booking.objects.filter(resident=resident).count() == 1


def test_confirm_page_is_never_cached(resident_client, day_slots):
    hold = hold_via_client(resident_client, day_slots[0])
    assert "no-store" in resident_client.get(reverse("bookings:confirm", args=[hold.pk]))["Cache-Control"]


# --- 2. The hold ---------------------------------------------------------------------------------


def test_hold_run_out_is_refused_and_its_time_offered_again_when_it_commits(
    resident_client, other_client, clinic, appointment_type, day_slots, django_capture_on_commit_callbacks
):
    """Without the countdown script the server says it plainly: no "reserved until", no button."""
    slot = day_slots[0]
    hold = hold_via_client(resident_client, slot)
    confirm_page = text(resident_client.get(reverse("bookings:confirm", args=[hold.pk])))
    # The hooks the countdown script uses to disable the button at zero.
    assert 'id="confirm-button"' in confirm_page and "data-expired=" in confirm_page
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))  # not yet swept

    # The publisher runs when the release commits (R-PUB-3: appearing is the workers' job).
    with django_capture_on_commit_callbacks(execute=True):
        response = resident_client.get(reverse("bookings:confirm", args=[hold.pk]))

    days_url = reverse("bookings:book_days", args=[clinic.pk, appointment_type.pk])
    assert response.status_code == 302 and response.url == days_url
    assert error_message(ErrorCode.HOLD_EXPIRED) in text(resident_client.get(days_url))
    hold.refresh_from_db()
    slot.refresh_from_db()
    assert hold.state == HoldState.RELEASED
    assert slot.status == SlotStatus.FREE and slot.is_published
    assert resident_client.post(reverse("bookings:confirm", args=[hold.pk])).status_code == 302
    assert not Booking.objects.exists()
    accept_conditions(other_client, clinic)
    day = timezone.localtime(slot.start, LOCAL_TZ).date().isoformat()
    offered = slot_inputs(
        text(other_client.get(reverse("bookings:book_times", args=[clinic.pk, appointment_type.pk, day])))
    )
    assert slot.pk in offered


def test_released_time_is_offered_to_others_when_the_release_commits(
    resident_client, other_client, clinic, appointment_type, day_slots, django_capture_on_commit_callbacks
):
    slot = day_slots[0]
    hold = hold_via_client(resident_client, slot)
    day = timezone.localtime(slot.start, LOCAL_TZ).date().isoformat()
    times_url = reverse("bookings:book_times", args=[clinic.pk, appointment_type.pk, day])
    accept_conditions(other_client, clinic)
    assert slot.pk not in slot_inputs(text(other_client.get(times_url)))

    with django_capture_on_commit_callbacks(execute=True):
        resident_client.post(reverse("bookings:release", args=[hold.pk]))

    assert slot.pk in slot_inputs(text(other_client.get(times_url)))


def test_overlap_refusal_lets_the_held_time_go_at_once(
    resident_client, resident, clinic, booked, django_capture_on_commit_callbacks
):
    """R-BOOK-2: the confirmation is refused, and the held time is free for others at once, not
    kept from everyone for the rest of the five minutes."""
    overlapping = make_slot(
        AppointmentTypeFactory(clinic=clinic, web_name="Provtagning"),
        ResourceFactory(clinic=clinic, name="Läkare Lund"),
        booked.start + dt.timedelta(minutes=10),
    )
    hold = hold_via_client(resident_client, overlapping)

    with django_capture_on_commit_callbacks(execute=True):
        response = resident_client.post(reverse("bookings:confirm", args=[hold.pk]))

    assert response.status_code == 302
    assert error_message(ErrorCode.USER_IS_ALREADY_OCCUPIED) in text(resident_client.get(response.url))
    hold.refresh_from_db()
    overlapping.refresh_from_db()
    assert hold.state == HoldState.RELEASED
    assert overlapping.status == SlotStatus.FREE and overlapping.is_published
    assert Booking.objects.filter(resident=resident).count() == 1


def _fail_with_typed_comment(client, clinic, slot) -> Hold:
    """A confirmation that fails after the resident typed a phone number and a reason."""
    clinic.patient_comment_on_web = True
    clinic.save()
    hold = hold_via_client(client, slot)
    Hold.objects.filter(pk=hold.pk).update(state=HoldState.RELEASED)
    response = client.post(
        reverse("bookings:confirm", args=[hold.pk]), {"phone": "070-765 43 21", "reason": "Feber i tre dagar"}
    )
    assert response.status_code == 302
    return hold


def test_typed_comment_does_not_prefill_an_unrelated_booking(resident_client, clinic, resource, day_slots):
    _fail_with_typed_comment(resident_client, clinic, day_slots[0])
    other_type = make_slot(
        AppointmentTypeFactory(clinic=clinic, web_name="Provtagning"),
        ResourceFactory(clinic=clinic, name="Läkare Lund"),
        day_slots[1].start,
    )

    new_hold = hold_via_client(resident_client, other_type)

    content = text(resident_client.get(reverse("bookings:confirm", args=[new_hold.pk])))
    assert "070-765 43 21" not in content and "Feber i tre dagar" not in content
    assert DRAFT_KEY not in resident_client.session


def test_typed_comment_does_not_prefill_the_same_type_much_later(resident_client, clinic, day_slots):
    failed = _fail_with_typed_comment(resident_client, clinic, day_slots[0])
    Hold.objects.filter(pk=failed.pk).update(created_at=timezone.now() - dt.timedelta(minutes=DRAFT_CARRY_MINUTES + 1))

    new_hold = hold_via_client(resident_client, day_slots[1])

    content = text(resident_client.get(reverse("bookings:confirm", args=[new_hold.pk])))
    assert "070-765 43 21" not in content and "Feber i tre dagar" not in content


def test_typed_comment_goes_with_the_next_time_chosen_in_the_same_flow(resident_client, clinic, day_slots):
    _fail_with_typed_comment(resident_client, clinic, day_slots[0])

    new_hold = hold_via_client(resident_client, day_slots[1])

    content = text(resident_client.get(reverse("bookings:confirm", args=[new_hold.pk])))
    assert 'value="070-765 43 21"' in content and "Feber i tre dagar</textarea>" in content
    assert resident_client.session[DRAFT_KEY]["hold"] == new_hold.pk


# --- 3. The error summary ------------------------------------------------------------------------


def test_conditions_error_has_a_summary_linking_to_the_field_and_an_error_title(resident_client, clinic):
    refused = resident_client.post(reverse("bookings:book_conditions", args=[clinic.pk]), {})

    content = text(refused)
    assert refused.status_code == 400
    assert _title(content).startswith("Fel: ")
    summary = found(r'<div class="warning error-summary"[^>]*id="error-summary".*?</div>', content, re.S)[0]
    assert 'href="#accept"' in summary and "Bekräfta att du har läst villkoren" in summary
    assert 'id="accept_error"' in content  # and the message beside the field
    assert "js/error-summary.js" in content
    assert not _title(text(resident_client.get(reverse("bookings:book_conditions", args=[clinic.pk])))).startswith(
        "Fel"
    )


def test_confirm_errors_have_a_summary_linking_to_each_field(resident_client, clinic, day_slots):
    clinic.patient_comment_on_web = True
    clinic.save()
    hold = hold_via_client(resident_client, day_slots[0])

    refused = resident_client.post(reverse("bookings:confirm", args=[hold.pk]), {"phone": "abc", "reason": " "})

    content = text(refused)
    assert refused.status_code == 400
    assert _title(content).startswith("Fel: ")
    summary = found(r'id="error-summary".*?</div>', content, re.S)[0]
    assert 'href="#phone"' in summary and 'href="#reason"' in summary
    assert 'id="phone_error"' in content and 'id="reason_error"' in content
    assert content.index('id="error-summary"') < content.index("<h1>")


# --- 4. Steps and back links; rebooking starts with a day ----------------------------------------


def _steps(content: str) -> tuple[str, str]:
    step = found(r'<p class="steps">(Steg \d+ av \d+)</p>', content)[1]
    back = found(r'class="(?:link-button )?back-link"', content)[0]
    return step, back


def test_every_booking_step_says_where_the_resident_is_and_links_back(
    resident_client, resident, clinic, appointment_type, day_slots
):
    day = timezone.localtime(day_slots[0].start, LOCAL_TZ).date()
    pages = [
        reverse("bookings:book_conditions", args=[clinic.pk]),
        reverse("bookings:book_types", args=[clinic.pk]),
        f"{reverse('bookings:book_days', args=[clinic.pk, appointment_type.pk])}?manad={day:%Y-%m}",
        reverse("bookings:book_times", args=[clinic.pk, appointment_type.pk, day.isoformat()]),
    ]
    accept_conditions(resident_client, clinic)
    for number, url in enumerate(pages, start=1):
        assert _steps(text(resident_client.get(url)))[0] == f"Steg {number} av 5", url
    hold = hold_via_client(resident_client, day_slots[0])
    confirm = text(resident_client.get(reverse("bookings:confirm", args=[hold.pk])))
    assert _steps(confirm)[0] == "Steg 5 av 5"
    # Back from the confirmation lets the time go and returns to that day's times.
    back = found(
        r'<form method="post" action="([^"]+)" class="back-form">.*?name="back" value="([^"]+)"', confirm, re.S
    )
    assert back[1] == reverse("bookings:release", args=[hold.pk]) and back[2] == pages[3]
    response = resident_client.post(back[1], {"back": back[2]})
    assert response.status_code == 302 and response.url == pages[3]
    hold.refresh_from_db()
    assert hold.state == HoldState.RELEASED


def test_release_back_is_never_an_open_redirect(resident_client, day_slots):
    hold = hold_via_client(resident_client, day_slots[0])
    response = resident_client.post(reverse("bookings:release", args=[hold.pk]), {"back": "//evil.example/"})
    assert response.status_code == 302 and response.url == "/"


def test_every_rebook_and_cancel_step_says_where_the_resident_is_and_links_back(
    resident_client, resident, clinic, appointment_type, resource, booked
):
    new_slot = make_slot(appointment_type, resource, tomorrow_at(11, 0, days=4))
    day = timezone.localtime(new_slot.start, LOCAL_TZ).date()
    assert _steps(text(resident_client.get(reverse("bookings:rebook_conditions", args=[booked.pk]))))[0] == (
        "Steg 1 av 4"
    )
    assert _steps(text(resident_client.get(reverse("bookings:cancel_conditions", args=[booked.pk]))))[0] == (
        "Steg 1 av 2"
    )
    accept_conditions(resident_client, clinic, CaseKind.MANAGE)
    days = text(resident_client.get(f"{reverse('bookings:rebook_days', args=[booked.pk])}?manad={day:%Y-%m}"))
    times_url = reverse("bookings:rebook_times", args=[booked.pk, day.isoformat()])
    assert _steps(days)[0] == "Steg 2 av 4"
    assert slot_inputs(days) == set() and f'href="{times_url}"' in days  # a day first, not every time
    times = text(resident_client.get(times_url))
    assert _steps(times)[0] == "Steg 3 av 4" and slot_inputs(times) == {new_slot.pk}
    hold = hold_via_client(resident_client, new_slot, rebook=booked.pk)
    assert _steps(text(resident_client.get(reverse("bookings:confirm", args=[hold.pk]))))[0] == "Steg 4 av 4"
    assert _steps(text(resident_client.get(reverse("bookings:cancel", args=[booked.pk]))))[0] == "Steg 2 av 2"


def test_rebook_day_with_bad_date_is_not_found(resident_client, clinic, booked):
    accept_conditions(resident_client, clinic, CaseKind.MANAGE)
    assert resident_client.get(reverse("bookings:rebook_times", args=[booked.pk, "2026-13-45"])).status_code == 404


# --- 5. Late rebooking (R-BOOK-8) ----------------------------------------------------------------


@pytest.mark.parametrize(("hours_ahead", "late"), [(3, True), (72, False)])
def test_rebook_confirm_page_warns_within_24_hours(
    resident_client, resident, clinic, appointment_type, resource, hours_ahead, late
):
    booking = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, in_hours(hours_ahead)).pk)
    hold = hold_via_client(resident_client, make_slot(appointment_type, resource, in_hours(96)), rebook=booking.pk)

    content = text(resident_client.get(reverse("bookings:confirm", args=[hold.pk])))

    assert ("kliniken kan ta betalt" in content or "debitera" in content) is late
    assert ('class="warning" role="alert"' in content) is late


# --- 6. The rebooking's receipt; the visit's end time --------------------------------------------


def test_rebooking_receipt_says_rebooked_and_a_new_booking_says_booked(
    resident_client, resident, clinic, appointment_type, resource, booked, day_slots
):
    new_slot = make_slot(appointment_type, resource, tomorrow_at(11, 0, days=4), minutes=30)
    hold = hold_via_client(resident_client, new_slot, rebook=booked.pk)
    response = resident_client.post(reverse("bookings:confirm", args=[hold.pk]))
    assert "<h1>Din tid är ombokad</h1>" in text(resident_client.get(response.url))

    hold = hold_via_client(resident_client, day_slots[0])
    response = resident_client.post(reverse("bookings:confirm", args=[hold.pk]))
    assert "<h1>Din tid är bokad</h1>" in text(resident_client.get(response.url))
    assert Booking.objects.filter(resident=resident, status=BookingStatus.ACTIVE).count() == 2


def test_times_and_confirm_show_when_the_visit_ends(resident_client, clinic, appointment_type, resource):
    slot = make_slot(appointment_type, resource, tomorrow_at(10, 0, days=3), minutes=30)
    accept_conditions(resident_client, clinic)
    day = timezone.localtime(slot.start, LOCAL_TZ).date().isoformat()

    times = text(resident_client.get(reverse("bookings:book_times", args=[clinic.pk, appointment_type.pk, day])))
    hold = hold_via_client(resident_client, slot)
    confirm = text(resident_client.get(reverse("bookings:confirm", args=[hold.pk])))

    assert '10.00</span><span class="time-end">–10.30</span>' in times
    assert "kl. 10.00–10.30" in confirm
