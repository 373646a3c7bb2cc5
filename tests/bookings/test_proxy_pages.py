"""The proxy bookers' workspace (R-TYPE-6, guide 002 "Ombudsbokning"): find a resident by a posted
personnummer (R-SEC-3), see their proxy bookings in the region, choose a free proxy time by area,
clinic, type and day, book it (summons R-BOOK-9, log row R-LOG-1, "changed by" R-BOOK-4) and
cancel it; every read of the resident and every change is on the audit log (R-LOG-4)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent, Membership, Role, User
from bookings.models import (
    Booking,
    BookingStatus,
    Channel,
    InboxMessage,
    LogStatus,
    MessageKind,
    WebBookingLogEntry,
)
from bookings.services import booking_cancel, booking_create, booking_create_by_proxy
from schedules.models import SlotStatus

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    RegionFactory,
    ResidentFactory,
    ResourceFactory,
    login_with_second_factor,
    make_personnummer,
    staff,
    tomorrow_at,
)
from ..pages import make_slot

pytestmark = pytest.mark.django_db

UNIT = "1177 Vårdguiden på telefon"
HOME = "/personal/ombud/"


@pytest.fixture
def proxy_type(clinic):
    return AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177 akut", web_name="Besök bokat av 1177")


@pytest.fixture
def proxy_slot(proxy_type, resource):
    return make_slot(proxy_type, resource, tomorrow_at(11, 0, days=2))


@pytest.fixture
def booker(clinic):
    return staff(Role.PROXY_BOOKER, clinic, unit_name=UNIT)


@pytest.fixture
def as_booker(client: Client, booker) -> Client:
    return login_with_second_factor(client, booker)


def find(client: Client, personnummer: str) -> str:
    """Post the personnummer; returns the search token of the page it leads to."""
    response = client.post(HOME, {"personnummer": personnummer})
    assert response.status_code == 302
    assert personnummer not in response["Location"] and personnummer[2:] not in response["Location"]  # R-SEC-3
    return parse_qs(urlparse(response["Location"]).query)["sok"][0]


def test_finding_a_resident_shows_their_proxy_bookings_in_the_region_and_is_audited(
    as_booker, booker, resident, clinic, proxy_slot, appointment_type, resource
):
    proxy_booking = booking_create_by_proxy(actor=booker, resident=resident, slot_id=proxy_slot.pk)
    web_booking = booking_create(resident=resident, slot_id=make_slot(appointment_type, resource, tomorrow_at(8)).pk)
    uppsala = ClinicFactory(region=RegionFactory(code="03", name="Region Uppsala"))
    elsewhere_type = AppointmentTypeFactory(clinic=uppsala, internal_name="Ombud akut", web_name="Akut")
    elsewhere = Booking.objects.create(
        slot=None,
        resident=resident,
        clinic=uppsala,
        appointment_type=elsewhere_type,
        resource=ResourceFactory(clinic=uppsala),
        start=tomorrow_at(9, days=3),
        end=tomorrow_at(10, days=3),
        channel=Channel.PROXY,
    )
    AuditEvent.objects.all().delete()

    token = find(as_booker, resident.personnummer)
    page = as_booker.get(f"{HOME}invanare/?sok={token}")

    assert page.status_code == 200
    shown = [booking for booking, _cancel in page.context["bookings"]]
    assert shown == [proxy_booking]  # not the web booking of an ordinary type, not another region's
    assert web_booking not in shown and elsewhere not in shown
    assert page.context["bookings"][0][1].allowed is True  # a proxy booker may cancel it
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.resident, event.unit_name) == (
        "proxy.resident_read",
        booker,
        resident,
        UNIT,
    )
    assert event.region_id == clinic.region_id and event.clinic is None


def test_a_personnummer_in_the_query_string_is_never_read(as_booker, resident):
    """R-SEC-3: the resident page names the resident only by the session's token."""
    response = as_booker.get(f"{HOME}invanare/?personnummer={resident.personnummer}")

    assert response.status_code == 302 and response["Location"] == HOME
    assert not AuditEvent.objects.filter(resident=resident).exists()


