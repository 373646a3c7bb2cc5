"""Support pages of the clinic workspace: the web booking log (R-LOG-1…3, R-BOOK-8), its CSV
export, booking bases, and the audit log for region IT (R-LOG-4), with R-ACL-1 around them.

Log rows are made by the real booking services, so the page shows what a resident's change
really writes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Role
from accounts.services import audit_record
from bookings.models import LogStatus, WebBookingLogEntry
from bookings.services import booking_cancel, booking_create, booking_rebook, web_log_purge
from schedules.selectors import LOCAL_TZ

from ..factories import (
    AppointmentTypeFactory,
    BookingBasisFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    login_with_second_factor,
    staff,
    tomorrow_at,
)
from ..pages import found

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def login(client, user, language: str = "en"):
    """A staff member with a second factor (R-AUTH-2), reading the pages in ``language``."""
    if not user.is_resident:
        TOTP.activate(user, TOTP_SECRET)
        login_with_second_factor(client, user)
    else:
        client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value, LOCAL_TZ)


def slot_at(appointment_type, resource, start: dt.datetime):
    return SlotFactory(
        appointment_type=appointment_type, resource=resource, start=start, end=start + dt.timedelta(minutes=20)
    )


def log_url(clinic, **params) -> str:
    url = reverse("workspace:web_log", args=[clinic.pk])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else url


def csv_url(clinic, **params) -> str:
    url = reverse("workspace:web_log_csv", args=[clinic.pk])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else url


def search(client, clinic, **filters):
    """Filter the log as the page does (R-SEC-3): post the filters, then follow the redirect to
    the page that names the search by its token. A refused filter is the answer to the post."""
    response = client.post(log_url(clinic), {name: str(value) for name, value in filters.items()})
    return client.get(response.url) if response.status_code == 302 else response


def search_token(client, clinic, **filters) -> str:
    response = client.post(log_url(clinic), {name: str(value) for name, value in filters.items()})
    assert response.status_code == 302
    return response.url.split("?sok=", 1)[1]


def body_rows(response) -> list[str]:
    """The <tr> elements of the table body, as HTML."""
    html = response.content.decode()
    tbody = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>.*?</tr>", tbody, flags=re.S)


def cells(row: str) -> list[tuple[str, str]]:
    """The cells of a table row as (class, visible text), tags stripped."""
    found = re.findall(r'<td(?: class="(\w+)")?[^>]*>(.*?)</td>', row, flags=re.S)
    return [(cls, " ".join(re.sub(r"<[^>]+>", " ", html).split())) for cls, html in found]


def values(row: str) -> list[tuple[str, str]]:
    """The compared values of a row (date, start, resource, type, previous then new) as (class, visible text): each
    is a list item of its cell, marked "prev" or "new" where it changed (R-LOG-2)."""
    found = re.findall(r'<li(?: class="(\w+)")?>(.*?)</li>', row, flags=re.S)
    return [(cls, " ".join(re.sub(r"<[^>]+>", " ", html).split())) for cls, html in found]


def marked(row: str, cls: str) -> list[str]:
    return [text for kind, text in values(row) if kind == cls]


def read_csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


@pytest.fixture
def start():
    return tomorrow_at(10, days=5)


@pytest.fixture
def day1(start):
    """When Anna and Bertil book: four days before the visits."""
    return start - dt.timedelta(days=4, hours=1)


@pytest.fixture
def history(clinic, appointment_type, resource, resident, other_resident, start, day1):
    """Anna books, then rebooks in good time; Bertil books, then cancels three hours before."""
    anna_slot = slot_at(appointment_type, resource, start)
    anna_later = slot_at(appointment_type, resource, start + dt.timedelta(days=1, hours=4, minutes=30))
    bertil_slot = slot_at(appointment_type, resource, start + dt.timedelta(hours=1))
    anna = booking_create(resident=resident, slot_id=anna_slot.pk, now=day1)
    bertil = booking_create(resident=other_resident, slot_id=bertil_slot.pk, now=day1)
    day2 = day1 + dt.timedelta(days=1)
    booking_rebook(resident=resident, booking_id=anna.pk, new_slot_id=anna_later.pk, now=day2)
    late = bertil_slot.start - dt.timedelta(hours=3)
    booking_cancel(actor=other_resident, booking_id=bertil.pk, now=late)
    return {"anna_slot": anna_slot, "anna_later": anna_later, "bertil_slot": bertil_slot, "day2": day2, "late": late}


# --- The log page (R-LOG-1, R-LOG-2, R-BOOK-8) ----------------------------------------------------


def test_support_reads_every_change_newest_first(client, support, clinic, history):
    response = login(client, support).get(log_url(clinic))

    assert response.status_code == 200
    rows = body_rows(response)
    assert len(rows) == 4
    statuses = [found(r"<td>(\w+)</td>", row)[1] for row in rows]
    assert statuses == ["Cancelled", "Rebooked", "Booked", "Booked"]
    html = response.content.decode()
    assert "<caption" in html
    # Status, changed, resident, previous time, new time, channel, 24-hour rule, booking basis: the four compared
    # values stand stacked in the two time columns, so the table fits a 1280 px screen.
    assert html.count('<th scope="col">') == 8


def test_cancellation_marks_previous_values_red_with_text_and_late_flag(client, support, clinic, history):
    response = search(login(client, support), clinic, status="cancelled")

    [row] = body_rows(response)
    slot = history["bertil_slot"]
    assert cells(row)[1] == ("", f"{local(history['late']):%Y-%m-%d %H:%M}")
    assert "Bertil Berg" in row
    when = local(slot.start)
    assert marked(row, "prev") == [
        f"Previous: {when:%Y-%m-%d}",
        f"Previous: {when:%H:%M}",
        "Previous: Distriktssköterska",
        "Previous: Uppföljning 30 min",
    ]
    assert '<span class="marker">Previous:</span>' in row
    assert 'class="new"' not in row  # a cancellation has no new values
    assert "Late – billable" in row
    assert "Web booking service" in row


def test_new_booking_marks_only_new_values_green(client, support, clinic, resident, history, start):
    response = search(login(client, support), clinic, status="booked", personnummer=resident.personnummer)

    [row] = body_rows(response)
    when = local(start)
    assert marked(row, "new") == [
        f"New: {when:%Y-%m-%d}",
        f"New: {when:%H:%M}",
        "New: Distriktssköterska",
        "New: Uppföljning 30 min",
    ]
    assert 'class="prev"' not in row
    assert "Late – billable" not in row


def test_rebooking_marks_changed_values_and_leaves_unchanged_ones_plain(client, support, clinic, history, start):
    response = search(login(client, support), clinic, status="rebooked")

    [row] = body_rows(response)
    later = local(history["anna_later"].start)
    assert marked(row, "prev") == [f"Previous: {local(start):%Y-%m-%d}", f"Previous: {local(start):%H:%M}"]
    assert marked(row, "new") == [f"New: {later:%Y-%m-%d}", f"New: {later:%H:%M}"]
    # Same resource and type before and after (R-BOOK-7): plain on both sides, no marker.
    plain = [text for kind, text in values(row) if not kind]
    assert plain.count("Distriktssköterska") == 2
    assert plain.count("Uppföljning 30 min") == 2
    assert row.count('class="marker"') == 4
    assert "In time" in row and "Late – billable" not in row


def test_rebooking_in_the_last_24_hours_is_late(client, support, clinic, appointment_type, resource, resident, start):
    first = slot_at(appointment_type, resource, start)
    second = slot_at(appointment_type, resource, start + dt.timedelta(hours=2))
    booking = booking_create(resident=resident, slot_id=first.pk, now=start - dt.timedelta(days=3))
    booking_rebook(resident=resident, booking_id=booking.pk, new_slot_id=second.pk, now=start - dt.timedelta(hours=23))

    response = search(login(client, support), clinic, status="rebooked")

    [row] = body_rows(response)
    assert "Late – billable" in row


def test_swedish_page_is_the_default(client, support, clinic, history):
    response = login(client, support, language="sv").get(log_url(clinic))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="sv">' in html
    assert "Avbokad" in html  # LogStatus labels come from the catalogue
    assert 'class="prev"' in html and 'class="new"' in html


# --- Filters --------------------------------------------------------------------------------------


def test_filter_by_date_range_uses_local_days(client, support, clinic, history, day1):
    day2 = local(history["day2"]).date()
    response = search(login(client, support), clinic, fran=day2, till=day2)

    rows = body_rows(response)
    assert len(rows) == 1 and "Rebooked" in rows[0]

    response = search(client, clinic, till=local(day1).date())
    assert len(body_rows(response)) == 2  # the two new bookings


def test_filter_by_status(client, support, clinic, history):
    response = search(login(client, support), clinic, status="booked")

    assert len(body_rows(response)) == 2


def test_filter_by_personnummer_accepts_the_usual_forms(client, support, clinic, resident, history):
    short = f"{resident.personnummer[2:8]}-{resident.personnummer[8:]}"
    response = search(login(client, support), clinic, personnummer=short)

    rows = body_rows(response)
    assert len(rows) == 2
    assert all("Anna Andersson" in row for row in rows)


def test_personnummer_of_nobody_shows_no_rows(client, support, clinic, history):
    stranger = ResidentFactory.build().personnummer
    response = search(login(client, support), clinic, personnummer=stranger)

    assert response.status_code == 200
    assert body_rows(response) == []
    assert "No changes match the filter." in response.content.decode()


@pytest.mark.parametrize("bad", ["12345", "19850314-1235", "abc", "19851399-0000"])
def test_bad_personnummer_is_a_field_error_and_reads_nothing(client, support, clinic, history, bad):
    response = search(login(client, support), clinic, personnummer=bad)

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_personnummer_error"' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_personnummer_helptext id_personnummer_error"' in html
    assert body_rows(response) == []  # the search is corrected first, not run
    assert not AuditEvent.objects.filter(action="web_log.read").exists()


@pytest.mark.parametrize(
    "filters",
    [
        {"fran": "2026-13-45"},
        {"till": "yesterday"},
        {"status": "deleted"},
        {"fran": "2030-01-02", "till": "2030-01-01"},
        {"fran": "\x00"},
    ],
)
def test_bad_filters_are_field_errors(client, support, clinic, history, filters):
    response = search(login(client, support), clinic, **filters)

    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()


# A NUL byte in the query string is refused with 400 before any view (tests/core/test_bad_input.py).
@pytest.mark.parametrize("params", [{"sida": "9999"}, {"sida": "x"}, {"sok": "x", "sida": "2"}])
def test_bad_query_strings_never_fail(client, support, clinic, history, params):
    response = login(client, support).get(log_url(clinic, **params), follow=True)

    assert response.status_code == 200


def test_log_is_paginated(client, support, clinic, history, monkeypatch):
    from bookings import workspace_views

    monkeypatch.setattr(workspace_views, "PAGE_SIZE", 3)
    first = login(client, support).get(log_url(clinic))
    second = client.get(log_url(clinic, sida=2))

    assert len(body_rows(first)) == 3
    assert len(body_rows(second)) == 1
    assert "Page 1 of 2" in first.content.decode()
    assert "?sida=2" in first.content.decode()


def test_the_first_and_last_days_of_the_calendar_are_filters_like_any_other(client, support, clinic, history):
    login(client, support)
    for filters in ({"fran": "0001-01-01", "till": "9999-12-31"}, {"till": "9999-12-31"}):
        response = search(client, clinic, **filters)
        assert response.status_code == 200 and len(body_rows(response)) == 4
    assert body_rows(search(client, clinic, fran="9999-12-31")) == []


# --- R-SEC-3: a personnummer never travels in a URL ------------------------------------------------


def test_a_search_by_personnummer_is_posted_and_named_by_a_token(client, support, clinic, resident, history):
    login(client, support)
    posted = client.post(log_url(clinic), {"personnummer": resident.personnummer, "status": "booked"})

    assert posted.status_code == 302
    token = posted.url.split("?sok=", 1)[1]
    assert posted.url == f"{log_url(clinic)}?sok={token}" and resident.personnummer[2:8] not in posted.url
    page = client.get(posted.url)
    assert [row for row in body_rows(page) if "Anna Andersson" in row] == body_rows(page) != []
    html = page.content.decode()
    # The form shows what was searched for; every link on the page names the token only.
    assert f'value="{resident.personnummer}"' in html
    assert f"{csv_url(clinic)}?sok={token}" in html
    links = re.findall(r'href="([^"]*)"', html) + re.findall(r'action="([^"]*)"', html)
    assert not [link for link in links if re.search(r"\d{6}", link)]


def test_a_personnummer_in_the_query_string_filters_nothing(client, support, clinic, resident, history):
    response = login(client, support).get(log_url(clinic, personnummer=resident.personnummer, status="booked"))

    assert response.status_code == 200 and len(body_rows(response)) == 4
    assert AuditEvent.objects.get(action="web_log.read").resident is None


def test_paging_a_search_keeps_its_token(client, support, clinic, history, monkeypatch):
    from bookings import workspace_views

    monkeypatch.setattr(workspace_views, "PAGE_SIZE", 1)
    token = search_token(login(client, support), clinic, status="booked")
    first = client.get(log_url(clinic, sok=token))

    assert f"?sok={token}&amp;sida=2" in first.content.decode()
    second = client.get(log_url(clinic, sok=token, sida=2))
    assert "Page 2 of 2" in second.content.decode() and len(body_rows(second)) == 1


def test_a_token_is_only_good_in_its_session_and_clinic(client, support, clinic, other_clinic, history):
    token = search_token(login(client, support), clinic, status="booked")
    Membership.objects.create(user=support, role=Role.SUPPORT, clinic=other_clinic)
    colleague = login(Client(), staff(Role.SUPPORT, clinic))

    for who, url, back in (
        (client, log_url(other_clinic, sok=token), log_url(other_clinic)),
        (colleague, log_url(clinic, sok=token), log_url(clinic)),
        (colleague, csv_url(clinic, sok=token), log_url(clinic)),
    ):
        response = who.get(url)
        assert (response.status_code, response.url) == (302, back), url
    assert not AuditEvent.objects.filter(action__in=["web_log.read", "web_log.exported"]).exists()
    assert "The search has expired. Search again." in colleague.get(back, follow=True).content.decode()


def test_an_expired_search_is_never_run_or_exported(client, support, clinic, history):
    token = search_token(login(client, support), clinic, status="booked")
    session = client.session
    session["tidbok_search_tokens"][token]["expires"] = time.time() - 1
    session.save()

    response = client.get(csv_url(clinic, sok=token))

    assert (response.status_code, response.url) == (302, log_url(clinic))
    assert not AuditEvent.objects.filter(action__in=["web_log.read", "web_log.exported"]).exists()


# --- Booking basis ----------------------------------------------------------------------------------


@pytest.fixture
def basis_booking(clinic, resource, resident, start):
    referral = AppointmentTypeFactory(
        clinic=clinic, internal_name="Remissbesök 45 min", web_name="Besök efter remiss", requires_booking_basis=True
    )
    # The basis covers visits up to its last valid day: the visit two days on is its last day.
    basis = BookingBasisFactory(
        appointment_type=referral,
        resident=resident,
        note="Remiss från ortopeden",
        valid_until=(start + dt.timedelta(days=2)).date(),
    )
    slot = slot_at(referral, resource, start + dt.timedelta(days=2))
    booking_create(resident=resident, slot_id=slot.pk, now=start - dt.timedelta(days=1))
    return basis


def test_log_row_links_to_its_booking_basis(client, support, clinic, basis_booking):
    response = login(client, support).get(log_url(clinic))

    [row] = body_rows(response)
    assert reverse("workspace:booking_basis", args=[clinic.pk, basis_booking.pk]) in row


def test_booking_basis_page_shows_the_basis_and_is_audited(client, support, clinic, resident, basis_booking):
    response = login(client, support).get(reverse("workspace:booking_basis", args=[clinic.pk, basis_booking.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Remiss från ortopeden" in html
    assert "Remissbesök 45 min" in html
    assert resident.personnummer_display in html
    assert "1 of 1 used" in html and "the last one booked" in html
    event = AuditEvent.objects.get(action="booking_basis.read")
    assert (event.actor, event.clinic, event.resident) == (support, clinic, resident)
    assert event.object_id == str(basis_booking.pk)


def test_another_clinics_booking_basis_is_not_found(client, support, clinic, other_clinic):
    theirs = BookingBasisFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))

    login(client, support)
    assert client.get(reverse("workspace:booking_basis", args=[clinic.pk, theirs.pk])).status_code == 404
    assert client.get(reverse("workspace:booking_basis", args=[other_clinic.pk, theirs.pk])).status_code == 404
    assert client.get(reverse("workspace:booking_basis", args=[clinic.pk, 999999])).status_code == 404
    assert not AuditEvent.objects.filter(action="booking_basis.read").exists()


# --- CSV export ------------------------------------------------------------------------------------


def test_csv_export_has_header_bom_and_every_row(client, support, clinic, history):
    response = login(client, support).get(csv_url(clinic))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="webbtidbok-logg-')
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Status", "Changed", "Resident"]
    assert len(body) == 4 and all(len(row) == len(header) for row in body)
    cancelled = body[0]
    assert cancelled[0] == "Cancelled"
    assert cancelled[1] == f"{local(history['late']):%Y-%m-%d %H:%M}"
    assert cancelled[2] == "Bertil Berg"
    assert cancelled[header.index("Previous resource")] == "Distriktssköterska"
    assert cancelled[header.index("New date")] == ""
    assert cancelled[header.index("Late (billable)")] == "Yes"


def test_csv_export_respects_the_filters(client, support, clinic, resident, history):
    token = search_token(login(client, support), clinic, status="booked", personnummer=resident.personnummer)
    response = client.get(csv_url(clinic, sok=token))

    body = read_csv(response)[1:]
    assert [(row[0], row[2]) for row in body] == [("Booked", "Anna Andersson")]


def test_csv_export_keeps_formulas_as_text(client, support, clinic, appointment_type, resident, start):
    sneaky = ResourceFactory(clinic=clinic, name='=HYPERLINK("http://evil")')
    slot = slot_at(appointment_type, sneaky, start)
    booking_create(resident=resident, slot_id=slot.pk, now=start - dt.timedelta(days=1))

    header, row = read_csv(login(client, support).get(csv_url(clinic)))
    assert row[header.index("New resource")] == '\'=HYPERLINK("http://evil")'


def test_csv_export_is_audited(client, support, clinic, resident, other_resident, history):
    login(client, support).get(csv_url(clinic))

    assert AuditEvent.objects.filter(action="web_log.read", actor=support, clinic=clinic).count() == 1
    exported = AuditEvent.objects.filter(action="web_log.exported", actor=support, clinic=clinic)
    assert set(exported.values_list("resident_id", flat=True)) == {resident.pk, other_resident.pk}


# --- R-LOG-3 ---------------------------------------------------------------------------------------


def test_rows_older_than_31_days_are_gone_after_the_purge(client, support, clinic, history):
    # 31 days after the last day of bookings and rebookings: only the late cancellation is younger.
    purge_at = history["late"] + dt.timedelta(days=31) - dt.timedelta(minutes=1)
    login(client, support)
    assert len(body_rows(client.get(log_url(clinic)))) == 4

    web_log_purge(now=purge_at)

    rows = body_rows(client.get(log_url(clinic)))
    assert len(rows) == 1 and "Cancelled" in rows[0]
    assert WebBookingLogEntry.objects.get().status == LogStatus.CANCELLED
    # The security audit log is not purged with it (R-LOG-4).
    assert AuditEvent.objects.filter(action="web_log.read").count() == 2


# --- R-LOG-4: who looked at which resident -----------------------------------------------------------


def test_each_view_of_the_log_writes_an_audit_event(client, support, clinic, resident, other_resident, history):
    login(client, support)
    client.get(log_url(clinic))
    search(client, clinic, status="booked")

    reads = AuditEvent.objects.filter(action="web_log.read").order_by("pk")
    assert [(e.actor, e.clinic, e.resident, e.unit_name) for e in reads] == [(support, clinic, None, clinic.name)] * 2
    assert "status=booked" in reads[1].detail
    # Each resident the page showed is on record by name, not only the one searched for.
    shown = AuditEvent.objects.filter(action="web_log.resident_shown")
    assert sorted(shown.values_list("resident_id", flat=True)) == sorted([resident.pk, other_resident.pk] * 2)


def test_filtering_by_resident_audits_that_resident_once_per_view(client, support, clinic, resident, history):
    search(login(client, support), clinic, personnummer=resident.personnummer)

    events = AuditEvent.objects.all()
    assert [(e.action, e.actor, e.clinic, e.resident) for e in events] == [("web_log.read", support, clinic, resident)]


# --- Audit log for region IT ------------------------------------------------------------------------


def audit_url(clinic, **params) -> str:
    url = reverse("workspace:audit_log", args=[clinic.pk])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else url


def test_region_it_reads_the_audit_log_and_the_read_is_recorded(
    client, support, region_it, clinic, other_clinic, resident, other_resident, history
):
    search(login(client, support), clinic, personnummer=resident.personnummer)
    audit_record(actor=support, action="booking.read", clinic=other_clinic, resident=other_resident)

    response = login(client, region_it).get(audit_url(clinic))

    assert response.status_code == 200
    rows = body_rows(response)
    assert len(rows) == 2  # this clinic only: the support read and this very visit
    assert "Read the audit log" in rows[0]
    assert "Read the web booking log" in rows[1] and resident.personnummer_display in rows[1]
    assert AuditEvent.objects.filter(action="audit_log.read", actor=region_it, clinic=clinic).count() == 1


def test_audit_log_filters_by_resident_and_date(client, support, region_it, clinic, resident, other_resident):
    audit_record(actor=support, action="booking.read", clinic=clinic, resident=resident)
    audit_record(actor=support, action="booking.read", clinic=clinic, resident=other_resident)
    login(client, region_it)

    # The filter is posted (R-SEC-3); the page it leads to names only a search token.
    searched = client.post(audit_url(clinic), {"personnummer": resident.personnummer})
    assert searched.status_code == 302 and resident.personnummer not in searched.url
    response = client.get(searched.url)
    rows = body_rows(response)
    # The read of the resident's record, and this search for the resident, which is on record too.
    assert len(rows) == 2 and all(resident.personnummer_display in row for row in rows)
    assert "Read the audit log" in rows[0] and "Opened a booking" in rows[1]
    assert other_resident.personnummer_display not in response.content.decode()

    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert body_rows(client.get(client.post(audit_url(clinic), {"till": yesterday}).url)) == []
    bad = client.post(audit_url(clinic), {"personnummer": "123", "fran": "nope"})
    assert bad.status_code == 400 and 'id="id_personnummer_error"' in bad.content.decode()


def test_support_and_local_admin_cannot_read_the_audit_log(client, support, local_admin, clinic):
    assert login(client, support).get(audit_url(clinic)).status_code == 403
    assert login(client, local_admin).get(audit_url(clinic)).status_code == 403
    assert not AuditEvent.objects.filter(action="audit_log.read").exists()


def test_region_it_of_another_region_cannot_read_the_audit_log(client, clinic):
    from clinics.models import Region

    elsewhere = staff(Role.REGION_IT, region=Region.objects.create(name="Region Uppsala", code="03"))
    assert login(client, elsewhere).get(audit_url(clinic)).status_code == 404


# --- R-ACL-1 ----------------------------------------------------------------------------------------


SUPPORT_PAGES = ["workspace:web_log", "workspace:web_log_csv"]


@pytest.mark.parametrize("name", SUPPORT_PAGES)
@pytest.mark.parametrize("role", [Role.LOCAL_ADMIN, Role.SCHEDULER, Role.REGION_IT])
def test_other_roles_of_the_same_clinic_are_forbidden(client, clinic, history, name, role):
    user = staff(role, clinic)

    assert login(client, user).get(reverse(name, args=[clinic.pk])).status_code == 403
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("name", SUPPORT_PAGES)
def test_support_of_another_clinic_gets_not_found(client, other_clinic, clinic, history, name):
    theirs = staff(Role.SUPPORT, other_clinic)

    assert login(client, theirs).get(reverse(name, args=[clinic.pk])).status_code == 404


def test_booking_basis_of_this_clinic_is_not_found_for_another_clinics_scheduler(
    client, other_scheduler, clinic, basis_booking
):
    """Schedulers issue and revoke bases and may open them (tests/bookings/test_basis_pages.py);
    another clinic's staff may not."""
    url = reverse("workspace:booking_basis", args=[clinic.pk, basis_booking.pk])

    assert login(client, other_scheduler).get(url).status_code == 404


@pytest.mark.parametrize("name", [*SUPPORT_PAGES, "workspace:audit_log"])
def test_a_resident_is_forbidden(client, resident, clinic, name):
    client.force_login(resident)

    assert client.get(reverse(name, args=[clinic.pk])).status_code == 403


@pytest.mark.parametrize("name", [*SUPPORT_PAGES, "workspace:audit_log"])
def test_anonymous_is_sent_to_the_login(client, clinic, name):
    url = reverse(name, args=[clinic.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_selectors_refuse_the_wrong_role_even_without_the_view(other_scheduler, support, clinic, basis_booking):
    from accounts.selectors import audit_events_for_clinic
    from bookings.basis_selectors import booking_basis_for_staff
    from core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        booking_basis_for_staff(actor=other_scheduler, clinic=clinic, basis_id=basis_booking.pk)
    with pytest.raises(PermissionDeniedError):
        audit_events_for_clinic(actor=support, clinic=clinic)
    assert not AuditEvent.objects.exists()
