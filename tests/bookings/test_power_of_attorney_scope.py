"""A power of attorney for chosen clinics (R-POA-1): acting for the grantor, the attorney sees only
what they may act on — the start page's clinics, bookings, booking bases and unread count, the
booking flow's free times, the waitlist — and every page of another clinic is "not found"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.acting import acting_resolve
from bookings.acting import acting_bases, acting_waitlist_entries
from bookings.models import InboxMessage, MessageKind, WaitlistEntry, WaitlistStatus
from bookings.services import booking_create, power_of_attorney_accept, power_of_attorney_grant
from clinics.models import RelationSource
from clinics.services import relation_add

from ..factories import (
    AppointmentTypeFactory,
    BookingBasisFactory,
    ResourceFactory,
    WaitlistEntryFactory,
    tomorrow_at,
)
from ..pages import accept_conditions, make_slot, text

pytestmark = pytest.mark.django_db

UNTIL = timezone.localdate() + dt.timedelta(days=90)


def give_power(grantor, grantee, clinic_ids: list[int] | None) -> None:
    given = power_of_attorney_grant(
        grantor=grantor,
        personnummer=grantee.personnummer,
        valid_until=UNTIL,
        all_clinics=clinic_ids is None,
        clinic_ids=clinic_ids or [],
    )
    power_of_attorney_accept(grantee=grantee, power_id=given.pk)


@pytest.fixture
def two_clinics(resident, clinic, other_clinic, appointment_type, resource):
    """Anna has both clinics on her start page, a booking, a message and a waitlist place at each."""
    other_type = AppointmentTypeFactory(clinic=other_clinic, web_name="Provtagning")
    other_resource = ResourceFactory(clinic=other_clinic, name="Laboratoriet")
    places = ((clinic, appointment_type, resource), (other_clinic, other_type, other_resource))
    for hour, (place, kind, where) in enumerate(places, start=9):
        relation_add(resident=resident, clinic=place, source=RelationSource.START_PAGE)
        booking_create(resident=resident, slot_id=make_slot(kind, where, tomorrow_at(hour, days=3)).pk)
        InboxMessage.objects.create(
            resident=resident, clinic=place, kind=MessageKind.INFO, subject=f"Hälsning från {place.name}", body="–"
        )
        WaitlistEntryFactory(resident=resident, clinic=place, appointment_type=kind)
    return other_type


def attorney(grantee, grantor) -> Client:
    client = Client()
    client.force_login(grantee)
    client.post(reverse("acting_choose"), {"patient": grantor.pk})
    return client


def test_the_start_page_shows_only_the_clinics_the_power_covers_R_POA_1(
    resident, other_resident, clinic, other_clinic, two_clinics
):
    give_power(resident, other_resident, [other_clinic.pk])

    page = attorney(other_resident, resident).get(reverse("bookings:start"))

    assert [c.pk for c in page.context["clinics"]] == [other_clinic.pk]
    assert {b.clinic_id for b in page.context["bookings"]} == {other_clinic.pk}
    unread = InboxMessage.objects.filter(resident=resident, read_at__isnull=True)
    assert unread.filter(clinic=clinic).exists()
    assert page.context["unread"] == unread.exclude(clinic=clinic).count()
    body = text(page)
    assert clinic.name not in body and other_clinic.name in body
    assert reverse("bookings:remove_clinic", args=[clinic.pk]) not in body


def test_an_attorney_for_every_clinic_sees_them_all_R_POA_1(
    resident, other_resident, clinic, other_clinic, two_clinics
):
    give_power(resident, other_resident, None)

    page = attorney(other_resident, resident).get(reverse("bookings:start"))

    assert {c.pk for c in page.context["clinics"]} == {clinic.pk, other_clinic.pk}
    assert page.context["unread"] == InboxMessage.objects.filter(resident=resident, read_at__isnull=True).count()


def test_the_booking_flow_and_start_page_actions_of_another_clinic_are_not_found_R_POA_1(
    resident, other_resident, clinic, other_clinic, appointment_type, two_clinics
):
    give_power(resident, other_resident, [other_clinic.pk])
    client = attorney(other_resident, resident)
    # Conditions read earlier in the session (e.g. for oneself) open no other clinic's free times.
    accept_conditions(client, clinic)
    day = (timezone.localdate() + dt.timedelta(days=3)).isoformat()

    for url in (
        reverse("bookings:book_types", args=[clinic.pk]),
        reverse("bookings:book_days", args=[clinic.pk, appointment_type.pk]),
        reverse("bookings:book_times", args=[clinic.pk, appointment_type.pk, day]),
        reverse("bookings:remove_clinic", args=[clinic.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("clinics:remove", args=[clinic.pk])).status_code == 404
    assert client.post(reverse("clinics:add", args=[clinic.pk])).status_code == 404
    accept_conditions(client, other_clinic)
    assert client.get(reverse("bookings:book_types", args=[other_clinic.pk])).status_code == 200
    assert resident.clinic_relations.filter(clinic=clinic, on_start_page=True).exists()


def test_the_waitlist_shows_and_leaves_only_the_covered_clinics_places_R_POA_1(
    resident, other_resident, clinic, other_clinic, two_clinics
):
    give_power(resident, other_resident, [other_clinic.pk])
    client = attorney(other_resident, resident)
    elsewhere = WaitlistEntry.objects.get(resident=resident, clinic=clinic)

    page = client.get(reverse("bookings:my_waitlist"))
    left = client.post(reverse("bookings:my_waitlist"), {"entry": elsewhere.pk})

    assert [e.clinic_id for e in page.context["entries"]] == [other_clinic.pk]
    assert left.status_code == 302
    elsewhere.refresh_from_db()
    assert elsewhere.status == WaitlistStatus.WAITING


def test_booking_bases_are_listed_only_for_the_covered_clinics_R_POA_1(
    resident, other_resident, clinic, other_clinic, two_clinics
):
    for place in (clinic, other_clinic):
        BookingBasisFactory(
            resident=resident,
            appointment_type=AppointmentTypeFactory(clinic=place, web_name="Remissbesök", requires_booking_basis=True),
        )
    give_power(resident, other_resident, [other_clinic.pk])
    limited = acting_resolve(actor=other_resident, patient_id=resident.pk)
    assert limited is not None and limited.clinic_ids == frozenset({other_clinic.pk})
    itself = acting_resolve(actor=resident, patient_id=None)
    assert itself is not None

    assert {b.clinic_id for b in acting_bases(acting=itself)} == {clinic.pk, other_clinic.pk}
    assert [b.clinic_id for b in acting_bases(acting=limited)] == [other_clinic.pk]
    assert [e.clinic_id for e in acting_waitlist_entries(acting=limited)] == [other_clinic.pk]


def test_another_clinics_card_offers_the_attorney_nothing_to_do_R_POA_1(
    resident, other_resident, clinic, other_clinic, two_clinics
):
    give_power(resident, other_resident, [other_clinic.pk])
    client = attorney(other_resident, resident)

    elsewhere = client.get(reverse("clinics:detail", args=[clinic.pk]))
    covered = client.get(reverse("clinics:detail", args=[other_clinic.pk]))

    assert elsewhere.context["case_types"] == [] and list(covered.context["case_types"])
    assert reverse("bookings:book_conditions", args=[clinic.pk]) not in text(elsewhere)
    assert reverse("bookings:book_conditions", args=[other_clinic.pk]) in text(covered)