def test_an_invalid_personnummer_is_a_clear_error_in_swedish_and_nothing_is_read(as_booker):
    response = as_booker.post(HOME, {"personnummer": "19850314-2386"})

    assert response.status_code == 400
    assert "tidbok_search_tokens" not in as_booker.session
    with translation.override("sv"):
        assert "kontrollsiffra" in response.content.decode().lower() or "personnummer" in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_a_resident_who_never_logged_in_is_found_without_creating_anyone(as_booker):
    personnummer = make_personnummer()
    token = find(as_booker, personnummer)

    page = as_booker.get(f"{HOME}invanare/?sok={token}")

    assert page.status_code == 200 and page.context["resident"] is None and page.context["bookings"] == []
    assert not User.objects.filter(personnummer=personnummer).exists()


def test_only_bookable_proxy_types_of_the_region_are_offered(as_booker, resident, clinic, proxy_slot, slot):
    """R-TYPE-6: an ordinary type's free time, a proxy time at a clinic whose timebook cannot
    book (R-CLINIC-2) and another region's proxy time are never offered."""
    no_booking = ClinicFactory(region=clinic.region, supports_booking=False)
    closed = make_slot(
        AppointmentTypeFactory(clinic=no_booking, internal_name="Ombud stängd", web_name="Stängd"),
        ResourceFactory(clinic=no_booking),
        proxy_slot.start,
    )
    uppsala = ClinicFactory(region=RegionFactory(code="03", name="Region Uppsala"))
    elsewhere = make_slot(
        AppointmentTypeFactory(clinic=uppsala, internal_name="Ombud akut", web_name="Akut"),
        ResourceFactory(clinic=uppsala),
        proxy_slot.start,
    )
    token = find(as_booker, resident.personnummer)
    day = proxy_slot.start.date().isoformat()

    days = as_booker.get(f"{HOME}tider/?sok={token}")
    times = as_booker.get(f"{HOME}tider/?sok={token}&datum={day}")

    assert [(d, n) for d, n, _url in days.context["days"]] == [(proxy_slot.start.date(), 1)]
    offered = [s.pk for s, _url in times.context["free"]]
    assert offered == [proxy_slot.pk]
    assert slot.pk not in offered and closed.pk not in offered and elsewhere.pk not in offered
    assert [name for name, _label in times.context["form"].fields["typ"].choices] == ["", "Besök bokat av 1177"]


def test_free_times_filter_by_area_clinic_and_type(as_booker, resident, clinic, proxy_type, proxy_slot):
    kista = ClinicFactory(name="Barnavårdscentralen Kista", town="Kista", region=clinic.region)
    kista_slot = make_slot(
        AppointmentTypeFactory(clinic=kista, internal_name="Ombud BVC", web_name="BVC via 1177"),
        ResourceFactory(clinic=kista),
        proxy_slot.start,
    )
    token = find(as_booker, resident.personnummer)
    day = proxy_slot.start.date().isoformat()

    def offered(query: str) -> list[int]:
        response = as_booker.get(f"{HOME}tider/?sok={token}&datum={day}&{query}")
        assert response.status_code == 200
        return sorted(s.pk for s, _url in response.context["free"])

    assert offered("") == sorted([proxy_slot.pk, kista_slot.pk])
    assert offered("ort=Kista") == [kista_slot.pk]
    assert offered(f"mottagning={clinic.pk}") == [proxy_slot.pk]
    assert offered("typ=BVC+via+1177") == [kista_slot.pk]


def test_an_unknown_filter_value_is_a_field_error_not_a_500(as_booker, resident, proxy_slot):
    token = find(as_booker, resident.personnummer)

    response = as_booker.get(f"{HOME}tider/?sok={token}&mottagning=999999&datum=2026-13-40")

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"mottagning", "datum"}


