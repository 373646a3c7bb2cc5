"""Guardians act for their children (R-GUARD-2, R-GUARD-4): "Boka för" makes every page the
child's — clinics and case types by the child's audience and area, bookings, inbox, calendar — with
the child's name on every page; a booking names the child as patient and the guardian as actor, in
the web log and the staff views; overlap is the patient's; custody that ends mid-session stops it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.acting import ACTING_SESSION_KEY
from accounts.models import ActingAs, Custody, User
from bookings.models import (
    Booking,
    BookingStatus,
    CalendarFeed,
    InboxMessage,
    MessageKind,
    OfferState,
    WaitlistOffer,
    WebBookingLogEntry,
)
from bookings.services import booking_cancel, booking_create, inbox_message_send, waitlist_offer_accept
from bookings.services.calendar_feed import calendar_feed_create
from clinics.models import Area, CaseKind, CaseType, FreedTimes
from core.errors import BookingError

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    RegionFactory,
    ResidentFactory,
    ResourceFactory,
    WaitlistEntryFactory,
    make_personnummer,
    tomorrow_at,
)
from ..pages import found, hold_via_client, make_slot, sv_gettext, text
from ..workspace import login as workspace_login
from ..workspace import ws_url

pytestmark = pytest.mark.django_db

ALVA_BORN = dt.date(2018, 6, 12)


def give_custody(guardian: User, child: User, born: dt.date = ALVA_BORN) -> Custody:
    return Custody.objects.create(guardian=guardian, child=child, child_birth_date=born, refreshed_at=timezone.now())


@pytest.fixture
def child(resident):
    alva = ResidentFactory(personnummer=make_personnummer(ALVA_BORN), first_name="Alva", last_name="Andersson")
    give_custody(resident, alva)
    return alva


@pytest.fixture
def guardian_client(client, resident, child):
    """Anna, logged in, has chosen "Boka för: Alva"."""
    client.force_login(resident)
    response = client.post(reverse("acting_choose"), {"patient": child.pk})
    assert response.status_code == 302 and client.session[ACTING_SESSION_KEY] == child.pk
    return client


def book_through_pages(client: Client, slot, patient: User) -> Booking:
    """Hold and confirm as the pages do, each form naming the patient it was shown for."""
    hold = hold_via_client(client, slot, acting_for=str(patient.pk))
    response = client.post(reverse("bookings:confirm", args=[hold.pk]), {"acting_for": patient.pk})
    assert response.status_code == 302, text(response)[:2000]
    return Booking.objects.get(slot=slot, status=BookingStatus.ACTIVE)


def test_every_page_names_the_child_while_the_guardian_acts_for_them_R_GUARD_2(guardian_client, child, clinic):
    for name in ("bookings:start", "bookings:my_bookings", "bookings:inbox", "bookings:calendar"):
        page = text(guardian_client.get(reverse(name)))
        assert found(r'class="acting-bar__who"[^>]*><strong>([^<]*)</strong>', page)[1].endswith("Alva Andersson")
    card = text(guardian_client.get(reverse("clinics:detail", args=[clinic.pk])))
    assert "Alva Andersson" in card


def test_the_guardian_books_for_the_child_who_is_the_patient_R_GUARD_2_R_GUARD_4(
    guardian_client, resident, child, appointment_type, resource
):
    slot = make_slot(appointment_type, resource, tomorrow_at(10, days=3))

    booking = book_through_pages(guardian_client, slot, child)

    assert (booking.resident_id, booking.created_by_id, booking.acting_as) == (child.pk, resident.pk, "guardian")
    assert booking.pk in [b.pk for b in Booking.objects.filter(resident=child)]
    assert not Booking.objects.filter(resident=resident).exists()
    listed = text(guardian_client.get(reverse("bookings:my_bookings")))
    assert reverse("bookings:detail", args=[booking.pk]) in listed
    row = WebBookingLogEntry.objects.get(booking=booking)
    assert (row.resident_id, row.actor_id, row.acting_as) == (child.pk, resident.pk, ActingAs.GUARDIAN)


def test_case_types_admit_by_the_childs_region_not_the_guardians_R_GUARD_2(guardian_client, resident, child):
    """The clinic's BOOK case type is for its region only: the guardian lives there, the child does
    not, so acting for the child the flow is not offered."""
    uppsala = ClinicFactory(region=RegionFactory(code="03", name="Region Uppsala"))
    CaseType.objects.filter(clinic=uppsala, kind=CaseKind.BOOK).update(area=Area.REGION)
    resident.home_region_code = "03"
    resident.save(update_fields=["home_region_code"])

    assert guardian_client.get(reverse("bookings:book_conditions", args=[uppsala.pk])).status_code == 404
    guardian_client.post(reverse("acting_choose"), {"patient": resident.pk})
    assert guardian_client.get(reverse("bookings:book_conditions", args=[uppsala.pk])).status_code == 200


def test_the_childs_inbox_and_calendar_are_the_guardians_while_acting_R_GUARD_2(guardian_client, child, clinic):
    message = inbox_message_send(resident=child, clinic=clinic, kind=MessageKind.INFO, subject="Vaccination", body="x")

    assert "Vaccination" in text(guardian_client.get(reverse("bookings:inbox")))
    assert guardian_client.get(reverse("bookings:message", args=[message.pk])).status_code == 200
    guardian_client.post(reverse("bookings:calendar"), {"action": "create", "acting_for": child.pk})
    feed = CalendarFeed.objects.get(resident=child)
    assert feed.created_by is not None and feed.created_by.pk != child.pk


def test_own_pages_never_show_the_childs_inbox(client, resident, child, clinic):
    message = inbox_message_send(resident=child, clinic=clinic, kind=MessageKind.INFO, subject="Vaccination", body="x")
    client.force_login(resident)

    assert "Vaccination" not in text(client.get(reverse("bookings:inbox")))
    assert client.get(reverse("bookings:message", args=[message.pk])).status_code == 404


def test_a_guardians_calendar_address_for_the_child_stops_when_custody_ends_R_GUARD_2(client, resident, child):
    token = calendar_feed_create(resident=child, created_by=resident)
    assert client.get(reverse("bookings:calendar_feed", args=[token])).status_code == 200

    Custody.objects.filter(guardian=resident, child=child).delete()

    assert client.get(reverse("bookings:calendar_feed", args=[token])).status_code == 404


def test_both_guardians_see_the_childs_bookings_R_GUARD_4(resident, other_resident, child, appointment_type, resource):
    give_custody(other_resident, child)
    slot = make_slot(appointment_type, resource, tomorrow_at(10, days=3))
    booking = booking_create(resident=child, actor=resident, slot_id=slot.pk)

    other = Client()
    other.force_login(other_resident)
    other.post(reverse("acting_choose"), {"patient": child.pk})

    assert reverse("bookings:detail", args=[booking.pk]) in text(other.get(reverse("bookings:my_bookings")))


def test_staff_see_booked_by_guardian_by_name_never_by_personnummer_R_GUARD_4(
    sched, support, clinic, resident, child, appointment_type, resource
):
    slot = make_slot(appointment_type, resource, tomorrow_at(10, days=3))
    booking = booking_create(resident=child, actor=resident, slot_id=slot.pk)
    booked_by = sv_gettext("Booked by guardian %(name)s") % {"name": "Anna Andersson"}

    detail = text(sched.get(ws_url(clinic, "booking_detail", booking_id=booking.pk)))

    assert booked_by in detail and child.get_full_name() in detail
    assert resident.personnummer_display not in detail and (resident.personnummer or "") not in detail
    sched.logout()
    workspace_login(sched, support)
    log = text(sched.get(ws_url(clinic, "web_log")))
    assert booked_by in log and resident.personnummer_display not in log


def test_overlap_is_checked_per_patient_not_per_actor_R_GUARD_4(resident, child, clinic, appointment_type):
    """R-BOOK-2 for the patient: the guardian's own time does not stop the child's at the same
    hour, but the child's own earlier time does."""
    nurse, doctor, third = (ResourceFactory(clinic=clinic) for _ in range(3))
    own = make_slot(appointment_type, nurse, tomorrow_at(10, days=3))
    booking_create(resident=resident, slot_id=own.pk)
    childs = make_slot(appointment_type, doctor, tomorrow_at(10, days=3))
    booking_create(resident=child, actor=resident, slot_id=childs.pk)

    again = make_slot(appointment_type, third, tomorrow_at(10, 10, days=3))
    with pytest.raises(BookingError) as refused:
        booking_create(resident=child, actor=resident, slot_id=again.pk)
    assert refused.value.code == "USER_IS_ALREADY_OCCUPIED"


