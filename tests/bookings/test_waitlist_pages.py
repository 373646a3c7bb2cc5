"""The waitlist's pages and staff API (R-WAIT-1, R-WAIT-2, R-WAIT-3): residents join from the booking
flow, see and leave their entries and answer an offer by its link, which only they can open; local
admins choose per type what happens to a freed time; schedulers set priorities. Staff changes are
audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, Role
from bookings.models import Booking, BookingStatus, OfferState, WaitlistEntry, WaitlistOffer, WaitlistStatus
from bookings.services import waitlist_offer_freed_slots
from clinics.models import AppointmentType, FreedTimes

from ..factories import SlotFactory, WaitlistEntryFactory, staff
from .test_staff_api import login, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def waitlist_type(appointment_type: AppointmentType) -> AppointmentType:
    appointment_type.freed_times = FreedTimes.WAITLIST
    appointment_type.waitlist_for_residents = True
    appointment_type.save()
    return appointment_type


@pytest.fixture
def offer(waitlist_type, resident, resource) -> WaitlistOffer:
    WaitlistEntryFactory(clinic=waitlist_type.clinic, appointment_type=waitlist_type, resident=resident)
    slot = SlotFactory(appointment_type=waitlist_type, resource=resource, is_published=False)
    assert waitlist_offer_freed_slots(slot_ids=[slot.pk]) == 1
    return WaitlistOffer.objects.get(slot=slot)


def join_path(appointment_type: AppointmentType) -> str:
    return f"/mottagning/{appointment_type.clinic_id}/boka/{appointment_type.pk}/ko/"


def test_r_wait_1_the_booking_flow_offers_the_waitlist_only_where_the_clinic_allows_it(
    resident_client, appointment_type, slot
):
    days = f"/mottagning/{appointment_type.clinic_id}/boka/{appointment_type.pk}/"
    session = resident_client.session
    session[f"conditions_book_{appointment_type.clinic_id}"] = True  # the conditions were read
    session.save()
    assert join_path(appointment_type) not in resident_client.get(days).content.decode()
    assert resident_client.get(join_path(appointment_type)).status_code == 404

    appointment_type.waitlist_for_residents = True
    appointment_type.save()

    page = resident_client.get(days).content.decode()
    assert "Ingen tid passar?" in page and join_path(appointment_type) in page


def test_r_wait_1_a_resident_joins_sees_and_leaves_their_entry(resident_client, resident, waitlist_type):
    day = timezone.localdate() + dt.timedelta(days=3)

    response = resident_client.post(
        join_path(waitlist_type),
        {"earliest_date": day.isoformat(), "weekdays": ["1", "3"], "part_of_day": "afternoon"},
    )

    assert response.status_code == 302 and response["Location"] == "/mina-koplatser/"
    entry = WaitlistEntry.objects.get(resident=resident)
    assert (entry.earliest_date, entry.weekdays, entry.part_of_day, entry.by_resident) == (
        day,
        [1, 3],
        "afternoon",
        True,
    )
    listing = resident_client.get("/mina-koplatser/").content.decode()
    assert "måndag, onsdag" in listing and "Eftermiddag (från 12)" in listing

    assert resident_client.post("/mina-koplatser/", {"entry": entry.pk}).status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REMOVED
    assert "Du står inte i någon kö." in resident_client.get("/mina-koplatser/").content.decode()


def test_r_wait_1_bad_wishes_are_refused_beside_the_field_and_change_nothing(resident_client, waitlist_type):
    day = timezone.localdate() + dt.timedelta(days=3)

    response = resident_client.post(
        join_path(waitlist_type),
        {"earliest_date": day.isoformat(), "latest_date": (day - dt.timedelta(days=1)).isoformat(), "weekdays": ["9"]},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'href="#id_weekdays_0"' in page and "Välj veckodagar i listan." in page
    assert not WaitlistEntry.objects.exists()
    response = resident_client.post(
        join_path(waitlist_type),
        {"earliest_date": day.isoformat(), "latest_date": (day - dt.timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 400
    assert "Det senaste datumet måste vara samma dag som eller efter det tidigaste." in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_r_wait_1_another_residents_entry_cannot_be_left(client, other_resident, waitlist_type):
    entry = WaitlistEntryFactory(clinic=waitlist_type.clinic, appointment_type=waitlist_type)
    client.force_login(other_resident)

    client.post("/mina-koplatser/", {"entry": entry.pk})

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING


def test_r_wait_3_the_offer_link_books_with_one_press_for_its_resident_only(
    client, resident, other_resident, offer, scheduler
):
    path = f"/erbjudande/{offer.token}/"
    # Not logged in: to the login first; another resident, or staff: not found.
    assert client.get(path).status_code == 302
    client.force_login(other_resident)
    assert client.get(path).status_code == 404
    assert client.post(path, {"action": "accept"}).status_code == 404
    client.force_login(resident)

    page = client.get(path)
    assert page.status_code == 200 and "Boka tiden" in page.content.decode()
    response = client.post(path, {"action": "accept"})

    booking = Booking.objects.get(slot=offer.slot, status=BookingStatus.ACTIVE)
    assert booking.resident == resident
    assert response.status_code == 302 and response["Location"] == f"/mina-tider/{booking.pk}/"
    assert "Du har bokat den här tiden." in client.get(path).content.decode()


def test_r_wait_3_declining_on_the_page_passes_the_time_on(resident_client, offer):
    response = resident_client.post(f"/erbjudande/{offer.token}/", {"action": "decline"})

    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.state == OfferState.DECLINED
    assert not Booking.objects.exists()


def test_r_wait_3_an_expired_offer_is_refused_with_a_message(resident_client, offer):
    WaitlistOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = resident_client.post(f"/erbjudande/{offer.token}/", {"action": "accept"})

    assert response.status_code == 400
    assert "Erbjudandet har gått ut" in response.content.decode()
    assert not Booking.objects.exists()


def test_r_wait_3_the_offered_time_is_not_in_the_free_times_api(client, other_resident, offer):
    client.force_login(other_resident)
    slot = offer.slot

    response = client.get(f"/api/v1/clinics/{slot.clinic_id}/free-times/", {"type": slot.appointment_type_id})

    assert response.status_code == 200
    assert slot.pk not in {item["id"] for item in response.json()}


def test_r_wait_2_the_local_admin_chooses_waitlist_first_on_the_type_page_and_it_is_audited(
    client, local_admin, appointment_type
):
    login(client, local_admin)
    path = f"/personal/{appointment_type.clinic_id}/tidstyper/{appointment_type.pk}/vantelista/"
    assert client.get(path).status_code == 200

    bad = client.post(path, {"freed_times": "lottery", "offer_minutes": "0"})
    assert bad.status_code == 400
    appointment_type.refresh_from_db()
    assert appointment_type.freed_times == FreedTimes.PUBLISH

    response = client.post(path, {"freed_times": "waitlist", "offer_minutes": "20", "waitlist_for_residents": "on"})

    assert response.status_code == 302
    appointment_type.refresh_from_db()
    assert (appointment_type.freed_times, appointment_type.offer_minutes, appointment_type.waitlist_for_residents) == (
        FreedTimes.WAITLIST,
        20,
        True,
    )
    assert AuditEvent.objects.filter(action="appointment_type.waitlist", actor=local_admin).count() == 1


def test_r_wait_2_the_staff_api_reads_and_changes_a_types_waitlist_settings(client, local_admin, appointment_type):
    login(client, local_admin)
    path = url(appointment_type.clinic, f"appointment-types/{appointment_type.pk}/waitlist/")

    assert client.get(path).json()["freed_times"] == "publish"
    refused = client.put(path, {"freed_times": "waitlist", "offer_minutes": 0}, content_type="application/json")
    assert refused.status_code == 400
    response = client.put(
        path,
        {"freed_times": "waitlist", "offer_minutes": 10, "waitlist_for_residents": True},
        content_type="application/json",
    )

    assert response.status_code == 200 and response.json()["offer_minutes"] == 10
    assert AppointmentType.objects.get(pk=appointment_type.pk).freed_times == FreedTimes.WAITLIST
    assert AuditEvent.objects.filter(action="appointment_type.waitlist").count() == 1


def test_r_wait_2_a_scheduler_may_not_change_the_types_settings(client, scheduler, appointment_type):
    login(client, scheduler)
    path = url(appointment_type.clinic, f"appointment-types/{appointment_type.pk}/waitlist/")

    response = client.put(path, {"freed_times": "waitlist", "offer_minutes": 10, "waitlist_for_residents": True})

    assert response.status_code == 403
    assert AppointmentType.objects.get(pk=appointment_type.pk).freed_times == FreedTimes.PUBLISH


def test_r_wait_3_a_scheduler_sets_a_priority_on_the_page_and_in_the_api_audited(client, scheduler, waitlist_type):
    first = WaitlistEntryFactory(clinic=waitlist_type.clinic, appointment_type=waitlist_type)
    second = WaitlistEntryFactory(clinic=waitlist_type.clinic, appointment_type=waitlist_type)
    login(client, scheduler)

    response = client.post(f"/personal/{waitlist_type.clinic_id}/vantelista/{second.pk}/prioritet/", {"priority": "3"})
    assert response.status_code == 302
    listing = client.get(url(waitlist_type.clinic, "waitlist/")).json()
    assert [row["id"] for row in listing] == [second.pk, first.pk]  # the order offers go

    bad = client.post(f"/personal/{waitlist_type.clinic_id}/vantelista/{first.pk}/prioritet/", {"priority": "99"})
    assert bad.status_code == 302
    first.refresh_from_db()
    assert first.priority == 0
    patched = client.patch(
        url(waitlist_type.clinic, f"waitlist/{first.pk}/"), {"priority": 5}, content_type="application/json"
    )
    assert patched.status_code == 200 and patched.json()["priority"] == 5
    assert AuditEvent.objects.filter(action="waitlist.priority", actor=scheduler).count() == 2


def test_r_wait_3_another_clinics_scheduler_cannot_set_a_priority(client, other_clinic, waitlist_type):
    entry = WaitlistEntryFactory(clinic=waitlist_type.clinic, appointment_type=waitlist_type)
    outsider = staff(Role.SCHEDULER, other_clinic)
    login(client, outsider)

    client.post(f"/personal/{waitlist_type.clinic_id}/vantelista/{entry.pk}/prioritet/", {"priority": "3"})
    client.patch(url(waitlist_type.clinic, f"waitlist/{entry.pk}/"), {"priority": 3}, content_type="application/json")

    entry.refresh_from_db()
    assert entry.priority == 0
    assert not AuditEvent.objects.filter(action="waitlist.priority").exists()
