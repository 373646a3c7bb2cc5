"""The staff booking pages (bookings/staff_views.py): a booking in the timebook and its cancellation,
booking for a resident and the waitlist, driven through the Django test client."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, User
from bookings.models import (
    Booking,
    BookingStatus,
    Channel,
    InboxMessage,
    MessageKind,
    WaitlistEntry,
    WaitlistStatus,
)
from bookings.services import booking_cancel, booking_create, booking_create_for_resident
from clinics.models import ClinicRelation
from schedules.models import Slot, SlotStatus
from schedules.selectors import LOCAL_TZ
from schedules.services import block_create

from ..factories import (
    AppointmentTypeFactory,
    ResidentFactory,
    SlotFactory,
    WaitlistEntryFactory,
    make_personnummer,
    tomorrow_at,
)
from ..pages import sv_gettext
from ..workspace import flashed, sv, text, ws_url

# --- Booking detail and cancelling for the resident (R-BOOK-4, R-BOOK-9, R-LOG-4) -----------------


def test_booking_detail_shows_the_booking_and_is_audited(sched, clinic, slot, scheduler, resident):
    clinic.patient_comment_on_web = True
    clinic.save()
    booking = booking_create(resident=resident, slot_id=slot.pk, phone="070-765 43 21", reason="Förnyelse av recept")

    response = sched.get(ws_url(clinic, "booking_detail", booking_id=booking.pk))

    page = text(response)
    assert response.status_code == 200
    assert "Anna Andersson" in page and resident.personnummer_display in page
    assert "Webbtidbok" in page and "070-765 43 21" in page and "Förnyelse av recept" in page
    assert slot.appointment_type.internal_name in page and slot.resource.name in page
    event = AuditEvent.objects.get(action="booking.read")
    assert (event.actor, event.resident, event.clinic, event.object_id) == (
        scheduler,
        resident,
        clinic,
        str(booking.pk),
    )


def test_unknown_booking_is_not_found(sched, clinic):
    assert sched.get(ws_url(clinic, "booking_detail", booking_id=987654)).status_code == 404


def test_cancel_for_resident_frees_the_time_and_sends_a_message(
    sched, clinic, slot, scheduler, resident, django_capture_on_commit_callbacks
):
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = sched.post(ws_url(clinic, "booking_cancel", booking_id=booking.pk), {"confirmed": "yes"})

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.ended_by == scheduler
    slot.refresh_from_db()
    assert slot.status == SlotStatus.FREE and slot.is_published
    message = InboxMessage.objects.get(resident=resident, kind=MessageKind.CANCELLATION)
    assert message.booking == booking
    event = AuditEvent.objects.get(action="booking.cancel")
    assert (event.actor, event.resident, event.object_id) == (scheduler, resident, str(booking.pk))


def test_cancelling_twice_is_a_message_not_a_crash(sched, clinic, slot, scheduler, resident):
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)
    sched.post(ws_url(clinic, "booking_cancel", booking_id=booking.pk), {"confirmed": "yes"})

    response = sched.post(ws_url(clinic, "booking_cancel", booking_id=booking.pk), {"confirmed": "yes"})

    assert response.status_code == 302
    assert InboxMessage.objects.filter(kind=MessageKind.CANCELLATION).count() == 1
    assert flashed(response)


def test_cancelling_asks_first_and_cancels_nothing_until_confirmed(
    sched, clinic, slot, scheduler, resident, django_capture_on_commit_callbacks
):
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)
    reason = "Doktorn är   sjuk i dag."

    with django_capture_on_commit_callbacks(execute=True):
        asked = sched.post(ws_url(clinic, "booking_cancel", booking_id=booking.pk), {"reason": reason})

    assert asked.status_code == 200
    page = text(asked)
    assert sv_gettext("Cancel this time?") in page and sv_gettext("Yes, cancel the time") in page
    assert "Doktorn är sjuk i dag." in page  # shown as it will be sent, and carried to the confirmation
    assert 'name="confirmed" value="yes"' in page
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.BOOKED
    assert not InboxMessage.objects.filter(kind=MessageKind.CANCELLATION).exists()
    assert not AuditEvent.objects.filter(action="booking.cancel").exists()


def test_the_reason_given_when_cancelling_reaches_the_residents_message(
    sched, clinic, slot, scheduler, resident, django_capture_on_commit_callbacks
):
    booking = booking_create_for_resident(actor=scheduler, resident=resident, slot_id=slot.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = sched.post(
            ws_url(clinic, "booking_cancel", booking_id=booking.pk),
            {"reason": "Doktorn är sjuk i dag.", "confirmed": "yes"},
        )

    assert response.status_code == 302
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    message = InboxMessage.objects.get(resident=resident, kind=MessageKind.CANCELLATION, booking=booking)
    assert message.body.endswith("Mottagningens orsak: Doktorn är sjuk i dag.")


# --- Booking for a resident (R-BOOK-9, R-REL-1, R-LOG-4) ---------------------------------------------


def find_resident(sched, clinic, personnummer: str) -> str:
    """Look the resident up as the page does (R-SEC-3): the personnummer is posted and the
    answer is a redirect to the page, which names the search by an opaque token."""
    response = sched.post(ws_url(clinic, "book_for_resident"), {"personnummer": personnummer})
    assert response.status_code == 302
    return response.url


def test_bad_personnummer_is_a_field_error_and_creates_nobody(sched, clinic, slot):
    before = User.objects.count()
    response = sched.post(ws_url(clinic, "book_for_resident"), {"personnummer": "19850314-1235"})
    assert response.status_code == 400
    page = text(response)
    assert 'id="id_personnummer"' in page and 'aria-invalid="true"' in page and sv("Error:") in page
    assert "personnummer" in response.context["lookup"].errors
    assert User.objects.count() == before and not AuditEvent.objects.exists()


def test_book_for_a_new_resident_creates_them_relation_and_summons(
    sched, clinic, scheduler, slot, appointment_type, django_capture_on_commit_callbacks
):
    personnummer = make_personnummer()
    url = find_resident(sched, clinic, personnummer)
    found = sched.get(url)
    assert found.status_code == 200
    assert slot in found.context["free_times"]
    # A read never writes (R-SEC-3): the resident is created by the POST that books, below.
    assert not User.objects.filter(personnummer=personnummer).exists()
    assert f"{personnummer[:8]}-{personnummer[8:]}" in text(found)

    with django_capture_on_commit_callbacks(execute=True):
        response = sched.post(url, {"sok": found.context["search_token"], "slot": slot.pk})

    resident = User.objects.get(personnummer=personnummer)
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response.url == ws_url(clinic, "booking_detail", booking_id=booking.pk)
    assert (booking.resident, booking.channel, booking.created_by) == (resident, Channel.STAFF, scheduler)
    assert ClinicRelation.objects.get(resident=resident, clinic=clinic).on_start_page
    summons = InboxMessage.objects.get(resident=resident)
    assert summons.kind == MessageKind.SUMMONS and summons.booking == booking
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.BOOKED
    event = AuditEvent.objects.get(action="booking.create_for_resident")
    assert (event.actor, event.resident, event.object_id) == (scheduler, resident, str(booking.pk))
    detail = sched.get(response.url)
    assert f"Sara Schema (id {scheduler.pk})" in text(detail)


def test_finding_a_known_resident_is_audited(sched, clinic, scheduler, resident, slot):
    page = sched.get(find_resident(sched, clinic, resident.personnummer))

    assert page.context["resident"] == resident and "Anna Andersson" in text(page)
    lookup = AuditEvent.objects.get(action="resident.lookup")
    assert (lookup.actor, lookup.resident) == (scheduler, resident)


def test_a_refused_booking_leaves_no_new_resident(sched, clinic, slot, other_resident):
    booking_create(resident=other_resident, slot_id=slot.pk)
    personnummer = make_personnummer()
    url = find_resident(sched, clinic, personnummer)
    token = url.split("?sok=", 1)[1]

    response = sched.post(url, {"sok": token, "slot": slot.pk})

    assert response.status_code == 400
    assert not User.objects.filter(personnummer=personnummer).exists()


def test_no_personnummer_in_the_urls_of_book_for_resident(sched, clinic, resident, slot, appointment_type):
    url = find_resident(sched, clinic, f"{resident.personnummer[2:8]}-{resident.personnummer[8:]}")
    token = url.split("?sok=", 1)[1]
    assert url == ws_url(clinic, "book_for_resident", f"sok={token}")
    page = text(sched.get(f"{url}&typ={appointment_type.pk}"))

    # Only the page's text shows the personnummer; links, form targets and hidden fields never do.
    attributes = re.findall(r'(?:href|action|value)="([^"]*)"', page)
    assert attributes and not [value for value in attributes if re.search(r"\d{6}", value)]
    assert resident.personnummer_display in page


def test_a_personnummer_in_the_query_string_is_ignored(sched, clinic, slot):
    personnummer = make_personnummer()
    response = sched.get(ws_url(clinic, "book_for_resident", f"personnummer={personnummer}"))

    assert response.status_code == 200 and response.context["free_times"] is None
    assert not User.objects.filter(personnummer=personnummer).exists() and not AuditEvent.objects.exists()


def test_an_unknown_or_expired_token_asks_for_a_new_search(sched, clinic, slot, resident):
    for request in (
        lambda: sched.get(ws_url(clinic, "book_for_resident", "sok=made-up")),
        lambda: sched.post(ws_url(clinic, "book_for_resident"), {"sok": "made-up", "slot": slot.pk}),
    ):
        response = request()
        assert (response.status_code, response.url) == (302, ws_url(clinic, "book_for_resident"))
    assert not Booking.objects.exists()
    assert sv("The search has expired. Search again.") in flashed(response)


def test_book_for_resident_offers_only_free_unblocked_future_times_of_the_clinic(
    sched, clinic, scheduler, resource, appointment_type, resident, other_clinic
):
    free = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    unpublished = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9))
    Slot.objects.filter(pk=unpublished.pk).update(is_published=False)
    booked = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10))
    booking_create(resident=ResidentFactory(), slot_id=booked.pk)
    blocked = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(11))
    block_create(actor=scheduler, resource=resource, start=blocked.start, end=blocked.end)
    past = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8, days=-1))
    foreign = SlotFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))
    other_type_slot = SlotFactory(
        appointment_type=AppointmentTypeFactory(clinic=clinic), resource=resource, start=tomorrow_at(12)
    )

    url = find_resident(sched, clinic, resident.personnummer)
    everything = sched.get(url)
    by_type = sched.get(
        f"{url}&typ={appointment_type.pk}&datum={timezone.localtime(free.start, LOCAL_TZ).date().isoformat()}"
    )

    assert set(everything.context["free_times"]) == {free, unpublished, other_type_slot}
    assert set(by_type.context["free_times"]) == {free, unpublished}
    assert past not in everything.context["free_times"] and foreign not in everything.context["free_times"]


def test_book_for_resident_bad_filter_and_bad_slot_are_errors(sched, clinic, resident, slot, other_clinic):
    bad_filter = sched.get(f"{find_resident(sched, clinic, resident.personnummer)}&datum=31/31&typ=x")
    assert bad_filter.status_code == 400 and set(bad_filter.context["filter_form"].errors) == {"datum", "typ"}

    foreign = SlotFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))
    for value in ("", "abc", str(foreign.pk)):
        response = sched.post(
            ws_url(clinic, "book_for_resident"), {"personnummer": resident.personnummer, "slot": value}
        )
        assert response.status_code == 400 and response.context["slot_error"], value
    assert not Booking.objects.exists()


def test_a_time_just_taken_is_a_clear_message(sched, clinic, slot, resident, other_resident):
    booking_create(resident=other_resident, slot_id=slot.pk)
    response = sched.post(ws_url(clinic, "book_for_resident"), {"personnummer": resident.personnummer, "slot": slot.pk})
    assert response.status_code == 400
    assert Booking.objects.filter(resident=resident).count() == 0
    assert sv("This time was just taken by someone else. Please choose another time.") in text(response)


# --- Waitlist (R-BOOK-6) -----------------------------------------------------------------------------


def test_add_a_resident_to_the_waitlist(sched, clinic, scheduler, appointment_type):
    personnummer = make_personnummer()
    response = sched.post(
        ws_url(clinic, "waitlist"),
        {"personnummer": personnummer, "appointment_type": appointment_type.pk, "note": "Helst förmiddag"},
    )
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert entry.resident.personnummer == personnummer and entry.clinic == clinic
    assert entry.appointment_type == appointment_type and entry.note == "Helst förmiddag"
    assert AuditEvent.objects.filter(action="waitlist.add", resident=entry.resident, actor=scheduler).exists()

    listing = sched.get(ws_url(clinic, "waitlist"))
    assert "Helst förmiddag" in text(listing)
    assert f"?waitlist={entry.pk}" in text(listing)
    assert AuditEvent.objects.filter(action="waitlist.read", resident=entry.resident).count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [({"personnummer": "12345"}, "personnummer"), ({"appointment_type": "999999"}, "appointment_type")],
)
def test_bad_waitlist_input_is_a_field_error(sched, clinic, data, field):
    response = sched.post(ws_url(clinic, "waitlist"), {"personnummer": make_personnummer(), **data})
    assert response.status_code == 400 and field in response.context["form"].errors
    assert not WaitlistEntry.objects.exists()


def test_waitlist_shows_only_this_clinics_waiting_residents(sched, clinic, other_clinic):
    mine = WaitlistEntryFactory(clinic=clinic, note="Väntar här")
    WaitlistEntryFactory(clinic=clinic, note="Redan bokad", status=WaitlistStatus.BOOKED)
    WaitlistEntryFactory(clinic=other_clinic, note="Annan mottagning")
    page = text(sched.get(ws_url(clinic, "waitlist")))
    assert "Väntar här" in page and "Redan bokad" not in page and "Annan mottagning" not in page
    assert AuditEvent.objects.filter(action="waitlist.read").count() == 1
    assert AuditEvent.objects.get(action="waitlist.read").resident == mine.resident


def test_book_from_the_waitlist_and_back_after_a_web_cancellation(
    sched, clinic, scheduler, slot, appointment_type, resident, django_capture_on_commit_callbacks
):
    entry = WaitlistEntryFactory(clinic=clinic, resident=resident, appointment_type=appointment_type)
    SlotFactory(appointment_type=AppointmentTypeFactory(clinic=clinic), resource=slot.resource, start=tomorrow_at(15))

    page = sched.get(ws_url(clinic, "book_for_resident", f"waitlist={entry.pk}"))
    assert page.status_code == 200 and page.context["resident"] == resident
    assert page.context["free_times"] == [slot]  # the type the resident waits for
    with django_capture_on_commit_callbacks(execute=True):
        response = sched.post(ws_url(clinic, "book_for_resident"), {"waitlist": entry.pk, "slot": slot.pk})

    booking = Booking.objects.get()
    assert response.status_code == 302 and booking.waitlist_entry == entry and booking.resident == resident
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED
    assert InboxMessage.objects.filter(resident=resident, kind=MessageKind.SUMMONS).exists()
    assert resident not in [e.resident for e in sched.get(ws_url(clinic, "waitlist")).context["entries"]]

    booking_cancel(actor=resident, booking_id=booking.pk)  # the resident cancels on the web

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING
    assert resident in [e.resident for e in sched.get(ws_url(clinic, "waitlist")).context["entries"]]


def test_a_booked_or_foreign_waitlist_entry_is_not_found(sched, clinic, other_clinic):
    booked = WaitlistEntryFactory(clinic=clinic, status=WaitlistStatus.BOOKED)
    foreign = WaitlistEntryFactory(clinic=other_clinic)
    for entry in (booked, foreign):
        assert sched.get(ws_url(clinic, "book_for_resident", f"waitlist={entry.pk}")).status_code == 404
    assert sched.get(ws_url(clinic, "book_for_resident", "waitlist=abc")).status_code == 404
