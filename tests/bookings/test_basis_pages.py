"""The workspace pages for booking bases and open summons, and what the resident meets: the
start page's "what you may book", the summons in the inbox with its "Boka tid" link, and the
booking flow it starts (R-TYPE-4, R-REL-1, R-CASE-1, R-SEC-3, R-LOG-4)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, User
from bookings.models import BasisKind, Booking, BookingBasis, BookingStatus, InboxMessage
from bookings.services import booking_create, open_summons_send
from clinics.models import CaseKind, CaseType
from core.search_token import SEARCH_TOKEN_PARAM

from ..factories import AppointmentTypeFactory, BookingBasisFactory, make_personnummer, tomorrow_at
from ..pages import make_slot
from ..workspace import flashed, login, sv, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral_type(clinic):
    return AppointmentTypeFactory(
        clinic=clinic, internal_name="Remissbesök 45 min", web_name="Besök efter remiss", requires_booking_basis=True
    )


def days_ahead(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def find_resident(client, clinic, personnummer: str, name: str = "workspace:booking_basis_new"):
    url = reverse(name, args=[clinic.pk])
    response = client.post(url, {"personnummer": personnummer})
    assert response.status_code == 302
    # R-SEC-3: the next step names an opaque token, never the personnummer.
    assert personnummer not in response.url and personnummer[:8] not in response.url
    assert f"?{SEARCH_TOKEN_PARAM}=" in response.url
    return response.url


def test_a_scheduler_issues_a_basis_in_two_steps_without_the_personnummer_in_a_url(
    client, clinic, scheduler, referral_type
):
    login(client, scheduler)
    personnummer = make_personnummer()
    step2 = find_resident(client, clinic, personnummer)
    page = client.get(step2)
    assert page.status_code == 200
    assert sv("Step 2 of 2") in text(page)
    token = step2.split("=", 1)[1]

    response = client.post(
        reverse("workspace:booking_basis_new", args=[clinic.pk]),
        {
            SEARCH_TOKEN_PARAM: token,
            "appointment_type": referral_type.pk,
            "valid_from": days_ahead(1),
            "valid_until": days_ahead(60),
            "max_bookings": "2",
            "note": "Remiss från ortopeden",
        },
    )

    basis = BookingBasis.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("workspace:booking_basis", args=[clinic.pk, basis.pk])
    assert (basis.resident.personnummer, basis.max_bookings, basis.issued_by) == (personnummer, 2, scheduler)
    assert flashed(response) == [sv("The booking basis is issued. The resident can book with it now.")]
    assert AuditEvent.objects.filter(action="booking_basis.issue", resident=basis.resident).exists()


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"valid_until": days_ahead(-1)}, "valid_until", "The last valid day cannot be in the past."),
        (
            {"valid_from": days_ahead(9), "valid_until": days_ahead(3)},
            "valid_until",
            "The last valid day cannot be before the first.",
        ),
        ({"max_bookings": "0"}, "max_bookings", "Tillåt minst 1 bokning."),
        ({"appointment_type": ""}, "appointment_type", "Choose an appointment type."),
        ({"valid_from": "31/12"}, "valid_from", None),
        ({"appointment_type": "999999"}, "appointment_type", None),
    ],
)
def test_bad_input_is_a_swedish_field_error_and_issues_nothing(
    client, clinic, scheduler, referral_type, values, field, message
):
    login(client, scheduler)
    token = find_resident(client, clinic, make_personnummer()).split("=", 1)[1]
    data = {SEARCH_TOKEN_PARAM: token, "appointment_type": referral_type.pk, "max_bookings": "1", **values}

    response = client.post(reverse("workspace:booking_basis_new", args=[clinic.pk]), data)

    assert response.status_code == 400
    assert f'id="field-id_{field}"' in text(response) and "field--error" in text(response)
    if message:
        assert sv(message) in text(response)
    assert not BookingBasis.objects.exists()
    assert not User.objects.filter(personnummer__isnull=False).exists()  # nobody created by a refusal


def test_a_bad_personnummer_stays_on_step_one(client, clinic, scheduler):
    login(client, scheduler)
    response = client.post(reverse("workspace:booking_basis_new", args=[clinic.pk]), {"personnummer": "19850314-0000"})
    assert response.status_code == 400
    assert sv("Step 1 of 2") in text(response)


def test_an_expired_search_starts_again(client, clinic, scheduler):
    login(client, scheduler)
    url = reverse("workspace:booking_basis_new", args=[clinic.pk])
    response = client.get(f"{url}?{SEARCH_TOKEN_PARAM}=not-a-token")
    assert response.status_code == 302 and response.url == url
    assert flashed(response) == [sv("The search has expired. Search again.")]


def test_revoking_says_the_booking_made_is_not_cancelled(client, clinic, scheduler, resident, referral_type, resource):
    basis = BookingBasisFactory(appointment_type=referral_type, resident=resident, max_bookings=2)
    booking = booking_create(resident=resident, slot_id=make_slot(referral_type, resource, tomorrow_at(9, days=2)).pk)
    login(client, scheduler)
    page = client.get(reverse("workspace:booking_basis", args=[clinic.pk, basis.pk]))
    assert sv(
        "Revoking stops new bookings with it. A time already booked with it is not cancelled: "
        "cancel it in the timebook if it should go too."
    ) in text(page)

    response = client.post(reverse("workspace:booking_basis_revoke", args=[clinic.pk, basis.pk]))

    assert response.status_code == 302
    [message] = flashed(response)
    assert "1 bokning som redan gjorts med det avbokas inte." in message
    booking.refresh_from_db()
    basis.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE and basis.revoked_at is not None
    again = client.get(reverse("workspace:booking_basis", args=[clinic.pk, basis.pk]))
    assert sv("Revoke the booking basis") not in text(again)


def test_support_reads_a_basis_but_is_offered_no_revoke(client, clinic, support, referral_type):
    basis = BookingBasisFactory(appointment_type=referral_type)
    login(client, support)
    page = client.get(reverse("workspace:booking_basis", args=[clinic.pk, basis.pk]) + "?fran=logg")
    assert page.status_code == 200
    assert sv("Revoke the booking basis") not in text(page)
    assert reverse("workspace:web_log", args=[clinic.pk]) in text(page)  # back to the log it came from
    assert client.post(reverse("workspace:booking_basis_revoke", args=[clinic.pk, basis.pk])).status_code == 403


def test_the_list_filters_and_says_when_nothing_matches(client, clinic, scheduler, referral_type):
    active = BookingBasisFactory(appointment_type=referral_type, note="Remiss A")
    BookingBasisFactory(appointment_type=referral_type, revoked_at=timezone.now())
    login(client, scheduler)
    url = reverse("workspace:booking_bases", args=[clinic.pk])

    page = client.get(url, {"tillstand": "active"})
    assert page.status_code == 200
    assert reverse("workspace:booking_basis", args=[clinic.pk, active.pk]) in text(page)
    assert text(page).count("<tr>") == 2  # the header and the active basis
    empty = client.get(url, {"tillstand": "expired"})
    assert sv("No booking basis or open summons matches the filter.") in text(empty)
    assert client.get(url, {"tillstand": "nonsense"}).status_code == 400


def test_a_clinic_without_bases_says_so(client, clinic, scheduler):
    login(client, scheduler)
    page = client.get(reverse("workspace:booking_bases", args=[clinic.pk]))
    assert sv("The clinic has not issued any booking basis or open summons yet.") in text(page)


def test_an_open_summons_is_sent_from_its_page(client, clinic, scheduler, appointment_type):
    login(client, scheduler)
    token = find_resident(client, clinic, make_personnummer(), "workspace:open_summons_new").split("=", 1)[1]

    response = client.post(
        reverse("workspace:open_summons_new", args=[clinic.pk]),
        {
            SEARCH_TOKEN_PARAM: token,
            "appointment_type": appointment_type.pk,
            "valid_from": days_ahead(1),
            "valid_until": days_ahead(30),
        },
    )

    summons = BookingBasis.objects.get()
    assert response.status_code == 302 and summons.kind == BasisKind.OPEN_SUMMONS
    assert InboxMessage.objects.get(resident=summons.resident).booking_basis == summons


def test_an_open_summons_needs_its_period(client, clinic, scheduler, appointment_type):
    login(client, scheduler)
    token = find_resident(client, clinic, make_personnummer(), "workspace:open_summons_new").split("=", 1)[1]
    response = client.post(
        reverse("workspace:open_summons_new", args=[clinic.pk]),
        {SEARCH_TOKEN_PARAM: token, "appointment_type": appointment_type.pk},
    )
    assert response.status_code == 400
    assert sv("Enter the first day of a visit.") in text(response)
    assert sv("Enter the last day of a visit.") in text(response)
    assert not BookingBasis.objects.exists() and not InboxMessage.objects.exists()


# --- The resident ------------------------------------------------------------------------------------


def test_the_start_page_shows_what_the_resident_may_book_and_until_when(
    resident_client, resident, other_resident, referral_type
):
    mine = BookingBasisFactory(
        appointment_type=referral_type, resident=resident, valid_until=timezone.localdate() + dt.timedelta(days=30)
    )
    theirs = BookingBasisFactory(appointment_type=referral_type, resident=other_resident)

    page = text(resident_client.get(reverse("bookings:start")))

    assert sv("What you may book") in page
    assert "Besök efter remiss" in page and "Remissbesök" not in page  # R-TYPE-1
    assert reverse("bookings:basis_book", args=[mine.pk]) in page
    assert reverse("bookings:basis_book", args=[theirs.pk]) not in page
    assert resident_client.get(reverse("bookings:basis_book", args=[theirs.pk])).status_code == 404


def test_boka_tid_goes_through_the_conditions_to_the_types_days(resident_client, resident, clinic, referral_type):
    basis = BookingBasisFactory(appointment_type=referral_type, resident=resident)

    response = resident_client.get(reverse("bookings:basis_book", args=[basis.pk]))
    conditions = reverse("bookings:book_conditions", args=[clinic.pk])
    assert response.url == f"{conditions}?typ={referral_type.pk}"
    accepted = resident_client.post(response.url, {"accept": "yes"})

    assert accepted.url == reverse("bookings:book_days", args=[clinic.pk, referral_type.pk])
    assert resident_client.get(accepted.url).status_code == 200


def test_the_summons_in_the_inbox_books_a_type_the_resident_is_not_otherwise_offered(
    resident_client, resident, clinic, scheduler, resource
):
    screening = AppointmentTypeFactory(clinic=clinic, web_name="Hälsokontroll", bookable_on_web=False)
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(is_active=False)
    slot = make_slot(screening, resource, tomorrow_at(9, days=3))
    open_summons_send(
        actor=scheduler,
        clinic=clinic,
        appointment_type=screening,
        resident=resident,
        valid_from=timezone.localdate(),
        valid_until=timezone.localdate() + dt.timedelta(days=10),
    )
    message = InboxMessage.objects.get(resident=resident)

    page = text(resident_client.get(reverse("bookings:message", args=[message.pk])))
    link = reverse("bookings:basis_book", args=[message.booking_basis_id])
    assert link in page and sv("Book a time") in page

    days = resident_client.get(link)
    assert days.url == reverse("bookings:book_days", args=[clinic.pk, screening.pk])
    held = resident_client.post(reverse("bookings:hold"), {"slot": slot.pk, "back": "/"})
    booked = resident_client.post(held.url)
    assert booked.status_code == 302
    assert Booking.objects.get(resident=resident).booking_basis_id == message.booking_basis_id
    # Used: the message says so instead of offering the link again.
    after = text(resident_client.get(reverse("bookings:message", args=[message.pk])))
    assert link not in after
    assert sv("This invitation can no longer be used to book. Contact the clinic if you still need a time.") in after


def test_a_booking_made_on_a_basis_links_to_it_in_the_timebook(
    client, clinic, scheduler, resident, referral_type, resource
):
    basis = BookingBasisFactory(appointment_type=referral_type, resident=resident)
    booking = booking_create(resident=resident, slot_id=make_slot(referral_type, resource, tomorrow_at(9, days=2)).pk)
    login(client, scheduler)

    page = text(client.get(reverse("workspace:booking_detail", args=[clinic.pk, booking.pk])))

    assert reverse("workspace:booking_basis", args=[clinic.pk, basis.pk]) in page


def test_the_staff_resident_page_starts_a_basis_or_summons_for_that_resident(client, clinic, scheduler, resident):
    login(client, scheduler)
    found = client.post(reverse("workspace:resident_page", args=[clinic.pk]), {"personnummer": resident.personnummer})
    page = text(client.get(found.url))
    assert reverse("workspace:booking_basis_new", args=[clinic.pk]) in page
    assert reverse("workspace:open_summons_new", args=[clinic.pk]) in page

    # The page posts the personnummer (never a link); the basis page names the resident by its token.
    step2 = find_resident(client, clinic, resident.personnummer_display)

    assert resident.get_full_name() in text(client.get(step2))