def test_booking_a_proxy_time_summons_the_resident_logs_the_unit_and_is_audited(
    as_booker, booker, clinic, proxy_slot, django_capture_on_commit_callbacks
):
    personnummer = make_personnummer()  # has never logged in: created with the booking
    token = find(as_booker, personnummer)

    with django_capture_on_commit_callbacks(execute=True):
        response = as_booker.post(
            f"{HOME}tider/{proxy_slot.pk}/boka/",
            {"sok": token, "phone": "070-123 45 67", "reason": "Feber sedan tre dagar"},
        )

    assert response.status_code == 302 and response["Location"] == f"{HOME}invanare/?sok={token}"
    resident = User.objects.get(personnummer=personnummer)
    booking = Booking.objects.get(resident=resident)
    assert (booking.channel, booking.created_by, booking.proxy_unit) == (Channel.PROXY, booker, UNIT)
    assert (booking.patient_phone, booking.patient_reason) == ("070-123 45 67", "Feber sedan tre dagar")
    assert InboxMessage.objects.get(resident=resident).kind == MessageKind.SUMMONS  # R-BOOK-9
    row = WebBookingLogEntry.objects.get(booking=booking)  # R-LOG-1
    assert (row.status, row.channel, row.changed_by) == (LogStatus.BOOKED, Channel.PROXY, UNIT)
    event = AuditEvent.objects.get(action="booking.create_by_proxy")
    assert (event.resident, event.clinic, event.unit_name, event.object_id) == (
        resident,
        clinic,
        UNIT,
        str(booking.pk),
    )
    page = as_booker.get(response["Location"])
    assert [b for b, _c in page.context["bookings"]] == [booking]


def test_the_clinic_asking_for_a_reason_refuses_a_booking_without_one(as_booker, clinic, resident, proxy_slot):
    """R-TYPE-7 for a proxy booking: the messages speak of the resident, in Swedish."""
    clinic.patient_comment_on_web = True
    clinic.save()
    token = find(as_booker, resident.personnummer)

    response = as_booker.post(f"{HOME}tider/{proxy_slot.pk}/boka/", {"sok": token, "phone": "", "reason": " "})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"phone", "reason"}
    assert "invånaren" in errors["reason"][0]
    assert not Booking.objects.exists() and not AuditEvent.objects.filter(action="booking.create_by_proxy").exists()


def test_a_time_taken_meanwhile_sends_the_booker_back_to_the_times(as_booker, booker, resident, proxy_slot):
    token = find(as_booker, resident.personnummer)
    booking_create_by_proxy(actor=booker, resident=ResidentFactory(), slot_id=proxy_slot.pk)

    response = as_booker.post(f"{HOME}tider/{proxy_slot.pk}/boka/", {"sok": token})

    assert response.status_code == 302 and response["Location"].startswith(f"{HOME}tider/?sok={token}")
    assert not Booking.objects.filter(resident=resident).exists()


def test_cancelling_a_proxy_booking_messages_the_resident_logs_the_unit_and_is_audited(
    as_booker, booker, resident, clinic, proxy_slot, django_capture_on_commit_callbacks
):
    booking = booking_create_by_proxy(actor=booker, resident=resident, slot_id=proxy_slot.pk)
    token = find(as_booker, resident.personnummer)
    url = f"{HOME}bokning/{booking.pk}/avboka/?sok={token}"

    confirm = as_booker.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        done = as_booker.post(url, {"sok": token})

    assert confirm.status_code == 200 and confirm.context["cancel"].refusal is None
    assert done.status_code == 302
    booking.refresh_from_db()
    proxy_slot.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and proxy_slot.status == SlotStatus.FREE
    assert InboxMessage.objects.filter(resident=resident, kind=MessageKind.CANCELLATION).count() == 1
    row = WebBookingLogEntry.objects.get(booking=booking, status=LogStatus.CANCELLED)
    assert (row.channel, row.changed_by) == (Channel.PROXY, UNIT)
    assert AuditEvent.objects.filter(action="booking.read", resident=resident, unit_name=UNIT).exists()
    assert AuditEvent.objects.get(action="booking.cancel_by_proxy").unit_name == UNIT


