"""Support staff in headless Chromium: read the web booking log after a resident cancelled late
(R-LOG-1, R-LOG-2, R-BOOK-8), open the booking basis, and region IT reading the audit log
(R-LOG-4). Every page is checked with axe-core and photographed at 360 and 1280 px."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent, Role
from bookings.services import booking_cancel, booking_create
from schedules.selectors import LOCAL_TZ

from ..factories import (
    AppointmentTypeFactory,
    BookingBasisFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    staff,
    tomorrow_at,
)
from .conftest import check_page, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def solna(db):
    return ClinicFactory(name="Vårdcentralen Solna")


@pytest.fixture
def anna(db):
    return ResidentFactory(first_name="Anna", last_name="Andersson")


@pytest.fixture
def late_cancellation(solna, anna):
    """Anna booked a referral visit with her booking basis and cancelled it five hours before."""
    referral = AppointmentTypeFactory(
        clinic=solna, internal_name="Remissbesök 45 min", web_name="Besök efter remiss", requires_booking_basis=True
    )
    basis = BookingBasisFactory(appointment_type=referral, resident=anna, note="Remiss från ortopeden")
    nurse = ResourceFactory(clinic=solna, name="Distriktssköterska")
    start = tomorrow_at(10, days=3)
    slot = SlotFactory(appointment_type=referral, resource=nurse, start=start, end=start + dt.timedelta(minutes=45))
    booking = booking_create(resident=anna, slot_id=slot.pk, now=start - dt.timedelta(days=2))
    booking_cancel(actor=anna, booking_id=booking.pk, now=start - dt.timedelta(hours=5))
    return {"basis": basis, "start": start.astimezone(LOCAL_TZ)}


def test_support_reads_the_log_after_a_resident_cancelled_late(page: Page, solna, anna, late_cancellation):
    support = staff(Role.SUPPORT, solna)
    make_staff_login_ready(support)
    log_path = f"/personal/{solna.pk}/logg/"

    staff_login(page, support, next_url=log_path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_page(page, "support-web-log")  # Swedish, the default

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Web booking log")
    check_page(page, "support-web-log-en")

    start = late_cancellation["start"]
    cancelled = page.locator("tbody tr").filter(has_text="Cancelled")
    expect(cancelled).to_have_count(1)
    expect(cancelled).to_contain_text("Anna Andersson")
    expect(cancelled).to_contain_text(anna.personnummer_display)
    expect(cancelled).to_contain_text("Late – billable")
    # Previous values red and marked in words, not by colour alone (R-LOG-2); no new values.
    previous = cancelled.locator(".prev")
    expect(previous).to_have_count(4)
    expect(previous.nth(0)).to_have_text(f"Previous: {start:%Y-%m-%d}")
    expect(previous.nth(1)).to_have_text(f"Previous: {start:%H:%M}")
    expect(previous.nth(2)).to_have_text("Previous: Distriktssköterska")
    expect(previous.nth(3)).to_have_text("Previous: Remissbesök 45 min")
    expect(cancelled.locator(".new")).to_have_count(0)
    colour = previous.nth(0).evaluate("cell => getComputedStyle(cell).backgroundColor")
    assert colour == "rgb(253, 232, 230)"
    booked = page.locator("tbody tr").filter(has_text="Booked")
    expect(booked.locator(".new .marker")).to_have_count(4)

    # At 1280 px every column, channel and 24-hour rule included, is on screen without scrolling sideways.
    page.set_viewport_size({"width": 1280, "height": 900})
    headers = page.locator("thead th")
    expect(headers).to_have_count(8)
    for header in headers.all():
        box = header.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1280, header.inner_text()
    overflow = page.locator(".table-scroll").evaluate("region => region.scrollWidth - region.clientWidth")
    assert overflow <= 0

    # Keyboard only: a mistyped personnummer gets an error on the field; a right one filters.
    page.locator("#id_personnummer").focus()
    page.keyboard.type("19850314-0000")
    page.keyboard.press("Enter")
    expect(page.locator("#id_personnummer_error")).to_be_visible()
    expect(page.locator("#id_personnummer")).to_have_attribute("aria-invalid", "true")
    check_page(page, "support-web-log-error")
    page.locator("#id_status").focus()
    page.keyboard.press("End")  # the last status: Cancelled
    page.keyboard.press("Tab")
    expect(page.locator("#id_personnummer")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type(anna.personnummer)
    page.keyboard.press("Enter")
    page.wait_for_url("**/logg/?sok=*")  # the search is named by a token, never the number (R-SEC-3)
    expect(page.locator("tbody tr")).to_have_count(1)
    check_page(page, "support-web-log-filtered")

    link = page.locator("tbody tr").get_by_role("link")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Booking basis")
    expect(page.locator("main")).to_contain_text("Remiss från ortopeden")
    check_page(page, "support-booking-basis")

    # Every page that showed Anna's data is on record for her (R-LOG-4).
    actions = set(AuditEvent.objects.filter(actor=support, resident=anna).values_list("action", flat=True))
    assert {"web_log.read", "web_log.resident_shown", "booking_basis.read"} <= actions


def test_region_it_reads_who_looked_at_a_resident(page: Page, solna, anna, late_cancellation):
    support = staff(Role.SUPPORT, solna)
    region_it = staff(Role.REGION_IT, solna)
    make_staff_login_ready(support)
    make_staff_login_ready(region_it)
    staff_login(page, support, next_url=f"/personal/{solna.pk}/logg/")
    page.context.clear_cookies()

    audit_path = f"/personal/{solna.pk}/atkomstlogg/"
    staff_login(page, region_it, next_url=audit_path)
    check_page(page, "support-audit-log")
    page.get_by_role("button", name="English").click()
    page.locator("#id_personnummer").fill(anna.personnummer)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**sok=**")  # the search is named by a token, never the number (R-SEC-3)
    rows = page.locator("tbody tr")
    expect(rows.filter(has_text="Saw the resident in the web booking log")).to_have_count(1)
    expect(rows.filter(has_text="Saw the resident in the web booking log")).to_contain_text("Sara Schema")
    check_page(page, "support-audit-log-filtered")
