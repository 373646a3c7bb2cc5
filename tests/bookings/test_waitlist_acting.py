"""Joining and leaving a waitlist, and saying no to an offered time, done by a guardian or an
attorney (R-WAIT-1, R-GUARD-4, R-POA-1): the child or grantor is the one in the queue, the person
logged in is recorded as who did it, and an attorney's action shows in the grantor's inbox."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ActingAs, User
from bookings.models import InboxMessage, MessageKind, OfferState, WaitlistEntry, WaitlistOffer, WaitlistStatus
from bookings.services import power_of_attorney_end, waitlist_join
from clinics.models import AppointmentType
from core.errors import DomainError

from ..pages import sv_gettext
from .test_guardians import child, guardian_client  # noqa: F401 (fixtures)
from .test_power_of_attorney import attorney_client, power  # noqa: F401 (fixtures)
from .test_waitlist_offer_acting import offer_to

pytestmark = pytest.mark.django_db


def open_waitlist(appointment_type: AppointmentType) -> AppointmentType:
    appointment_type.waitlist_for_residents = True
    appointment_type.save()
    return appointment_type


def join_on_page(client: Client, appointment_type: AppointmentType, patient: User) -> WaitlistEntry:
    url = reverse("bookings:waitlist_join", args=[appointment_type.clinic_id, appointment_type.pk])
    response = client.post(url, {"acting_for": patient.pk})
    assert response.status_code == 302, response.content[:500]
    return WaitlistEntry.objects.get(resident=patient, appointment_type=appointment_type)


def told(grantor: User, subject: str, attorney: User) -> bool:
    expected = sv_gettext(subject) % {"name": attorney.get_full_name()}
    return InboxMessage.objects.filter(resident=grantor, kind=MessageKind.POWER_OF_ATTORNEY, subject=expected).exists()


def test_an_attorney_joining_and_leaving_is_recorded_and_told_to_the_grantor_R_POA_1(
    attorney_client,  # noqa: F811
    resident,
    other_resident,
    appointment_type,
):
    entry = join_on_page(attorney_client, open_waitlist(appointment_type), resident)

    assert (entry.created_by_id, entry.acting_as) == (other_resident.pk, ActingAs.ATTORNEY)
    assert told(resident, "%(name)s put you on a waitlist", other_resident)

    left = attorney_client.post(reverse("bookings:my_waitlist"), {"entry": entry.pk, "acting_for": resident.pk})

    assert left.status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.removed_by_id) == (WaitlistStatus.REMOVED, other_resident.pk)
    assert told(resident, "%(name)s took you off a waitlist", other_resident)


def test_an_attorney_saying_no_to_an_offer_is_recorded_and_told_to_the_grantor_R_POA_1(
    attorney_client,  # noqa: F811
    resident,
    other_resident,
    appointment_type,
    resource,
):
    offer = offer_to(resident, appointment_type, resource)

    response = attorney_client.post(f"/erbjudande/{offer.token}/", {"action": "decline", "acting_for": resident.pk})

    assert response.status_code == 302
    offer.refresh_from_db()
    assert (offer.state, offer.answered_by_id) == (OfferState.DECLINED, other_resident.pk)
    assert told(resident, "%(name)s said no to a time offered to you", other_resident)


def test_a_guardian_joining_is_recorded_and_sends_no_power_of_attorney_message_R_GUARD_4(
    guardian_client,  # noqa: F811
    resident,
    child,  # noqa: F811
    appointment_type,
):
    entry = join_on_page(guardian_client, open_waitlist(appointment_type), child)

    assert (entry.resident_id, entry.created_by_id, entry.acting_as) == (child.pk, resident.pk, ActingAs.GUARDIAN)
    assert not WaitlistEntry.objects.filter(resident=resident).exists()
    assert not InboxMessage.objects.filter(kind=MessageKind.POWER_OF_ATTORNEY).exists()


def test_a_resident_joining_for_themself_is_their_own_actor(resident, appointment_type):
    entry = waitlist_join(resident=resident, appointment_type=open_waitlist(appointment_type), actor=resident)

    assert (entry.created_by_id, entry.acting_as) == (resident.pk, ActingAs.SELF)
    assert not WaitlistOffer.objects.exists() and not InboxMessage.objects.exists()


def test_an_ended_power_of_attorney_joins_nobody_R_POA_1(power, resident, other_resident, appointment_type):  # noqa: F811
    power_of_attorney_end(actor=resident, power_id=power.pk)

    with pytest.raises(DomainError):
        waitlist_join(resident=resident, appointment_type=open_waitlist(appointment_type), actor=other_resident)

    assert not WaitlistEntry.objects.exists()
