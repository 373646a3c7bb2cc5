"""R-SEC-3 in a real browser: a personnummer never travels in a URL. A staff member books for a
resident who has never logged in and looks up one who has, filters and exports the web booking
log, and filters and exports the audit log, typing the numbers in every accepted form. Every URL
the browser requests (pages, redirects, downloads, assets) is recorded and none of them carries
a personnummer, so none lands in an access log or the browser's history. Every new page state
is checked with axe-core."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import unquote, unquote_plus

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role, User
from bookings.models import Booking
from bookings.services import booking_cancel, booking_create

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    make_personnummer,
    staff,
    tomorrow_at,
)
from .conftest import check_page, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Any personnummer-shaped run of digits: 12 or 10 digits, the last four after an optional - or +.
PERSONNUMMER_SHAPE = re.compile(r"(?<!\d)(?:\d{8}|\d{6})[-+]?\d{4}(?!\d)")


def written_forms(personnummer: str) -> set[str]:
    """Every way the 12-digit number can be typed: 12 or 10 digits, with or without - or +."""
    long, short, serial = personnummer[:8], personnummer[2:8], personnummer[8:]
    return {f"{long}{serial}", f"{long}-{serial}", f"{short}{serial}", f"{short}-{serial}", f"{short}+{serial}"}


def leaks(url: str, personnummers: list[str]) -> bool:
    decoded = {url, unquote(url), unquote_plus(url)}
    if any(form in text for text in decoded for personnummer in personnummers for form in written_forms(personnummer)):
        return True
    # Static files carry content hashes, which may by chance hold ten digits in a row.
    path = unquote(url.split("://", 1)[-1].split("/", 1)[-1])
    return not path.startswith("static/") and bool(PERSONNUMMER_SHAPE.search(path))


def test_no_url_of_the_staff_flows_carries_a_personnummer(page: Page, live_server):
    solna = ClinicFactory(name="Vårdcentralen Solna")
    visit = AppointmentTypeFactory(clinic=solna, internal_name="Uppföljning 30 min", web_name="Besök")
    nurse = ResourceFactory(clinic=solna, name="Distriktssköterska")
    start = tomorrow_at(10, days=3)
    times = [SlotFactory(appointment_type=visit, resource=nurse, start=start + dt.timedelta(hours=h)) for h in range(3)]
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    assert anna.personnummer is not None  # a resident always has one
    booking = booking_create(resident=anna, slot_id=times[2].pk, now=start - dt.timedelta(days=2))
    booking_cancel(actor=anna, booking_id=booking.pk, now=start - dt.timedelta(days=1))
    newcomer = make_personnummer(dt.date(1990, 5, 17))  # has never logged in
    centenarian = make_personnummer(dt.date(1920, 5, 1))  # written YYMMDD+NNNN
    sara = staff(Role.SCHEDULER, solna)
    Membership.objects.create(user=sara, role=Role.SUPPORT, clinic=solna)
    Membership.objects.create(user=sara, role=Role.REGION_IT, region=solna.region)
    make_staff_login_ready(sara)
    mistyped = f"{anna.personnummer[:11]}{(int(anna.personnummer[11]) + 1) % 10}"  # wrong check digit
    personnummers = [anna.personnummer, newcomer, centenarian, mistyped]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    base = f"/personal/{solna.pk}"

    # Book for a resident who has never logged in, typed YYMMDD-NNNN; filter the free times by type.
    staff_login(page, sara, next_url=f"{base}/boka-at-invanare/")
    page.locator("#id_personnummer").fill(f"{newcomer[2:8]}-{newcomer[8:]}")
    page.locator("#id_personnummer").press("Enter")
    page.wait_for_url("**/boka-at-invanare/?sok=*")
    expect(page.locator("main .card")).to_contain_text(f"{newcomer[:8]}-{newcomer[8:]}")
    assert not User.objects.filter(personnummer=newcomer).exists()  # a read never writes
    check_page(page, "no-pnr-book-newcomer")
    page.locator("#id_typ").select_option(str(visit.pk))
    page.locator("main form[method=get] button[type=submit]").click()
    page.wait_for_url("**typ=*")
    page.locator(f"#free-{times[1].pk}").check()
    page.locator("main form[method=post] button[type=submit]").last.click()
    page.wait_for_url("**/tidbok/bokning/*/")
    assert Booking.objects.get(slot=times[1]).resident.personnummer == newcomer

    # Look up a resident who has, typed as 12 digits.
    page.goto(f"{base}/boka-at-invanare/")
    page.locator("#id_personnummer").fill(anna.personnummer)
    page.locator("#id_personnummer").press("Enter")
    expect(page.locator("main .card")).to_contain_text("Anna Andersson")

    # The web booking log: a refused search, then searches in the other written forms, an export.
    page.goto(f"{base}/logg/")
    page.locator("#id_personnummer").fill(f"{mistyped[2:8]}-{mistyped[8:]}")
    page.locator("#id_personnummer").press("Enter")
    expect(page.locator("#id_personnummer_error")).to_be_visible()
    page.locator("#id_personnummer").fill(f"{centenarian[2:8]}+{centenarian[8:]}")
    page.locator("#id_personnummer").press("Enter")
    page.wait_for_url("**/logg/?sok=*")
    expect(page.locator("tbody tr")).to_have_count(0)
    page.locator("#id_personnummer").fill(f"{anna.personnummer[:8]}-{anna.personnummer[8:]}")
    page.locator("#id_personnummer").press("Enter")
    expect(page.locator("tbody tr")).to_have_count(2)
    check_page(page, "no-pnr-web-log-search")
    with page.expect_download() as web_log_csv:
        page.locator("a[href*='logg.csv']").click()
    requested.append(web_log_csv.value.url)
    assert anna.personnummer_display in Path(web_log_csv.value.path()).read_text(encoding="utf-8-sig")

    # The audit log of region IT, searched and exported the same way.
    page.goto(f"{base}/atkomstlogg/")
    page.locator("#id_personnummer").fill(f"{anna.personnummer[2:8]}{anna.personnummer[8:]}")
    page.locator("#id_personnummer").press("Enter")
    page.wait_for_url("**/atkomstlogg/?sok=*")
    expect(page.locator("tbody tr").first).to_contain_text("Anna Andersson")
    check_page(page, "no-pnr-audit-log-search")
    with page.expect_download() as audit_csv:
        page.locator("a[href*='atkomstlogg.csv']").click()
    requested.append(audit_csv.value.url)

    assert len(requested) > 20
    assert [url for url in requested if leaks(url, personnummers)] == []
    # The check itself would have seen the forms typed above, had they been sent as a query.
    for personnummer in personnummers:
        for form in written_forms(personnummer):
            assert leaks(f"{live_server.url}{base}/logg/?personnummer={form}", personnummers)