def test_custody_ending_mid_session_refuses_the_open_confirm_page_and_books_nothing_R_GUARD_2(
    guardian_client, resident, child, appointment_type, resource
):
    slot = make_slot(appointment_type, resource, tomorrow_at(10, days=3))
    hold = hold_via_client(guardian_client, slot, acting_for=str(child.pk))
    assert "Alva Andersson" in text(guardian_client.get(reverse("bookings:confirm", args=[hold.pk])))

    Custody.objects.filter(guardian=resident, child=child).delete()  # the register said so at a login elsewhere
    response = guardian_client.post(reverse("bookings:confirm", args=[hold.pk]), {"acting_for": child.pk})

    assert response.status_code == 403 and sv_gettext("Nothing was changed") in text(response)
    assert not Booking.objects.filter(slot=slot).exists()
    with pytest.raises(BookingError) as refused:
        booking_create(resident=child, actor=resident, slot_id=slot.pk)
    assert refused.value.code == "NOT_FOUND"
    assert not Booking.objects.filter(slot=slot).exists()


def test_a_form_for_another_patient_than_the_chosen_one_is_refused(guardian_client, resident, child, clinic):
    """A page opened while acting for the child, sent after switching to oneself in another tab."""
    guardian_client.post(reverse("acting_choose"), {"patient": resident.pk})

    response = guardian_client.post(reverse("bookings:calendar"), {"action": "create", "acting_for": child.pk})

    assert response.status_code == 403
    assert not CalendarFeed.objects.exists()
    assert not InboxMessage.objects.exists()