def test_a_proxy_booker_cannot_cancel_another_residents_booking_through_this_residents_search(
    as_booker, booker, resident, other_resident, proxy_slot
):
    booking = booking_create_by_proxy(actor=booker, resident=other_resident, slot_id=proxy_slot.pk)
    token = find(as_booker, resident.personnummer)

    response = as_booker.post(f"{HOME}bokning/{booking.pk}/avboka/?sok={token}", {"sok": token})

    assert response.status_code == 404
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE


def test_a_search_from_another_session_has_expired(as_booker, booker, resident, proxy_slot):
    token = find(as_booker, resident.personnummer)
    other = login_with_second_factor(Client(), booker)

    response = other.get(f"{HOME}invanare/?sok={token}")

    assert response.status_code == 302 and response["Location"] == HOME


def test_the_picker_sends_a_proxy_booker_to_their_pages_and_offers_them_beside_clinics(client, booker, clinic):
    login_with_second_factor(client, booker)
    assert client.get("/personal/")["Location"] == reverse("workspace:proxy_home")

    scheduler = staff(Role.SCHEDULER, clinic)
    Membership.objects.create(user=scheduler, role=Role.PROXY_BOOKER, region=clinic.region, unit_name=UNIT)
    client.logout()
    login_with_second_factor(client, scheduler)
    picker = client.get("/personal/")
    assert picker.status_code == 200 and picker.context["proxy"] is True
    assert reverse("workspace:proxy_home") in picker.content.decode()


def test_no_proxy_booking_without_its_audit_event(booker, resident, proxy_slot, monkeypatch):
    """R-LOG-4: the audit event is written in the booking's transaction; when it cannot be
    written, nothing of the booking is left: no booking, summons or log row, the time still free."""

    def audit_log_down(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("bookings.services.staff.audit_record", audit_log_down)
    with pytest.raises(RuntimeError):
        booking_create_by_proxy(actor=booker, resident=resident, slot_id=proxy_slot.pk)

    proxy_slot.refresh_from_db()
    assert proxy_slot.status == SlotStatus.FREE
    assert not Booking.objects.exists() and not InboxMessage.objects.exists()
    assert not WebBookingLogEntry.objects.exists()


def test_no_proxy_cancellation_without_its_audit_event(booker, resident, proxy_slot, monkeypatch):
    booking = booking_create_by_proxy(actor=booker, resident=resident, slot_id=proxy_slot.pk)

    def audit_log_down(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("bookings.services.booking.audit_record", audit_log_down)
    with pytest.raises(RuntimeError):
        booking_cancel(actor=booker, booking_id=booking.pk)

    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    assert not WebBookingLogEntry.objects.filter(status=LogStatus.CANCELLED).exists()
    assert not InboxMessage.objects.filter(kind=MessageKind.CANCELLATION).exists()


def test_support_sees_the_proxy_unit_as_who_changed_in_the_web_log(client, booker, clinic, resident, proxy_slot):
    """R-LOG-1, R-BOOK-4: the log row of a proxy booking names the unit, on the page and in the export."""
    booking_create_by_proxy(actor=booker, resident=resident, slot_id=proxy_slot.pk)
    login_with_second_factor(client, staff(Role.SUPPORT, clinic))

    page = client.get(reverse("workspace:web_log", args=[clinic.pk]))
    export = client.get(reverse("workspace:web_log_csv", args=[clinic.pk]))

    assert page.status_code == 200 and UNIT in page.content.decode()
    lines = export.content.decode("utf-8-sig").splitlines()
    header, row = lines[0].split(";"), lines[1].split(";")
    with translation.override("sv"):
        assert row[header.index("Ändrad av")] == UNIT
