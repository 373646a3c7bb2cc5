"""The web booking log's and the audit log's CSV exports open as a Swedish support worker expects
in Excel: UTF-8 with a byte order mark, columns split on ";", headings in the reader's language,
and times on the clinics' wall clock written "2026-12-04 09:00" (the audit log to the second, as
its page), which Excel reads as a date and time — right across both daylight saving changes."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent, Role
from accounts.services import audit_record
from bookings.models import Channel, LogStatus, WebBookingLogEntry
from core import dates
from core.localtime import LOCAL_TZ

from ..factories import ResidentFactory, login_with_second_factor, staff

pytestmark = pytest.mark.django_db
UTC = dt.UTC

# (the instant in UTC, the wall clock in Stockholm): 25 October 2026 the clocks go back from 03:00
# summer time to 02:00, so 02:30 happens twice; 28 March 2027 they go forward from 02:00 to 03:00.
DST = [
    (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25 02:30"),
    (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "2026-10-25 02:30"),
    (dt.datetime(2026, 10, 25, 2, 5, tzinfo=UTC), "2026-10-25 03:05"),
    (dt.datetime(2027, 3, 28, 0, 59, tzinfo=UTC), "2027-03-28 01:59"),
    (dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC), "2027-03-28 03:00"),
    (dt.datetime(2026, 12, 4, 8, 0, tzinfo=UTC), "2026-12-04 09:00"),
]


def _reader(client, language: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:]), delimiter=";"))


def _log_entry(clinic, resident, changed_at: dt.datetime) -> WebBookingLogEntry:
    return WebBookingLogEntry.objects.create(
        changed_at=changed_at,
        status=LogStatus.BOOKED,
        clinic=clinic,
        resident=resident,
        new_date=dt.date(2026, 12, 4),
        new_start=dt.time(9, 0),
        new_resource="Dr Berg",
        new_type="Besök",
        channel=Channel.WEB,
        changed_by="Webbtidboken",
    )


@pytest.mark.parametrize(("instant", "wall_clock"), DST)
@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_spreadsheet_format_is_the_stockholm_wall_clock_in_every_language(instant, wall_clock, language):
    with translation.override(language):
        assert dates.when(instant, "spreadsheet") == wall_clock
        assert dates.when(instant, "spreadsheet_seconds") == f"{wall_clock}:00"


@pytest.mark.parametrize(("instant", "wall_clock"), DST)
def test_the_web_log_export_writes_each_change_on_the_stockholm_wall_clock(
    client, clinic, time_machine, instant, wall_clock
):
    time_machine.move_to(instant + dt.timedelta(days=2), tick=False)
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    _log_entry(clinic, anna, instant)
    login_with_second_factor(_reader(client, "sv"), staff(Role.SUPPORT, clinic))

    response = client.get(reverse("workspace:web_log_csv", args=[clinic.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    header, row = _rows(response.content)
    assert header == [
        "Status",
        "Ändrad",
        "Invånare",
        "Personnummer",
        "Tidigare datum",
        "Tidigare starttid",
        "Tidigare resurs",
        "Tidigare tidstyp",
        "Nytt datum",
        "Ny starttid",
        "Ny resurs",
        "Ny tidstyp",
        "Kanal",
        "Ändrad av",
        "Sen ändring (debiteras)",
        "Bokningsunderlag",
    ]
    assert row[:4] == ["Bokad", wall_clock, "Anna Andersson", anna.personnummer_display]
    assert row[8:12] == ["2026-12-04", "09:00", "Dr Berg", "Besök"]
    assert "T" not in row[1] and "+" not in row[1] and "Z" not in row[1]


def test_the_web_log_export_speaks_english_to_an_english_reader(client, clinic):
    _log_entry(clinic, ResidentFactory(), dt.datetime.now(UTC) - dt.timedelta(hours=1))
    login_with_second_factor(_reader(client, "en"), staff(Role.SUPPORT, clinic))

    header, row = _rows(client.get(reverse("workspace:web_log_csv", args=[clinic.pk])).content)

    assert header[:4] == ["Status", "Changed", "Resident", "Personal identity number"]
    assert row[0] == "Booked" and row[12] == "Web booking service"


def _audit_csv(client, clinic, day: dt.date, language: str) -> list[list[str]]:
    login_with_second_factor(_reader(client, language), staff(Role.REGION_IT, clinic))
    searched = client.post(reverse("workspace:audit_log", args=[clinic.pk]), {"fran": day, "till": day})
    assert searched.status_code == 302, searched.content[:500]
    response = client.get(f"{reverse('workspace:audit_log_csv', args=[clinic.pk])}?{searched.url.split('?', 1)[1]}")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    return _rows(b"".join(response.streaming_content))


@pytest.mark.parametrize(("instant", "wall_clock"), DST)
def test_the_audit_export_writes_each_event_on_the_stockholm_wall_clock_to_the_second(
    client, clinic, time_machine, instant, wall_clock
):
    time_machine.move_to(instant + dt.timedelta(days=2), tick=False)
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    support = staff(Role.SUPPORT, clinic, unit_name="")
    event = audit_record(actor=support, action="booking.read", clinic=clinic, resident=anna)
    AuditEvent.objects.filter(pk=event.pk).update(created_at=instant + dt.timedelta(seconds=7))

    header, *rows = _audit_csv(client, clinic, instant.astimezone(LOCAL_TZ).date(), "sv")

    assert header[:2] == ["När", "Medarbetare"]
    [row] = [row for row in rows if row[8] == "booking.read"]
    assert row[0] == f"{wall_clock}:07"
    assert row[5:7] == ["Anna Andersson", anna.personnummer_display]


def test_no_audit_cell_opens_as_a_formula(client, clinic):
    sneaky = staff(Role.SUPPORT, clinic)
    sneaky.first_name, sneaky.last_name = "=1+1", "Schema"
    sneaky.save()
    detail = '@HYPERLINK("http://x.example")'
    audit_record(actor=sneaky, action="booking.read", clinic=clinic, resident=ResidentFactory(), detail=detail)

    _header, *rows = _audit_csv(client, clinic, dt.datetime.now(LOCAL_TZ).date(), "en")

    [row] = [row for row in rows if row[8] == "booking.read"]
    assert row[1] == "'=1+1 Schema"
    assert row[10] == f"'{detail}"