def test_a_guardian_accepts_a_waitlist_offer_for_the_child_who_is_the_patient_R_GUARD_4(
    resident, child, appointment_type, resource, django_capture_on_commit_callbacks
):
    """A freed time offered to the child's waitlist place (R-WAIT-3): the guardian's acceptance
    books it for the child, with the guardian as actor; once custody ends it is refused."""
    appointment_type.freed_times = FreedTimes.WAITLIST
    appointment_type.waitlist_for_residents = True
    appointment_type.save()
    WaitlistEntryFactory(clinic=appointment_type.clinic, appointment_type=appointment_type, resident=child)
    slot = make_slot(appointment_type, resource, tomorrow_at(10, days=3))
    booker = ResidentFactory(personnummer=make_personnummer(dt.date(1970, 1, 1)))
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=booker, booking_id=booking_create(resident=booker, slot_id=slot.pk).pk)
    offer = WaitlistOffer.objects.get(slot=slot, state=OfferState.ACTIVE)

    stranger = ResidentFactory(personnummer=make_personnummer(dt.date(1971, 1, 1)))
    with pytest.raises(BookingError):
        waitlist_offer_accept(resident=child, token=offer.token, actor=stranger)
    booking = waitlist_offer_accept(resident=child, token=offer.token, actor=resident)

    assert (booking.resident_id, booking.created_by_id, booking.acting_as) == (child.pk, resident.pk, "guardian")
    assert WebBookingLogEntry.objects.get(booking=booking).actor_id == resident.pk


def test_the_free_times_api_answers_for_an_explicit_patient_by_their_region_R_GUARD_2(client, resident, child):
    """The clinic's BOOK case type admits its region only; the guardian lives elsewhere, the child
    there: with ``patient`` the child's times are listed, a stranger as patient is 404."""
    uppsala = ClinicFactory(region=RegionFactory(code="03", name="Region Uppsala"))
    CaseType.objects.filter(clinic=uppsala, kind=CaseKind.BOOK).update(area=Area.REGION)
    child.home_region_code = "03"
    child.save(update_fields=["home_region_code"])
    visit = AppointmentTypeFactory(clinic=uppsala)
    slot = make_slot(visit, ResourceFactory(clinic=uppsala), tomorrow_at(10, days=3))
    client.force_login(resident)
    url = f"/api/v1/clinics/{uppsala.pk}/free-times/?type={visit.pk}"

    assert client.get(url).json() == []
    assert [row["id"] for row in client.get(f"{url}&patient={child.pk}").json()] == [slot.pk]
    stranger = ResidentFactory(personnummer=make_personnummer(dt.date(1970, 1, 1)))
    assert client.get(f"{url}&patient={stranger.pk}").status_code == 404
    # The same resolver as the clinics and bookings APIs: a patient that is no id is nobody.
    assert client.get(f"{url}&patient=Alva").status_code == 404
