"""The booking deep link of a published Slot (SMART Scheduling Links, issue 18 item 4): it leads
to that time, held for the resident (R-BOOK-3) after login and the conditions text (R-CASE-1),
or says plainly that it was just taken and offers the nearest free times of the same type; the
slot finder's ``source`` and ``booking-referral`` reach the booking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from bookings.models import Booking
from bookings.services import booking_create
from schedules.models import Hold, HoldState

from ..factories import AppointmentTypeFactory, ResidentFactory, SlotFactory, tomorrow_at

pytestmark = pytest.mark.django_db


def _link(slot, **query) -> str:
    path = reverse("bookings:book_slot", args=[slot.clinic_id, slot.appointment_type_id, slot.pk])
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _accept_conditions(client, response) -> str:
    """Follow the redirect to the conditions text, accept it, and return where it leads."""
    assert response.status_code == 302 and "/boka/?nasta=" in response["Location"]
    accepted = client.post(response["Location"], {"accept": "yes"})
    assert accepted.status_code == 302
    return accepted["Location"]


def test_a_visitor_logs_in_first_and_comes_back_to_the_time(client, slot):
    response = client.get(_link(slot, source="hitta", **{"booking-referral": "abc"}))

    assert response.status_code == 302 and "/logga-in/" in response["Location"]
    assert "booking-referral" in response["Location"]  # the whole link survives the login


def test_the_deep_link_holds_the_time_after_the_conditions_and_the_booking_records_the_referral(client, resident, slot):
    client.force_login(resident)

    back = _accept_conditions(client, client.get(_link(slot, source="hitta.se", **{"booking-referral": "ref-42"})))
    assert back == _link(slot)
    confirm = client.get(back)

    held = Hold.objects.get(resident=resident, state=HoldState.ACTIVE)
    assert held.slot_id == slot.pk
    assert confirm.status_code == 302 and confirm["Location"] == reverse("bookings:confirm", args=[held.pk])
    # A reload of the link keeps the same hold instead of refusing the resident's own time.
    assert client.get(back)["Location"] == confirm["Location"]

    done = client.post(confirm["Location"])

    assert done.status_code == 302
    booking = Booking.objects.get(resident=resident)
    assert (booking.slot_id, booking.referral_source, booking.booking_referral) == (slot.pk, "hitta.se", "ref-42")


def test_a_time_just_taken_offers_the_nearest_free_times_of_the_same_type(client, resident, appointment_type, resource):
    times = [
        SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8) + dt.timedelta(hours=n))
        for n in range(8)
    ]
    other_type = SlotFactory(
        appointment_type=AppointmentTypeFactory(clinic=appointment_type.clinic),
        resource=resource,
        start=tomorrow_at(20),
    )
    wanted = times[4]
    booking_create(resident=ResidentFactory(), slot_id=wanted.pk)
    client.force_login(resident)
    _accept_conditions(client, client.get(_link(wanted)))

    response = client.get(_link(wanted))

    assert response.status_code == 200
    assert "Tiden är inte längre ledig" in response.content.decode()
    offered = [s.pk for s in response.context["slots"]]
    assert len(offered) == 5 and wanted.pk not in offered and other_type.pk not in offered
    # Nearest first: two before and two after are always among them, then one more.
    assert {times[2].pk, times[3].pk, times[5].pk, times[6].pk} <= set(offered)
    assert offered == sorted(offered, key=lambda pk: next(s.start for s in times if s.pk == pk))
    assert not Hold.objects.filter(resident=resident).exists()


def test_a_time_that_no_longer_exists_still_shows_the_types_free_times(client, resident, slot, appointment_type):
    client.force_login(resident)
    link = _link(slot)
    _accept_conditions(client, client.get(link))
    other = SlotFactory(appointment_type=appointment_type, resource=slot.resource, start=tomorrow_at(15))
    slot.delete()

    response = client.get(link)

    assert response.status_code == 200 and [s.pk for s in response.context["slots"]] == [other.pk]


def test_the_conditions_page_only_returns_to_this_site(client, resident, slot):
    client.force_login(resident)
    path = reverse("bookings:book_conditions", args=[slot.clinic_id])

    response = client.post(f"{path}?nasta=//evil.example/x", {"accept": "yes"})

    assert response.status_code == 302 and response["Location"] == "/"


def test_the_referral_is_recorded_only_on_a_booking_at_the_clinic_it_came_for(client, resident, slot, other_clinic):
    client.force_login(resident)
    _accept_conditions(client, client.get(_link(slot, source="hitta.se")))
    elsewhere = SlotFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))
    client.post(reverse("bookings:book_conditions", args=[other_clinic.pk]), {"accept": "yes"})
    hold = client.post(reverse("bookings:hold"), {"slot": elsewhere.pk, "back": "/"})

    client.post(hold["Location"])

    assert Booking.objects.get(resident=resident).referral_source == ""
