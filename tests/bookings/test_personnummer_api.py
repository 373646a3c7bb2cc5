"""Every API that takes a personnummer reads it through one field (accounts.api_fields), so each
mistake gets the same message everywhere (R-AUTH-4): a 400 problem with that message on the
field, nothing written, and the number typed never repeated in the answer or a log line (R-SEC-3)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from accounts.models import Role
from accounts.personnummer import luhn_check_digit

from ..factories import (
    AppointmentTypeFactory,
    WaitlistEntryFactory,
    login_with_second_factor,
    make_personnummer,
    staff,
    tomorrow_at,
)
from ..pages import make_slot

pytestmark = pytest.mark.django_db

EMPTY = "Skriv ett personnummer."
CHARACTERS = "Använd bara siffrorna 0–9, och - eller + före de fyra sista."
LENGTH = "Ett personnummer har 12 siffror, ÅÅÅÅMMDD-NNNN, eller 10, ÅÅMMDD-NNNN."
FORMAT = "Skriv personnumret som ÅÅÅÅMMDD-NNNN (12 siffror)."
CHECK_DIGIT = "Kontrollsiffran stämmer inte. Kontrollera att du har skrivit numret rätt."
NO_SUCH_DATE = "Datumet i personnumret finns inte."
FUTURE_DATE = "Datumet i personnumret har inte inträffat än."
PLUS_IN_LONG_FORM = "Använd tecknet + bara i den korta formen ÅÅMMDD+NNNN."


def _with_check_digit(yyyymmdd: str, serial: str = "123") -> str:
    nine = yyyymmdd[2:] + serial
    return f"{yyyymmdd}-{serial}{luhn_check_digit(nine)}"


_VALID = make_personnummer(dt.date(1985, 3, 14))
_WRONG_CHECK = f"{_VALID[:8]}-{_VALID[8:11]}{(int(_VALID[11]) + 1) % 10}"
_NEXT_YEAR = f"{dt.date.today().year + 1}0101"

# (what is sent, the message): "missing" sends no personnummer at all.
CASES: list[tuple[Any, str]] = [
    ("missing", EMPTY),
    (None, EMPTY),
    ("", EMPTY),
    ("   ", EMPTY),
    ("19850314-12a4", CHARACTERS),
    ("19850314/1234", CHARACTERS),
    ("Anna Andersson, Storgatan 1, Solna", CHARACTERS),  # over-long and not a number at all
    ("\u0661\u0669\u0668\u0665\u0660\u0663\u0661\u0664-\u0661\u0662\u0663\u0664", CHARACTERS),  # Arabic-Indic
    ("850314-123", LENGTH),
    ("19850314-12345", LENGTH),
    ("1985031412341985031412341985", LENGTH),  # over-long digits
    ("19850314--1234", FORMAT),
    (["19850314-1234"], FORMAT),
    (_WRONG_CHECK, CHECK_DIGIT),
    (_with_check_digit("19810230"), NO_SUCH_DATE),
    (_with_check_digit(_NEXT_YEAR), FUTURE_DATE),
    (_with_check_digit("19810101").replace("-", "+"), PLUS_IN_LONG_FORM),
]
CASE_IDS = [
    "missing", "null", "empty", "blank", "letter", "slash", "text", "arabic-indic", "short", "long", "over-long",
    "two-separators", "a-list", "check-digit", "no-such-date", "future-date", "plus-in-long-form",
]  # fmt: skip


@pytest.fixture
def world(clinic, appointment_type, resource, slot):
    proxy_type = AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177 akut", web_name="Besök av 1177")
    return {
        "clinic": clinic,
        "appointment_type": appointment_type,
        "slot": slot,
        "proxy_slot": make_slot(proxy_type, resource, tomorrow_at(11, 0, days=2)),
    }


def _staff_path(clinic, rest: str) -> str:
    return f"/api/v1/staff/clinics/{clinic.pk}/{rest}"


# Each API that takes a personnummer: who may call it, where, and the rest of a valid body.
ENDPOINTS = {
    "staff-booking": (
        Role.SCHEDULER,
        lambda w: _staff_path(w["clinic"], "bookings/"),
        lambda w: {"slot": w["slot"].pk},
    ),
    "web-log-search": (Role.SUPPORT, lambda w: _staff_path(w["clinic"], "web-log/search/"), lambda w: {}),
    "booking-basis": (
        Role.SCHEDULER,
        lambda w: _staff_path(w["clinic"], "booking-bases/"),
        lambda w: {"appointment_type": w["appointment_type"].pk},
    ),
    "open-summons": (
        Role.SCHEDULER,
        lambda w: _staff_path(w["clinic"], "open-summons/"),
        lambda w: {
            "appointment_type": w["appointment_type"].pk,
            "valid_from": (dt.date.today() + dt.timedelta(days=1)).isoformat(),
            "valid_until": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        },
    ),
    "resident-lookup": (Role.SCHEDULER, lambda w: _staff_path(w["clinic"], "residents/lookup/"), lambda w: {}),
    "resident-communication": (
        Role.SCHEDULER,
        lambda w: _staff_path(w["clinic"], "residents/communication/"),
        lambda w: {"approved": True},
    ),
    "resident-message": (
        Role.SCHEDULER,
        lambda w: _staff_path(w["clinic"], "residents/messages/"),
        lambda w: {"subject": "Provsvar", "body": "Ring oss."},
    ),
    "proxy-resident-search": (Role.PROXY_BOOKER, lambda w: "/api/v1/proxy/residents/search/", lambda w: {}),
    "proxy-booking": (Role.PROXY_BOOKER, lambda w: "/api/v1/proxy/bookings/", lambda w: {"slot": w["proxy_slot"].pk}),
}


def _row_counts() -> dict[str, int]:
    project = {"accounts", "clinics", "schedules", "bookings", "notifications", "fhir", "core", "outbox"}
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in project and not model._meta.proxy
    }


# The web log search's personnummer is optional: without one it lists every resident's changes.
PAIRS = [
    pytest.param(endpoint, typed, message, id=f"{case_id}-{endpoint}")
    for endpoint in sorted(ENDPOINTS)
    for (typed, message), case_id in zip(CASES, CASE_IDS, strict=True)
    if not (typed == "missing" and endpoint == "web-log-search")
]


@pytest.mark.parametrize(("endpoint", "typed", "message"), PAIRS)
def test_each_mistake_gets_its_message_through_every_api_and_changes_nothing(
    client: Client, world, endpoint, typed, message, caplog
):
    role, path, rest = ENDPOINTS[endpoint]
    login_with_second_factor(client, staff(role, world["clinic"], unit_name="1177 Vårdguiden på telefon"))
    body = rest(world)
    if typed != "missing":
        body["personnummer"] = typed
    before = _row_counts()
    caplog.set_level(logging.DEBUG)

    response = client.post(path(world), body, content_type="application/json")

    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["code"] == "INVALID_INPUT"
    assert problem["errors"] == {"personnummer": [message]}
    assert problem["detail"] == message
    assert _row_counts() == before
    if isinstance(typed, str) and typed.strip() and typed != "missing":
        assert typed not in response.content.decode()
        digits = "".join(c for c in typed if c.isdigit())
        for record in caplog.records:
            line = record.getMessage() + repr(record.__dict__)
            assert typed not in line and (len(digits) < 10 or digits not in line), line


def test_a_booking_from_the_waitlist_with_another_residents_number_is_refused_in_swedish(
    client: Client, world, resident
):
    entry = WaitlistEntryFactory(clinic=world["clinic"], resident=resident)
    login_with_second_factor(client, staff(Role.SCHEDULER, world["clinic"]))
    before = _row_counts()

    response = client.post(
        _staff_path(world["clinic"], "bookings/"),
        {"waitlist_entry": entry.pk, "slot": world["slot"].pk, "personnummer": _VALID},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"personnummer": ["Det är inte personnumret för den som står på väntelistan."]}
    assert _VALID not in response.content.decode() and _VALID[:8] not in response.content.decode()
    assert _row_counts() == before
