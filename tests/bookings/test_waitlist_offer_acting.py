"""A waitlist offer accepted on its page by a guardian or an attorney (R-WAIT-3, R-GUARD-4, R-POA-1):
the child or grantor is the patient and the person logged in is recorded as the actor, on the
booking, the web log and the grantor's inbox."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ActingAs, User
from bookings.models import (
    Booking,
    BookingStatus,
    InboxMessage,
    MessageKind,
    OfferState,
    WaitlistOffer,
    WebBookingLogEntry,
)
from bookings.services import waitlist_offer_freed_slots
from clinics.models import AppointmentType, FreedTimes

from ..factories import SlotFactory, WaitlistEntryFactory
from ..pages import sv_gettext
from .test_guardians import child, guardian_client  # noqa: F401 (fixtures)
from .test_power_of_attorney import attorney_client, power  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def offer_to(patient: User, appointment_type: AppointmentType, resource) -> WaitlistOffer:
    appointment_type.freed_times = FreedTimes.WAITLIST
    appointment_type.waitlist_for_residents = True
    appointment_type.save()
    WaitlistEntryFactory(clinic=appointment_type.clinic, appointment_type=appointment_type, resident=patient)
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, is_published=False)
    assert waitlist_offer_freed_slots(slot_ids=[slot.pk]) == 1
    return WaitlistOffer.objects.get(slot=slot, state=OfferState.ACTIVE)


def accept_on_page(client: Client, offer: WaitlistOffer, patient: User) -> Booking:
    response = client.post(f"/erbjudande/{offer.token}/", {"action": "accept", "acting_for": patient.pk})
    booking = Booking.objects.get(slot=offer.slot, status=BookingStatus.ACTIVE)
    assert response.status_code == 302 and response["Location"] == f"/mina-tider/{booking.pk}/"
    return booking


def test_an_attorney_accepting_an_offer_is_recorded_as_the_actor_R_POA_1(
    attorney_client,  # noqa: F811
    resident,
    other_resident,
    appointment_type,
    resource,
):
    offer = offer_to(resident, appointment_type, resource)

    booking = accept_on_page(attorney_client, offer, resident)

    assert (booking.resident_id, booking.created_by_id, booking.acting_as) == (
        resident.pk,
        other_resident.pk,
        ActingAs.ATTORNEY,
    )
    row = WebBookingLogEntry.objects.get(booking=booking)
    assert (row.resident_id, row.actor_id, row.acting_as) == (resident.pk, other_resident.pk, ActingAs.ATTORNEY)
    told = InboxMessage.objects.get(resident=resident, kind=MessageKind.POWER_OF_ATTORNEY, booking=booking)
    assert told.subject == sv_gettext("%(name)s booked a time for you") % {"name": other_resident.get_full_name()}


def test_a_guardian_accepting_an_offer_is_recorded_as_the_actor_R_GUARD_4(
    guardian_client,  # noqa: F811
    resident,
    child,  # noqa: F811
    appointment_type,
    resource,
):
    offer = offer_to(child, appointment_type, resource)

    booking = accept_on_page(guardian_client, offer, child)

    assert (booking.resident_id, booking.created_by_id, booking.acting_as) == (child.pk, resident.pk, ActingAs.GUARDIAN)
    row = WebBookingLogEntry.objects.get(booking=booking)
    assert (row.resident_id, row.actor_id, row.acting_as) == (child.pk, resident.pk, ActingAs.GUARDIAN)
    assert not Booking.objects.filter(resident=resident).exists()
