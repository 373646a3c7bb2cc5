"""The proxy bookers' API under /api/v1/proxy/ (R-TYPE-6) for a telephone-service system: find a
resident (personnummer in the body only, R-SEC-3), free proxy times of the region, book (R-BOOK-9,
R-LOG-1) and cancel; only proxy bookers reach it (R-ACL-1); reads and changes are audited (R-LOG-4)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import AuditEvent, Role
from bookings.models import (
    Booking,
    BookingStatus,
    Channel,
    InboxMessage,
    LogStatus,
    MessageKind,
    WebBookingLogEntry,
)
from bookings.services import booking_create, booking_create_by_proxy

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
SEARCH = "/api/v1/proxy/residents/search/"
FREE = "/api/v1/proxy/free-times/"
BOOK = "/api/v1/proxy/bookings/"


def cancel_url(booking_id: int) -> str:
    return f"/api/v1/proxy/bookings/{booking_id}/cancel/"


def post(client: Client, path: str, data=None, **extra):
    return client.post(path, data or {}, content_type="application/json", **extra)


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
def api(client: Client, booker) -> Client:
    return login_with_second_factor(client, booker)


@pytest.mark.parametrize("role", [Role.LOCAL_ADMIN, Role.SCHEDULER, Role.SUPPORT, Role.REGION_IT])
def test_clinic_roles_are_refused_every_proxy_operation(client, clinic, resident, proxy_slot, role):
    """R-ACL-1: a scheduler of the very clinic is no proxy booker; nothing is read or changed."""
    booking = booking_create_by_proxy(
        actor=staff(Role.PROXY_BOOKER, clinic, unit_name=UNIT), resident=resident, slot_id=proxy_slot.pk
    )
    AuditEvent.objects.all().delete()
    login_with_second_factor(client, staff(role, clinic))

    answers = [
        post(client, SEARCH, {"personnummer": resident.personnummer}).status_code,
        client.get(FREE).status_code,
        post(client, BOOK, {"personnummer": resident.personnummer, "slot": proxy_slot.pk}).status_code,
        post(client, cancel_url(booking.pk)).status_code,
    ]

    assert answers == [403, 403, 403, 403]
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    assert not AuditEvent.objects.exists()


def test_residents_anonymous_callers_and_sessions_without_a_second_factor_are_refused(
    client, booker, resident, proxy_slot
):
    anonymous = post(client, SEARCH, {"personnummer": resident.personnummer}).status_code
    client.force_login(resident)
    as_resident = post(client, SEARCH, {"personnummer": resident.personnummer}).status_code
    client.force_login(booker)  # password only: the session has not passed its second factor
    no_second_factor = client.get(FREE).status_code

    assert anonymous in (401, 403) and as_resident == 403 and no_second_factor == 403


def test_search_finds_the_residents_proxy_bookings_and_is_audited(api, booker, clinic, resident, proxy_slot, slot):
    proxy_booking = booking_create_by_proxy(actor=booker, resident=resident, slot_id=proxy_slot.pk)
    booking_create(resident=resident, slot_id=slot.pk)  # an ordinary type: not the proxy booker's to see
    AuditEvent.objects.all().delete()

    response = post(api, SEARCH, {"personnummer": resident.personnummer_display})

    assert response.status_code == 200
    body = response.json()
    assert body["resident"]["personnummer"] == resident.personnummer_display
    assert [b["id"] for b in body["bookings"]] == [proxy_booking.pk]
    assert body["bookings"][0]["can_cancel"] is True and UNIT in body["bookings"][0]["changed_by"]
    event = AuditEvent.objects.get()
    assert (event.action, event.resident, event.unit_name, event.region_id) == (
        "proxy.resident_read",
        resident,
        UNIT,
        clinic.region_id,
    )


def test_search_takes_the_personnummer_only_in_the_body(api, resident):
    """R-SEC-3: no GET with a personnummer in the query; a bad number is a 400 that reads nothing."""
    assert api.get(f"{SEARCH}?personnummer={resident.personnummer}").status_code == 405
    bad = post(api, SEARCH, {"personnummer": "19850314-2386"})
    assert bad.status_code == 400 and "personnummer" in bad.json()["errors"]
    assert not AuditEvent.objects.exists()


def test_free_times_are_only_the_regions_proxy_times(api, clinic, proxy_slot, slot):
    uppsala = ClinicFactory(region=RegionFactory(code="03", name="Region Uppsala"))
    make_slot(
        AppointmentTypeFactory(clinic=uppsala, internal_name="Ombud akut", web_name="Akut"),
        ResourceFactory(clinic=uppsala),
        proxy_slot.start,
    )

    every = api.get(FREE).json()
    by_type = api.get(f"{FREE}?type=Inget+sådant").json()
    by_day = api.get(f"{FREE}?date={proxy_slot.start.date().isoformat()}&area={clinic.town}&clinic={clinic.pk}").json()

    assert [s["id"] for s in every] == [proxy_slot.pk] == [s["id"] for s in by_day]
    assert by_type == []
    assert api.get(f"{FREE}?date=2026-02-30").status_code == 400
    assert api.get(f"{FREE}?date=9999-12-31").json() == []


def test_booking_summons_the_resident_logs_the_unit_and_is_audited(
    api, booker, clinic, proxy_slot, django_capture_on_commit_callbacks
):
    personnummer = make_personnummer()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api,
            BOOK,
            {"personnummer": personnummer, "slot": proxy_slot.pk, "reason": "Feber"},
            HTTP_IDEMPOTENCY_KEY="call-42",
        )
    retry = post(
        api,
        BOOK,
        {"personnummer": personnummer, "slot": proxy_slot.pk, "reason": "Feber"},
        HTTP_IDEMPOTENCY_KEY="call-42",
    )

    assert response.status_code == 201 and retry.status_code == 201 and retry.json() == response.json()
    booking = Booking.objects.get()
    assert (booking.channel, booking.proxy_unit, booking.patient_reason) == (Channel.PROXY, UNIT, "Feber")
    assert InboxMessage.objects.get(resident=booking.resident).kind == MessageKind.SUMMONS
    row = WebBookingLogEntry.objects.get()
    assert (row.status, row.channel, row.changed_by) == (LogStatus.BOOKED, Channel.PROXY, UNIT)
    assert AuditEvent.objects.get(action="booking.create_by_proxy").unit_name == UNIT


def test_an_ordinary_or_another_regions_time_cannot_be_booked(api, resident, slot):
    """R-TYPE-6: only proxy types of the booker's regions; the refusal creates nothing."""
    uppsala = ClinicFactory(region=RegionFactory(code="03", name="Region Uppsala"))
    elsewhere = make_slot(
        AppointmentTypeFactory(clinic=uppsala, internal_name="Ombud akut", web_name="Akut"),
        ResourceFactory(clinic=uppsala),
        slot.start,
    )
    for refused in (slot, elsewhere):
        response = post(api, BOOK, {"personnummer": resident.personnummer, "slot": refused.pk})
        assert response.status_code == 400 and "slot" in response.json()["errors"]
    assert not Booking.objects.exists() and not AuditEvent.objects.exists()


def test_cancelling_a_proxy_booking_and_refusals(api, booker, resident, proxy_slot, slot):
    booking = booking_create_by_proxy(actor=booker, resident=resident, slot_id=proxy_slot.pk)
    ordinary = booking_create(resident=ResidentFactory(), slot_id=slot.pk)
    uppsala_booker = staff(Role.PROXY_BOOKER, region=RegionFactory(code="03", name="Region Uppsala"))

    outsider = login_with_second_factor(Client(), uppsala_booker)
    assert post(outsider, cancel_url(booking.pk)).status_code == 404
    assert post(api, cancel_url(ordinary.pk)).status_code == 403  # not a proxy type (R-TYPE-6)
    assert post(api, cancel_url(booking.pk)).status_code == 204

    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    assert Booking.objects.get(pk=ordinary.pk).status == BookingStatus.ACTIVE
    row = WebBookingLogEntry.objects.get(booking=booking, status=LogStatus.CANCELLED)
    assert (row.channel, row.changed_by) == (Channel.PROXY, UNIT)
    assert AuditEvent.objects.get(action="booking.cancel_by_proxy").unit_name == UNIT
