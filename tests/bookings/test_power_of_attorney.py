"""Powers of attorney between residents (R-POA-1, R-POA-2): given by personnummer in a POST form,
accepted by the other resident, ended by either at once; every action under it records the actor
and reaches the grantor's inbox; a revoked power used from a stale page changes nothing; staff see
who may act for a resident. The API names its patient explicitly and answers 404 when not allowed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.acting import ACTING_SESSION_KEY, NO_LONGER_ALLOWED, acting_resolve
from accounts.models import ActingAs, AuditEvent, Custody, PowerOfAttorney
from bookings.models import Booking, BookingStatus, InboxMessage, MessageKind, WebBookingLogEntry
from bookings.services import (
    booking_cancel,
    booking_create,
    power_of_attorney_accept,
    power_of_attorney_end,
    power_of_attorney_grant,
)
from clinics.models import CaseKind, RelationSource
from clinics.services import relation_add
from core.errors import BookingError

from ..factories import ResidentFactory, make_personnummer, reloaded, tomorrow_at
from ..pages import accept_conditions, found, make_slot, sv_gettext, text
from .test_guardians import book_through_pages
from .test_staff_api import login

pytestmark = pytest.mark.django_db

CHECK_DIGIT_WRONG = "The check digit is wrong. Check that the number is typed correctly."
UNTIL = timezone.localdate() + dt.timedelta(days=90)


@pytest.fixture
def power(resident, other_resident) -> PowerOfAttorney:
    """Anna (grantor) gave Bertil (grantee) a power of attorney for every clinic; he accepted."""
    given = power_of_attorney_grant(grantor=resident, personnummer=other_resident.personnummer, valid_until=UNTIL)
    return power_of_attorney_accept(grantee=other_resident, power_id=given.pk)


@pytest.fixture
def attorney_client(power, other_resident, resident) -> Client:
    client = Client()
    client.force_login(other_resident)
    client.post(reverse("acting_choose"), {"patient": resident.pk})
    assert client.session[ACTING_SESSION_KEY] == resident.pk
    return client


def test_a_resident_gives_accepts_and_ends_a_power_of_attorney_through_the_pages_R_POA_1(
    client, resident, other_resident
):
    client.force_login(resident)
    given = client.post(
        reverse("bookings:attorneys"),
        {"personnummer": other_resident.personnummer_display, "scope": "all", "valid_until": UNTIL.isoformat()},
    )
    assert given.status_code == 302
    power = PowerOfAttorney.objects.get(grantor=resident, grantee=other_resident)
    assert power.accepted_at is None and power.valid_until == UNTIL
    offer = InboxMessage.objects.get(resident=other_resident, kind=MessageKind.POWER_OF_ATTORNEY)
    assert "Anna Andersson" in offer.subject

    grantee = Client()
    grantee.force_login(other_resident)
    # Not yet accepted: "Boka för" does not offer Anna.
    assert grantee.post(reverse("acting_choose"), {"patient": resident.pk}).status_code == 302
    assert ACTING_SESSION_KEY not in grantee.session
    assert "Anna Andersson" in text(grantee.get(reverse("bookings:message", args=[offer.pk])))
    grantee.post(reverse("bookings:attorney_change", args=[power.pk]), {"action": "accept"})
    assert reloaded(power).accepted_at is not None
    grantee.post(reverse("acting_choose"), {"patient": resident.pk})
    assert grantee.session[ACTING_SESSION_KEY] == resident.pk
    assert InboxMessage.objects.filter(resident=resident, kind=MessageKind.POWER_OF_ATTORNEY).exists()

    client.post(reverse("bookings:attorney_change", args=[power.pk]), {"action": "end"})
    power = reloaded(power)
    assert power.ended_at is not None and power.ended_by == resident
    actions = set(AuditEvent.objects.filter(object_id=str(power.pk)).values_list("action", flat=True))
    assert actions == {"power_of_attorney.granted", "power_of_attorney.accepted", "power_of_attorney.ended"}


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"personnummer": "19850314-0000"},
            "personnummer",
            "The check digit is wrong. Check that the number is typed correctly.",
        ),
        ({"personnummer": "self"}, "personnummer", "Enter the personal identity number of someone else."),
        ({"valid_until": "2001-01-01"}, "valid_until", "The last day cannot be in the past."),
        ({"valid_until": "31/12"}, "valid_until", "Enter the date as YYYY-MM-DD."),
        ({"scope": "chosen"}, "clinics", "Choose at least one clinic, or every clinic."),
    ],
)
def test_bad_input_is_said_beside_the_field_and_gives_nothing_R_POA_1(
    client, resident, other_resident, values, field, message
):
    client.force_login(resident)
    form = {"personnummer": other_resident.personnummer, "scope": "all", "valid_until": UNTIL.isoformat(), **values}
    if form["personnummer"] == "self":
        form["personnummer"] = resident.personnummer

    response = client.post(reverse("bookings:attorneys"), form)

    assert response.status_code == 400
    page = text(response)
    assert found(rf'id="field-{field}"', page)
    assert sv_gettext(message) in page.split(f'id="field-{field}"', 1)[1].split("</div>", 1)[0]
    assert not PowerOfAttorney.objects.exists()


def test_an_attorney_books_and_the_grantor_is_told_with_the_actor_recorded_R_POA_1(
    attorney_client, resident, other_resident, appointment_type, resource
):
    slot = make_slot(appointment_type, resource, tomorrow_at(10, days=3))

    booking = book_through_pages(attorney_client, slot, resident)

    assert (booking.resident_id, booking.created_by_id, booking.acting_as) == (
        resident.pk,
        other_resident.pk,
        "attorney",
    )
    row = WebBookingLogEntry.objects.get(booking=booking)
    assert (row.actor_id, row.acting_as) == (other_resident.pk, ActingAs.ATTORNEY)
    told = InboxMessage.objects.filter(resident=resident, kind=MessageKind.POWER_OF_ATTORNEY, booking=booking).get()
    assert told.subject == sv_gettext("%(name)s booked a time for you") % {"name": "Bertil Berg"}

    booking_cancel(actor=other_resident, booking_id=booking.pk)
    cancelled = InboxMessage.objects.filter(resident=resident, booking=booking, kind=MessageKind.POWER_OF_ATTORNEY)
    assert cancelled.count() == 2
    assert WebBookingLogEntry.objects.filter(booking=booking, actor=other_resident).count() == 2


def test_a_power_for_chosen_clinics_covers_only_them_R_POA_1(
    resident, other_resident, clinic, other_clinic, appointment_type, resource
):
    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)
    given = power_of_attorney_grant(
        grantor=resident,
        personnummer=other_resident.personnummer,
        valid_until=UNTIL,
        all_clinics=False,
        clinic_ids=[other_clinic.pk],
    )
    power_of_attorney_accept(grantee=other_resident, power_id=given.pk)
    own = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, tomorrow_at(9, days=3)).pk)

    client = Client()
    client.force_login(other_resident)
    client.post(reverse("acting_choose"), {"patient": resident.pk})

    assert client.get(reverse("bookings:book_conditions", args=[clinic.pk])).status_code == 404
    assert client.get(reverse("bookings:detail", args=[own.pk])).status_code == 404
    with pytest.raises(BookingError):
        booking_create(
            resident=resident,
            actor=other_resident,
            slot_id=make_slot(appointment_type, resource, tomorrow_at(11, days=3)).pk,
        )
    with pytest.raises(BookingError):
        booking_cancel(actor=other_resident, booking_id=own.pk)
    assert Booking.objects.get(pk=own.pk).status == BookingStatus.ACTIVE


def test_a_revoked_power_used_from_a_stale_page_is_refused_and_changes_nothing_R_POA_1(
    attorney_client, power, resident, appointment_type, resource
):
    slot = make_slot(appointment_type, resource, tomorrow_at(10, days=3))
    booking = booking_create(resident=resident, slot_id=slot.pk)
    accept_conditions(attorney_client, slot.clinic, CaseKind.MANAGE)
    cancel_page = text(attorney_client.get(reverse("bookings:cancel", args=[booking.pk])))
    assert 'name="acting_for"' in cancel_page

    power_of_attorney_end(actor=resident, power_id=power.pk)
    response = attorney_client.post(reverse("bookings:cancel", args=[booking.pk]), {"acting_for": resident.pk})

    assert response.status_code == 403 and sv_gettext("Nothing was changed") in text(response)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    with pytest.raises(BookingError) as refused:
        booking_cancel(actor=power.grantee, booking_id=booking.pk)
    assert refused.value.message == NO_LONGER_ALLOWED
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    assert not WebBookingLogEntry.objects.filter(booking=booking, status="cancelled").exists()


def test_a_power_past_its_last_day_no_longer_counts_R_POA_1(time_machine, power, resident, other_resident):
    assert acting_resolve(actor=other_resident, patient_id=resident.pk) is not None
    time_machine.move_to(timezone.now() + dt.timedelta(days=92), tick=False)
    assert acting_resolve(actor=other_resident, patient_id=resident.pk) is None


def test_a_stranger_cannot_accept_or_end_someone_elses_power(client, power):
    stranger = ResidentFactory(personnummer=make_personnummer(dt.date(1970, 1, 1)))
    client.force_login(stranger)

    for action in ("accept", "end"):
        assert client.post(reverse("bookings:attorney_change", args=[power.pk]), {"action": action}).status_code == 404
    power.refresh_from_db()
    assert power.ended_at is None


def test_staff_see_who_may_act_for_the_resident_R_POA_2(sched, clinic, power, resident, other_resident):
    alva = ResidentFactory(personnummer=make_personnummer(dt.date(2018, 6, 12)), first_name="Alva")
    Custody.objects.create(
        guardian=resident, child=alva, child_birth_date=dt.date(2018, 6, 12), refreshed_at=timezone.now()
    )
    page_url = reverse("workspace:resident_page", args=[clinic.pk])

    for patient, who in ((resident, other_resident), (alva, resident)):
        found_page = sched.post(page_url, {"personnummer": patient.personnummer})
        page = text(sched.get(found_page.url))
        section = page.split('id="representatives-heading"', 1)[1].split("</section>", 1)[0]
        assert who.get_full_name() in section and who.personnummer_display in section

    looked = sched.post(
        f"/api/v1/staff/clinics/{clinic.pk}/residents/lookup/",
        {"personnummer": resident.personnummer},
        content_type="application/json",
    )
    (person,) = looked.json()["representatives"]
    assert person["acting_as"] == "attorney" and person["person"]["name"] == "Bertil Berg"
    assert person["until"] == UNTIL.isoformat()


# --- The API: an explicit patient, 404 when not allowed ---------------------------------------------


def test_the_api_acts_for_an_explicit_patient_and_answers_404_when_not_allowed(
    power, resident, other_resident, appointment_type, resource
):
    api = Client()
    api.force_login(other_resident)
    stranger = ResidentFactory(personnummer=make_personnummer(dt.date(1970, 1, 1)))

    options = api.get("/api/v1/acting-for/").json()
    assert [(o["patient"], o["acting_as"]) for o in options] == [(other_resident.pk, ""), (resident.pk, "attorney")]
    slot = make_slot(appointment_type, resource, tomorrow_at(10, days=3))
    made = api.post("/api/v1/bookings/", {"patient": resident.pk, "slot": slot.pk}, content_type="application/json")
    assert made.status_code == 201, made.content
    booking = Booking.objects.get(pk=made.json()["id"])
    assert (booking.resident_id, booking.created_by_id) == (resident.pk, other_resident.pk)
    assert [b["id"] for b in api.get(f"/api/v1/bookings/?patient={resident.pk}").json()] == [booking.pk]
    assert api.get("/api/v1/bookings/").json() == []
    assert api.get(f"/api/v1/bookings/?patient={stranger.pk}").status_code == 404
    assert api.get("/api/v1/bookings/?patient=abc").status_code == 404

    power_of_attorney_end(actor=resident, power_id=power.pk)
    other = make_slot(appointment_type, resource, tomorrow_at(12, days=3))
    refused = api.post("/api/v1/bookings/", {"patient": resident.pk, "slot": other.pk}, content_type="application/json")
    assert refused.status_code == 404
    cancel = api.post(
        f"/api/v1/bookings/{booking.pk}/cancel/", {"patient": resident.pk}, content_type="application/json"
    )
    assert cancel.status_code == 404
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    assert not Booking.objects.filter(slot=other).exists()


# --- Who may open the new resident URLs (R-ACL-2) ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "with_power"),
    [
        ("get", "bookings:attorneys", False),
        ("post", "bookings:attorney_change", True),
        ("post", "acting_choose", False),
    ],
)
def test_the_new_resident_pages_are_for_residents_only(client, scheduler, power, method, name, with_power):
    url = reverse(name, args=[power.pk] if with_power else [])

    anonymous = getattr(Client(), method)(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("resident_login"))
    staff_client = login(Client(), scheduler)
    assert getattr(staff_client, method)(url).status_code == 403
    assert staff_client.get("/api/v1/acting-for/").status_code == 403
    assert Client().get("/api/v1/acting-for/").status_code in (401, 403)
    assert reloaded(power).ended_at is None
