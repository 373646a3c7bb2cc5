"""Removing a clinic from the start page is confirmed first, and the page says exactly which booked times will
disappear from "Mina bokade tider" and that they stay booked at the clinic (R-REL-2)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from clinics.models import CaseKind, CaseType, ClinicRelation

from ..pages import text

pytestmark = pytest.mark.django_db


def _confirm_url(clinic) -> str:
    return reverse("bookings:remove_clinic", args=[clinic.pk])


def test_the_start_page_links_to_a_confirmation_instead_of_removing_at_once(resident_client, booked):
    soup = BeautifulSoup(resident_client.get(reverse("bookings:start")).content, "html.parser")

    assert soup.select_one(f'a[href="{_confirm_url(booked.clinic)}"]') is not None
    assert soup.select_one(f'form[action="{reverse("clinics:remove", args=[booked.clinic.pk])}"]') is None


def test_the_confirmation_names_the_times_that_will_disappear_and_that_they_stay_booked(resident_client, booked):
    page = text(resident_client.get(_confirm_url(booked.clinic)))

    assert f"Ta bort {booked.clinic.name} från din startsida?" in page
    assert booked.appointment_type.web_name in page
    assert "visas inte längre under Mina bokade tider" in page
    assert "Tiden är fortfarande bokad på mottagningen" in page
    # Only the question is asked: nothing changed yet.
    assert ClinicRelation.objects.get(resident=booked.resident, clinic=booked.clinic).on_start_page


def test_confirming_removes_the_clinic_and_hides_the_times(resident_client, booked):
    resident_client.post(reverse("clinics:remove", args=[booked.clinic.pk]))

    assert booked.appointment_type.web_name not in text(resident_client.get(reverse("bookings:my_bookings")))
    assert booked.clinic.name not in text(resident_client.get(reverse("bookings:start")))


def test_approved_for_communication_the_page_says_the_times_stay_visible(resident_client, booked):
    ClinicRelation.objects.filter(resident=booked.resident, clinic=booked.clinic).update(
        approved_for_communication=True
    )

    page = text(resident_client.get(_confirm_url(booked.clinic)))

    assert "visas fortfarande under Mina bokade tider" in page
    assert "visas inte längre" not in page


def test_another_residents_bookings_never_show_and_a_clinic_not_on_the_start_page_is_not_found(
    resident_client, other_client, booked, other_clinic
):
    assert other_client.get(_confirm_url(booked.clinic)).status_code == 404
    assert resident_client.get(_confirm_url(other_clinic)).status_code == 404


def test_book_a_time_is_offered_beside_a_clinic_only_where_booking_would_start(resident_client, booked):
    start = reverse("bookings:start")
    book_url = reverse("bookings:book_conditions", args=[booked.clinic.pk])
    CaseType.objects.update_or_create(clinic=booked.clinic, kind=CaseKind.BOOK, defaults={"is_active": True})
    assert f'href="{book_url}"' in text(resident_client.get(start))

    CaseType.objects.filter(clinic=booked.clinic, kind=CaseKind.BOOK).update(is_active=False)

    assert f'href="{book_url}"' not in text(resident_client.get(start))
