"""Reception's attendance marks (R-ATT-1) and the clinic's no-show figures (R-ATT-2)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from bs4 import BeautifulSoup, Tag
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent, Role
from bookings.attendance_selectors import attendance_figures
from bookings.models import Attendance, AttendanceState, Booking, BookingStatus, Channel
from bookings.services import attendance_mark, attendance_undo
from core.errors import BookingError, ErrorCode, PermissionDeniedError, ValidationFailed
from core.localtime import LOCAL_TZ

from ..factories import AppointmentTypeFactory, ResidentFactory, SlotFactory, staff
from ..workspace import login as workspace_login

NOON = dt.datetime(2027, 2, 3, 12, 0, tzinfo=LOCAL_TZ)  # a Wednesday


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_TZ)


def visit(resident, appointment_type, resource, start: dt.datetime, **fields) -> Booking:
    """A booking as the timebook holds it (set up directly: the figures read history, which the
    booking services only make in the present)."""
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=start)
    values = {"channel": Channel.WEB, "created_by": resident, **fields}
    return Booking.objects.create(
        slot=slot,
        resident=resident,
        clinic=slot.clinic,
        appointment_type=appointment_type,
        resource=resource,
        start=start,
        end=start + dt.timedelta(minutes=20),
        **values,
    )


def one(soup: BeautifulSoup | Tag, selector: str) -> Tag:
    found = soup.select_one(selector)
    assert found is not None, selector
    return found


@pytest.fixture
def noon(time_machine):
    time_machine.move_to(NOON, tick=False)
    return NOON


@pytest.fixture
def this_morning(noon, resident, appointment_type, resource) -> Booking:
    return visit(resident, appointment_type, resource, at(noon.date(), 10))


# --- R-ATT-1: marks, undo the same day, audit ----------------------------------------------------


@pytest.mark.parametrize("state", [AttendanceState.ARRIVED, AttendanceState.LATE, AttendanceState.NO_SHOW])
def test_r_att_1_reception_marks_a_visit_and_the_mark_is_audited(scheduler, this_morning, state):
    mark = attendance_mark(actor=scheduler, booking_id=this_morning.pk, state=state)

    assert Attendance.objects.get(booking=this_morning).state == state == mark.state
    event = AuditEvent.objects.get(action="attendance.mark")
    assert (event.actor, event.resident_id, event.detail) == (scheduler, this_morning.resident_id, state)


def test_r_att_1_a_mark_made_today_is_changed_and_undone_today(scheduler, this_morning):
    attendance_mark(actor=scheduler, booking_id=this_morning.pk, state=AttendanceState.ARRIVED)
    attendance_mark(actor=scheduler, booking_id=this_morning.pk, state=AttendanceState.LATE)
    assert Attendance.objects.get(booking=this_morning).state == AttendanceState.LATE

    attendance_undo(actor=scheduler, booking_id=this_morning.pk)

    assert not Attendance.objects.filter(booking=this_morning).exists()
    undo = AuditEvent.objects.get(action="attendance.undo")
    assert undo.detail == AttendanceState.LATE and undo.resident_id == this_morning.resident_id


def test_r_att_1_a_mark_of_an_earlier_day_is_final(time_machine, scheduler, this_morning):
    attendance_mark(actor=scheduler, booking_id=this_morning.pk, state=AttendanceState.NO_SHOW)
    time_machine.move_to(NOON + dt.timedelta(days=1), tick=False)

    for attempt in (
        lambda: attendance_undo(actor=scheduler, booking_id=this_morning.pk),
        lambda: attendance_mark(actor=scheduler, booking_id=this_morning.pk, state=AttendanceState.ARRIVED),
    ):
        with pytest.raises(BookingError) as refused:
            attempt()
        assert refused.value.code == ErrorCode.APPOINTMENT_IS_NOT_ALLOWED
    assert Attendance.objects.get(booking=this_morning).state == AttendanceState.NO_SHOW


def test_r_att_1_no_show_only_once_the_time_has_started_and_never_a_future_day(
    noon, scheduler, resident, appointment_type, resource
):
    this_afternoon = visit(resident, appointment_type, resource, at(noon.date(), 15))
    tomorrow = visit(resident, appointment_type, resource, at(noon.date() + dt.timedelta(days=1), 9))

    with pytest.raises(BookingError):
        attendance_mark(actor=scheduler, booking_id=this_afternoon.pk, state=AttendanceState.NO_SHOW)
    with pytest.raises(BookingError):
        attendance_mark(actor=scheduler, booking_id=tomorrow.pk, state=AttendanceState.ARRIVED)
    # Someone who comes early is marked as arrived before the time starts.
    attendance_mark(actor=scheduler, booking_id=this_afternoon.pk, state=AttendanceState.ARRIVED)
    assert list(Attendance.objects.values_list("booking_id", flat=True)) == [this_afternoon.pk]


def test_r_att_1_a_cancelled_booking_and_a_bad_state_are_refused(noon, scheduler, resident, appointment_type, resource):
    cancelled = visit(
        resident,
        appointment_type,
        resource,
        at(noon.date(), 9),
        status=BookingStatus.CANCELLED,
        ended_at=noon - dt.timedelta(days=2),
        ended_by=resident,
    )
    with pytest.raises(BookingError):
        attendance_mark(actor=scheduler, booking_id=cancelled.pk, state=AttendanceState.NO_SHOW)
    with pytest.raises(ValidationFailed):
        attendance_mark(actor=scheduler, booking_id=cancelled.pk, state="maybe")
    assert not Attendance.objects.exists() and not AuditEvent.objects.filter(action="attendance.mark").exists()


@pytest.mark.parametrize("who", ["support", "local_admin", "other_scheduler"])
def test_r_att_1_only_reception_of_the_clinic_marks(request, this_morning, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDeniedError):
        attendance_mark(actor=actor, booking_id=this_morning.pk, state=AttendanceState.ARRIVED)
    assert not Attendance.objects.exists()


# --- R-ATT-1 in the timebook's day view and the staff API -----------------------------------------


def test_r_att_1_day_view_marks_and_undoes(noon, client, scheduler, clinic, this_morning):
    workspace_login(client, scheduler)
    day_url = reverse("workspace:timebook", args=[clinic.pk]) + f"?visa=dag&datum={noon.date():%Y-%m-%d}"
    page = BeautifulSoup(client.get(day_url).content, "html.parser")
    buttons = page.select(f"#attendance-{this_morning.pk} button")
    assert {b["value"] for b in buttons if b.get("value")} == {"arrived", "late", "no_show"}
    assert all(b["form"] == "attendance-form" for b in buttons)
    week = BeautifulSoup(client.get(reverse("workspace:timebook", args=[clinic.pk])).content, "html.parser")
    assert not week.select(f"#attendance-{this_morning.pk}")

    mark_url = reverse("workspace:attendance_mark", args=[clinic.pk, this_morning.pk])
    response = client.post(mark_url, {"state": "no_show"})

    assert (
        response.status_code == 302 and "visa=dag" in response.url and f"#attendance-{this_morning.pk}" in response.url
    )
    assert Attendance.objects.get(booking=this_morning).state == AttendanceState.NO_SHOW
    page = BeautifulSoup(client.get(day_url).content, "html.parser")
    assert "Kom inte" in one(page, f"#attendance-{this_morning.pk}").get_text()
    client.post(reverse("workspace:attendance_undo", args=[clinic.pk, this_morning.pk]))
    assert not Attendance.objects.exists()
    assert client.get(mark_url).status_code == 405


def test_r_att_1_day_view_of_another_clinic_booking_is_not_found(
    noon, client, other_scheduler, other_clinic, this_morning
):
    workspace_login(client, other_scheduler)
    url = reverse("workspace:attendance_mark", args=[other_clinic.pk, this_morning.pk])
    assert client.post(url, {"state": "arrived"}).status_code == 404
    assert not Attendance.objects.exists()


def test_r_att_1_staff_api_marks_and_undoes(noon, client, scheduler, clinic, this_morning):
    workspace_login(client, scheduler)
    url = f"/api/v1/staff/clinics/{clinic.pk}/bookings/{this_morning.pk}/attendance/"

    marked = client.put(url, {"state": "late"}, content_type="application/json")
    assert marked.status_code == 200 and marked.json()["state"] == "late"
    bad = client.put(url, {"state": "maybe"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_INPUT"
    assert client.delete(url).status_code == 204
    assert not Attendance.objects.exists()
    assert AuditEvent.objects.filter(action__in=["attendance.mark", "attendance.undo"]).count() == 2


# --- R-ATT-2: the figures ------------------------------------------------------------------------


@pytest.fixture
def history(noon, clinic, appointment_type, resource, scheduler):
    """January 2027 at the clinic: four web bookings and one by staff of one type, one of another type,
    a late and an early cancellation by the resident, a rebooked time and two no-shows."""
    other_type = AppointmentTypeFactory(clinic=clinic, internal_name="Vaccination")
    day = dt.date(2027, 1, 12)
    residents = [ResidentFactory() for _ in range(8)]
    kept = [visit(residents[n], appointment_type, resource, at(day, 8 + n)) for n in range(3)]
    kept.append(
        visit(residents[3], appointment_type, resource, at(day, 11), channel=Channel.STAFF, created_by=scheduler)
    )
    start = at(day, 14)
    visit(
        residents[4],
        appointment_type,
        resource,
        start,
        status=BookingStatus.CANCELLED,
        ended_at=start - dt.timedelta(hours=3),
        ended_by=residents[4],
    )
    start = at(day, 15)
    visit(
        residents[5],
        appointment_type,
        resource,
        start,
        status=BookingStatus.CANCELLED,
        ended_at=start - dt.timedelta(days=3),
        ended_by=residents[5],
    )
    visit(
        residents[6],
        appointment_type,
        resource,
        at(day, 16),
        status=BookingStatus.REBOOKED,
        ended_at=at(day, 7),
        ended_by=residents[6],
    )
    vaccination = visit(residents[7], other_type, resource, at(day, 17))
    for booking in (kept[0], vaccination):
        Attendance.objects.create(
            booking=booking, state=AttendanceState.NO_SHOW, marked_at=booking.start, marked_by=scheduler
        )
    Attendance.objects.create(
        booking=kept[1], state=AttendanceState.ARRIVED, marked_at=kept[1].start, marked_by=scheduler
    )
    return other_type


def test_r_att_2_figures_per_month_and_type_in_one_query(history, local_admin, clinic, appointment_type):
    with CaptureQueriesContext(connection) as queries:
        figures = attendance_figures(
            actor=local_admin, clinic=clinic, first_month=dt.date(2026, 12, 1), last_month=dt.date(2027, 2, 1)
        )

    on_bookings = [q["sql"] for q in queries.captured_queries if '"bookings_booking"' in q["sql"]]
    assert len(on_bookings) == 1, on_bookings
    rows = {(row.month, row.type_name): row for row in figures.rows}
    january = rows[(dt.date(2027, 1, 1), appointment_type.internal_name)]
    assert (january.bookings, january.web, january.late_cancellations, january.no_shows, january.kept) == (
        6,
        5,
        1,
        1,
        4,
    )
    assert january.no_show_rate == 0.25
    vaccination = rows[(dt.date(2027, 1, 1), "Vaccination")]
    assert (vaccination.bookings, vaccination.no_shows, vaccination.no_show_rate) == (1, 1, 1.0)
    assert [(t.month, t.bookings, t.no_shows) for t in figures.totals] == [
        (dt.date(2026, 12, 1), 0, 0),
        (dt.date(2027, 1, 1), 7, 2),
        (dt.date(2027, 2, 1), 0, 0),
    ]


def test_r_att_2_figures_for_one_type(history, scheduler, clinic):
    figures = attendance_figures(
        actor=scheduler,
        clinic=clinic,
        first_month=dt.date(2027, 1, 1),
        last_month=dt.date(2027, 1, 1),
        appointment_type_id=history.pk,
    )
    assert [(row.type_name, row.bookings) for row in figures.rows] == [("Vaccination", 1)]


@pytest.mark.parametrize("who", ["support", "other_scheduler"])
def test_r_att_2_figures_are_for_local_admins_and_schedulers_of_the_clinic(request, clinic, who):
    with pytest.raises(PermissionDeniedError):
        attendance_figures(
            actor=request.getfixturevalue(who),
            clinic=clinic,
            first_month=dt.date(2027, 1, 1),
            last_month=dt.date(2027, 1, 1),
        )


def test_r_att_2_page_with_chart_table_and_csv(history, client, local_admin, clinic, appointment_type):
    workspace_login(client, local_admin)
    url = reverse("workspace:attendance_figures", args=[clinic.pk])

    page = BeautifulSoup(client.get(url, {"fran": "2026-12", "till": "2027-02"}).content, "html.parser")

    chart = one(page, "svg.chart")
    assert chart["role"] == "img" and one(chart, "title").get_text() == "Andel uteblivna besök per månad"
    assert [t.get_text() for t in chart.select("text")][:2] == ["–", "26-12"]
    january = next(row for row in page.select("#totals-caption ~ tbody tr") if "januari 2027" in row.get_text())
    assert [td.get_text() for td in january.select("td")] == ["7", "85,7 %", "1", "2", "40,0 %"]
    download = client.get(reverse("workspace:attendance_figures_csv", args=[clinic.pk]), {"fran": "2027-01"})
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    assert (
        lines[0][0] == "Månad"
        and ["2027-01", appointment_type.internal_name, "6", "5", "83.3", "1", "1", "25.0"] in lines
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"fran": "januari"}, "fran"),
        ({"fran": "2027-02", "till": "2027-01"}, "till"),
        ({"fran": "2020-01"}, "fran"),
        ({"typ": "x"}, "typ"),
    ],
)
def test_r_att_2_bad_period_is_refused_beside_the_field(noon, client, scheduler, clinic, params, field):
    workspace_login(client, scheduler)

    response = client.get(reverse("workspace:attendance_figures", args=[clinic.pk]), params)

    assert response.status_code == 400
    assert BeautifulSoup(response.content, "html.parser").select_one(f"#id_{field}_error")


def test_r_att_2_staff_api_figures(history, client, scheduler, clinic):
    workspace_login(client, scheduler)
    url = f"/api/v1/staff/clinics/{clinic.pk}/attendance-figures/"

    body = client.get(url, {"month_from": "2027-01", "month_to": "2027-01"}).json()

    assert body["totals"] == [
        {
            "month": "2027-01",
            "appointment_type": "",
            "bookings": 7,
            "web": 6,
            "web_share": 6 / 7,
            "late_cancellations": 1,
            "no_shows": 2,
            "kept": 5,
            "no_show_rate": 0.4,
        }
    ]
    assert client.get(url, {"month_from": "2027-03", "month_to": "2027-01"}).status_code == 400


def test_r_att_2_resident_page_shows_their_no_shows_here(history, client, scheduler, clinic):
    no_show = Attendance.objects.filter(state=AttendanceState.NO_SHOW, booking__appointment_type=history).get().booking
    workspace_login(client, scheduler)

    response = client.post(
        reverse("workspace:resident_page", args=[clinic.pk]),
        {"personnummer": no_show.resident.personnummer},
        follow=True,
    )

    section = one(BeautifulSoup(response.content, "html.parser"), "#no-shows")
    assert "1 besök" in section.get_text() and "12 januari 2027" in section.get_text()


def test_r_att_2_unknown_roles_never_see_the_page(noon, client, clinic):
    workspace_login(client, staff(Role.SUPPORT, clinic))
    assert client.get(reverse("workspace:attendance_figures", args=[clinic.pk])).status_code == 403
