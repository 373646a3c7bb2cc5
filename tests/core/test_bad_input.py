"""R-SEC-6: bad input is a 400 (or a form shown again with its message), never a 500.

The property test walks every URL pattern of the project (the resolver, includes followed, the
admin and allauth's pages too), as an anonymous visitor, a resident and each staff role, GET and
POST, and fills the path, every query parameter the view reads and every form field with
hostile values: NUL bytes, dates at year 1 and 9999, weeks and months at the ends of the
calendar, huge and negative numbers, Arabic-Indic and fullwidth digits, very long strings.
Which parameters a view reads is learnt by watching it: a first request records every key it
looks up in ``request.GET``/``request.POST``, and the names of the fields of any form the page
shows; the API adds its OpenAPI parameters and body properties. No answer may be a 5xx.

Each request runs in a savepoint that is rolled back, so every example starts from the same
seeded clinic, bookings, schedule, block, waitlist, inbox and direct link.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.regex_helper import normalize
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from accounts.models import Role, User
from bookings.models import InboxMessage, MessageKind
from bookings.services import booking_create, booking_create_for_resident
from clinics.models import DirectLink
from core import params
from fhir import bulk
from schedules.selectors import iso_week
from schedules.services import block_create, hold_create, schedule_create

from ..factories import (
    AppointmentTypeFactory,
    BookingBasisFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    WaitlistEntryFactory,
    make_personnummer,
    schedule_pattern,
    staff,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "resident", "local_admin", "scheduler", "support", "region_it", "proxy_booker")
# Generated examples per pattern and method, on top of the explicit sweep (see :func:`sweep`).
EXAMPLES_GENERATED = 3

_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def hostile_values(personnummer: str) -> list[str]:
    return [
        "\x00",
        "1\x00",
        "2026-01-01\x00",
        "0001-01-01",
        "9999-12-31",
        "0000-00-00",
        "10000-01-01",
        "0001-01",
        "9999-12",
        "9999-13",
        "0001-W01",
        "9999-W52",
        "9999-W53",
        "2026-W99",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59Z",
        "geO001-01-01",
        "le9999-12-31",
        "gt9999-12-31",
        "-1",
        "0",
        "99999999999999999999999999",
        "9223372036854775808",
        "²",
        "١٢",
        "２０２６-０１-０１",
        "٢٠٢٦-٠١-٠١",
        "٢٠٢٦-W٠٥",
        personnummer.translate(_ARABIC),
        personnummer.translate(_FULLWIDTH),
        f"{personnummer[:8]}-{personnummer[8:]}".translate(_ARABIC),
        "x" * 5000,
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "%",
        "../../etc/passwd",
        "",
        " ",
    ]


@dataclass
class World:
    users: dict[str, User | None]
    path_values: dict[str, str]
    valid_values: list[str]
    valid_ids: dict[str, str]
    personnummer: str
    conditions_clinic: int


@dataclass
class Target:
    template: str  # "%(name)s" placeholders, as django.utils.regex_helper.normalize writes them
    params: list[str]
    names: set[str] = field(default_factory=set)

    @property
    def is_admin(self) -> bool:
        return self.template.startswith("admin/")


def _walk(patterns, prefix=()) -> Iterator[tuple]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, (*prefix, pattern))
        else:
            yield (*prefix, pattern)


def every_url_pattern() -> list[Target]:
    """Every leaf of the resolver as a fill-in template (the first form of each regex)."""
    targets: dict[str, Target] = {}
    for chain in _walk(get_resolver().url_patterns):
        template, params = "", []
        for part in chain:
            form, names = normalize(part.pattern.regex.pattern)[0]
            template += form
            params += names
        targets.setdefault(template, Target(template, params))
    return list(targets.values())


def seed_world() -> World:
    clinic = ClinicFactory(name="Vårdcentralen Solna")
    ClinicFactory(name="Vårdcentralen Nacka")
    appointment_type = AppointmentTypeFactory(clinic=clinic, internal_name="Uppföljning", web_name="Besök")
    resource = ResourceFactory(clinic=clinic, name="Distriktssköterska")
    slots = [SlotFactory(appointment_type=appointment_type, resource=resource) for _ in range(6)]
    resident = ResidentFactory(first_name="Anna", last_name="Andersson")
    other = ResidentFactory(first_name="Bertil", last_name="Berg")
    assert resident.personnummer is not None and other.personnummer is not None  # residents have one
    scheduler = staff(Role.SCHEDULER, clinic)
    users: dict[str, User | None] = {
        "anonymous": None,
        "resident": resident,
        "local_admin": staff(Role.LOCAL_ADMIN, clinic),
        "scheduler": scheduler,
        "support": staff(Role.SUPPORT, clinic),
        "region_it": staff(Role.REGION_IT, clinic),
        "proxy_booker": staff(Role.PROXY_BOOKER, clinic),
    }
    booking = booking_create(resident=resident, slot_id=slots[0].pk)
    booking_create_for_resident(actor=scheduler, resident=other, slot_id=slots[1].pk)
    hold = hold_create(resident=resident, slot_id=slots[2].pk)
    tomorrow = tomorrow_at(0).date()
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(
            resource,
            appointment_type,
            weekdays=[1, 2, 3, 4, 5],
            start_date=tomorrow + dt.timedelta(days=30),
            days=11,
            slot_minutes=20,
        ),
    )
    block = block_create(
        actor=scheduler, resource=resource, start=tomorrow_at(13, days=3), end=tomorrow_at(14, days=3)
    ).block
    basis = BookingBasisFactory(appointment_type=appointment_type, resident=resident)
    WaitlistEntryFactory(clinic=clinic, resident=other, appointment_type=appointment_type)
    message = InboxMessage.objects.create(
        resident=resident, clinic=clinic, kind=MessageKind.SUMMONS, subject="Kallelse", body="Välkommen"
    )
    link = DirectLink.objects.create(clinic=clinic, kind="book")
    bulk.refresh()
    # From here on the clinic asks for a phone number and a reason on the web: two more posted fields.
    clinic.patient_comment_on_web = True
    clinic.save(update_fields=["patient_comment_on_web"])
    today = timezone.localdate()
    path_values = {
        "clinic_id": str(clinic.pk),
        "type_id": str(appointment_type.pk),
        "day": tomorrow.isoformat(),
        "hold_id": str(hold.pk),
        "booking_id": str(booking.pk),
        "message_id": str(message.pk),
        "token": link.token,
        "kind": "book",
        "resource_id": str(resource.pk),
        "block_id": str(block.pk),
        "schedule_id": str(schedule.pk),
        "basis_id": str(basis.pk),
        "location_id": str(clinic.pk),
        "slot_id": str(slots[3].pk),
        "appointment_id": str(booking.pk),
        "resource_type": "Slot",
    }
    valid_values = [
        *path_values.values(),
        str(slots[4].pk),
        today.isoformat(),
        f"{today:%Y-%m}",
        iso_week(today),
        timezone.now().isoformat(),
        f"Location/{clinic.pk}",
        f"Schedule/{resource.pk}-{appointment_type.pk}",
        f"ge{today.isoformat()}",
        "free",
        "busy",
        "booked",
        "publish",
        "yes",
        "on",
        "1",
        make_personnummer(),
        other.personnummer,
    ]
    # Parameters that name an object: kept valid in half of the sweep so the view gets past them.
    valid_ids = {
        "type": str(appointment_type.pk),
        "typ": str(appointment_type.pk),
        "appointment_type": str(appointment_type.pk),
        "resource": str(resource.pk),
        "resurs": str(resource.pk),
        "slot": str(slots[4].pk),
        "hold": str(hold.pk),
        "rebook_of": str(booking.pk),
        "clinic_id": str(clinic.pk),
        "format": "json",
    }
    return World(users, path_values, valid_values, valid_ids, resident.personnummer, clinic.pk)


def logged_in(role: str, world: World) -> Client:
    """A client for the role; staff have passed their second factor in this very session, as
    allauth records it (the TOTP device alone does not count)."""
    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.mfa.totp.internal.auth import TOTP

    client = Client(raise_request_exception=True)
    user = world.users[role]
    if user is None:
        return client
    client.force_login(user)
    session = client.session
    if user.is_resident:
        for kind in ("book", "manage"):
            session[f"conditions_{kind}_{world.conditions_clinic}"] = True
    else:
        authenticator = TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").instance
        now = time.time()
        session[AUTHENTICATION_METHODS_SESSION_KEY] = [
            {"method": "password", "at": now, "email": user.email},
            {"method": "mfa", "at": now, "id": authenticator.pk, "type": "totp"},
        ]
        session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


@contextmanager
def recording_reads() -> Iterator[set[str]]:
    """Every key a view looks up in a QueryDict (request.GET, request.POST, DRF's query_params)."""
    seen: set[str] = set()
    patched = {}
    for name in ("get", "getlist", "__getitem__", "__contains__"):
        original = getattr(QueryDict, name)
        patched[name] = (original, name in QueryDict.__dict__)

        def recorder(self, key, *args, _original=original, **kwargs):
            if isinstance(key, str):
                seen.add(key)
            return _original(self, key, *args, **kwargs)

        setattr(QueryDict, name, recorder)
    try:
        yield seen
    finally:
        for name, (original, own) in patched.items():
            if own:
                setattr(QueryDict, name, original)
            else:
                delattr(QueryDict, name)


_FORM_FIELD = re.compile(r'<(?:input|select|textarea|button)\b[^>]*\bname="([^"]+)"')
# Keys that Django and the test client read on every request; filling them tests nothing here.
_IGNORED = {"csrfmiddlewaretoken"}


def own_form_fields(html: str) -> set[str]:
    """The fields of the forms that post back to the page itself (not the layout's language
    switch or logout button)."""
    names: set[str] = set()
    for form in html.split("<form")[1:]:
        action = re.match(r'[^>]*\baction="([^"]*)"', form)
        if action is None or action[1] in ("", "."):
            names |= set(_FORM_FIELD.findall(form.split("</form>")[0]))
    return names


def api_names() -> dict[str, set[str]]:
    """Query parameters and body properties of each API path, from the OpenAPI schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    names: dict[str, set[str]] = {}
    for path, operations in schema["paths"].items():
        template = re.sub(r"\{(\w+)\}", r"%(\1)s", path.lstrip("/"))
        found = names.setdefault(template, set())
        for operation in operations.values():
            found |= {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            for content in operation.get("requestBody", {}).get("content", {}).values():
                ref = content.get("schema", {}).get("$ref", "")
                found |= set(components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
    return names


def fill(target: Target, world: World, values: dict[str, str]) -> str:
    fhir_schedule = target.template.startswith("fhir/")
    filled = {}
    for name in target.params:
        raw = values.get(name)
        if raw is None:
            raw = world.path_values.get(name, "1")
            if fhir_schedule and name == "schedule_id":
                raw = f"{world.path_values['resource_id']}-{world.path_values['type_id']}"
        filled[name] = quote(raw, safe="")
    return "/" + target.template % filled


def send(client: Client, method: str, path: str, params: dict, as_json: bool):
    """One request in a savepoint that is rolled back: every example starts from the seed."""
    session_cookie = client.cookies.get("sessionid")
    with transaction.atomic():
        try:
            if method == "GET":
                return client.get(path, params)
            if as_json:
                return client.post(path, params, content_type="application/json")
            response = client.post(path, params)
            location = response.get("Location", "")
            if response.status_code == 302 and location.split("?")[0] == path:
                # Post/redirect/get to the same page (a filter kept behind a search token): the
                # posted values are used by the GET that follows.
                followed = client.get(location)
                return followed if followed.status_code >= 500 else response
            return response
        finally:
            transaction.set_rollback(True)
            if session_cookie is not None:  # a logout or a new session must not leak into the next example
                client.cookies["sessionid"] = session_cookie.value


def _admitted(status: int, location: str) -> bool:
    """Whether the view let the role in (no redirect to a login page, no 403, 404 or 405)."""
    login = status == 302 and location.startswith((reverse("resident_login"), reverse("account_login")))
    return not login and status not in (403, 404, 405)


def discover(clients: dict[str, Client], targets: list[Target], world: World) -> dict[tuple[str, str, str], int]:
    """One plain request per pattern, role and method (POST only where GET let the role in or
    said 405): the keys the view reads and the fields of the forms it shows become the
    parameters the examples fill. Returns the status of each admitted (pattern, role, method)."""
    from_api = api_names()
    admitted: dict[tuple[str, str, str], int] = {}
    for target in targets:
        target.names |= from_api.get(target.template, set())
        if target.is_admin:
            continue
        for role in ROLES:
            get_status = 0
            for method in ("GET", "POST"):
                if method == "POST" and (target.template, role, "GET") not in admitted and get_status != 405:
                    continue
                with recording_reads() as seen:
                    try:
                        response = send(clients[role], method, fill(target, world, {}), {}, False)
                    except Exception:
                        admitted[(target.template, role, method)] = 500  # fails already: look closer
                        continue
                get_status = response.status_code
                target.names |= seen
                if "html" in response.get("Content-Type", ""):
                    target.names |= own_form_fields(response.content.decode(errors="replace"))
                if _admitted(response.status_code, response.get("Location", "")):
                    admitted[(target.template, role, method)] = response.status_code
        target.names -= _IGNORED
    return admitted


def killer_values(personnummer: str) -> list[str]:
    """One of each kind of value that broke a view once: every parameter gets each of them."""
    return [
        "1\x00",
        "9999-12-31",
        "0001-01-01",
        "9999-12",
        "9999-W52",
        "le9999-12-31",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "²",
        personnummer.translate(_ARABIC),
        "99999999999999999999999999",
        "x" * 5000,
    ]


def _own(target: Target) -> bool:
    """The project's own views (allauth's, the admin's and the language switch are walked more lightly)."""
    return not target.template.startswith(("admin/", "accounts/", "i18n/", "api/schema/", "api/docs/"))


def sweep(target: Target, names: list[str], killers: list[str], role: str, world: World) -> list[dict]:
    """Explicit examples for the role the view serves best: each killer in every parameter at
    once, twice: first with the ids the view needs to go on (type, resource, slot …) left
    valid, so it reaches the date arithmetic behind them; then in the ids and the path too.
    The other admitted roles get the generated examples."""
    examples = []
    for killer in killers:
        query = {name: world.valid_ids.get(name, killer) for name in names}
        examples.append({"role": role, "path": {}, "query": query})
    for killer in killers:
        path = dict.fromkeys(target.params, killer)
        examples.append({"role": role, "path": path, "query": dict.fromkeys(names, killer)})
    return examples


def test_no_input_gives_a_server_error(settings_fixture, quiet_request_log):
    world = seed_world()
    targets = every_url_pattern()
    clients = {role: logged_in(role, world) for role in ROLES}
    admitted = discover(clients, targets, world)
    hostile = hostile_values(world.personnummer)
    killers = killer_values(world.personnummer)
    text = st.one_of(st.sampled_from(hostile), st.sampled_from(world.valid_values), st.text(max_size=30))
    failures: list[str] = []
    runs = 0
    for target in targets:
        names = sorted(target.names)
        path_values = st.fixed_dictionaries(
            {}, optional={name: st.one_of(st.just(world.path_values.get(name, "1")), text) for name in target.params}
        )
        values = st.one_of(text, st.integers(), st.lists(text, max_size=2))
        query = st.dictionaries(st.sampled_from(names), values, max_size=6) if names else st.just({})
        for method in ("GET", "POST"):
            roles = [role for role in ROLES if (target.template, role, method) in admitted]
            if not roles:
                # Refused to everyone (or the admin, walked as the anonymous visitor): one hostile try.
                explicit, roles, generated = [], ["anonymous"], 1
            else:
                # The sweep goes to the role that got furthest: a page (2xx) before a redirect.
                best = min(roles, key=lambda role: admitted[(target.template, role, method)] // 100 != 2)
                explicit = sweep(target, names, killers, best, world) if _own(target) else []
                generated = EXAMPLES_GENERATED
            runs += len(explicit) + generated
            check = one_pattern_check(clients, method, target, world, roles, path_values, query, explicit, generated)
            try:
                check()
            except Exception as exc:  # collect every pattern's failure, then report them all
                failures.append(f"{method} /{target.template}: {type(exc).__name__}: {str(exc)[:300]}")
    print(f"{len(targets)} patterns, {len(admitted)} admitted (pattern, role, method), {runs} examples")
    assert failures == [], "\n".join(failures)


def one_pattern_check(clients, method, target, world, roles, path_values, query, explicit, generated):
    @seed(zlib.crc32(f"{method} {target.template}".encode()))
    @given(role=st.sampled_from(roles), path=path_values, query=query)
    @settings(
        max_examples=generated,
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    def check(role, path, query):
        url = fill(target, world, path)
        as_json = method == "POST" and url.startswith("/api/")
        if not as_json:  # a form or a query string carries text only
            query = {key: value if isinstance(value, str) else str(value) for key, value in query.items()}
        response = send(clients[role], method, url, query, as_json)
        assert response.status_code < 500, (role, url, response.content[:300])

    for case in explicit:
        check = example(**case)(check)
    return check


@pytest.fixture
def quiet_request_log():
    """Thousands of refused requests would each log a warning."""
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
def settings_fixture(settings):
    # Reach the views behind the limits: a 429 is fine, but it would stop the walk early.
    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "booking_user": "100000/min"}
    settings.ACCOUNT_RATE_LIMITS = False
    settings.TIDBOK_DEV_LOGIN = True
    return settings


# --- The cases that gave 500 before, one by one ----------------------------------------------------


@pytest.fixture
def world(settings_fixture) -> World:
    return seed_world()


def test_a_nul_byte_in_the_query_string_is_a_400_page_in_swedish_or_english(world):
    client = Client()
    path = reverse("clinics:search")

    swedish = client.get(path, {"q": "Solna\x00"})
    client.cookies["django_language"] = "en"
    english = client.get(path, {"q": "Solna\x00"})

    assert swedish.status_code == english.status_code == 400
    assert "Förfrågan innehåller ett tecken som inte är tillåtet." in swedish.content.decode()
    assert "The request contains a character that is not allowed." in english.content.decode()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/api/v1/clinics/", "application/problem+json"), ("/fhir/r4/Location", "application/fhir+json")],
)
def test_a_nul_byte_is_refused_in_the_api_s_own_shape(world, path, content_type):
    response = Client().get(path, {"q" if path.startswith("/api/") else "_count": "1\x00"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith(content_type)


def test_a_nul_byte_in_the_path_is_refused(world):
    response = Client().get(f"/l/{quote(world.path_values['token'] + chr(0))}/")

    assert response.status_code == 400


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "٢٠٢٦-٠١", "2026-13"])
def test_a_month_at_the_ends_of_the_calendar_shows_the_first_month_with_times(world, month):
    client = logged_in("resident", world)
    path = f"/mottagning/{world.path_values['clinic_id']}/boka/{world.path_values['type_id']}/"

    response = client.get(path, {"manad": month})

    assert response.status_code == 200
    assert response.context["month"] == tomorrow_at(8).date().replace(day=1)  # the month of the first free time


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "٢٠٢٦-٠١-٠١"])
def test_a_day_at_the_ends_of_the_calendar_is_not_found(world, day):
    client = logged_in("resident", world)
    path = f"/mottagning/{world.path_values['clinic_id']}/boka/{world.path_values['type_id']}/{day}/"

    assert client.get(path).status_code == 404


@pytest.mark.parametrize("raw", ["²", "١٢", "99999999999999999999999999"])
def test_a_slot_id_that_is_no_number_asks_for_a_time(world, raw):
    client = logged_in("resident", world)

    response = client.post(reverse("bookings:hold"), {"slot": raw, "back": "/mina-tider/"})

    assert response.status_code == 302 and response["Location"] == "/mina-tider/"


@pytest.mark.parametrize("week", ["9999-W52", "0001-W01", "2026-W99", "٢٠٢٦-W٠٥"])
def test_the_timebook_refuses_a_week_outside_the_calendar_beside_the_field(world, week):
    client = logged_in("scheduler", world)

    response = client.get(f"/personal/{world.path_values['clinic_id']}/tidbok/", {"vecka": week})

    assert response.status_code == 400
    # The week has no visible field: its message stands at the date the page asks for.
    assert response.context["filter_form"].errors["datum"]


def test_the_free_times_api_refuses_a_date_outside_the_calendar_in_swedish(world):
    client = logged_in("resident", world)
    path = f"/api/v1/clinics/{world.path_values['clinic_id']}/free-times/"

    response = client.get(path, {"type": world.path_values["type_id"], "date_from": "9999-12-31"})

    assert response.status_code == 400
    assert response.json()["errors"]["date_from"] == ["Välj ett datum från år 1900 till 2999."]


@pytest.mark.parametrize(
    "query",
    [
        {"start": "9999-12-31"},
        {"start": "le0001-01-01"},
        {"start": "ge9999-12-31T23:59:59-14:00"},
        {"_count": "²"},
        {"_count": "١٢"},
        {"schedule": "١-٢"},
    ],
)
def test_fhir_slot_search_refuses_overflowing_or_non_ascii_values(world, query):
    response = Client().get("/fhir/r4/Slot", query)

    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] in ("invalid", "not-supported")


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_fhir_bulk_publish_refuses_an_instant_outside_the_calendar(world, since):
    response = Client().get("/fhir/r4/$bulk-publish", {"_since": since})

    assert response.status_code == 400


@pytest.mark.parametrize("start", ["0001-01-01", "0001-01-01T00:00", "9999-12-31T23:59:59-14:00"])
def test_the_staff_api_refuses_a_slot_outside_the_calendar(world, start):
    client = logged_in("scheduler", world)
    path = f"/api/v1/staff/clinics/{world.path_values['clinic_id']}/slots/"
    body = {
        "resource": world.path_values["resource_id"],
        "appointment_type": world.path_values["type_id"],
        "start": start,
        "end": "2026-01-01T09:00:00+01:00",
    }

    response = client.post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert "start" in response.json()["errors"]


def test_dev_login_refuses_a_personnummer_in_arabic_indic_digits_beside_the_field(world):
    typed = world.personnummer.translate(_ARABIC)

    response = Client().post(reverse("dev_login"), {"personnummer": typed})

    assert response.status_code == 400
    assert "Använd bara siffrorna 0–9, och - eller + före de fyra sista." in response.content.decode()
    assert User.objects.filter(personnummer__isnull=False).count() == 2


# --- The parsers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parser", "raw", "expected"),
    [
        (params.parse_date, "2026-03-01", dt.date(2026, 3, 1)),
        (params.parse_month, "2026-03", dt.date(2026, 3, 1)),
        (params.parse_week, "2026-W10", dt.date(2026, 3, 2)),
        (params.parse_week, "2026w10", dt.date(2026, 3, 2)),
        (params.parse_id, "42", 42),
    ],
)
def test_parsers_read_what_people_write(parser, raw, expected):
    assert parser(raw, name="x") == expected


@pytest.mark.parametrize(
    ("parser", "raw"),
    [
        (params.parse_date, "9999-12-31"),
        (params.parse_date, "0001-01-01"),
        (params.parse_date, "٢٠٢٦-٠٣-٠١"),
        (params.parse_date, "2026-02-30"),
        (params.parse_date, "2026-03-01\x00"),
        (params.parse_month, "9999-12"),
        (params.parse_month, "2026-13"),
        (params.parse_week, "9999-W52"),
        (params.parse_week, "2026-W54"),
        (params.parse_id, "²"),
        (params.parse_id, "0"),
        (params.parse_id, "9223372036854775808"),
        (params.parse_instant, "9999-12-31T23:59:59-14:00"),
        (params.parse_instant, "2026-03-01T08:00:00"),
    ],
)
def test_parsers_refuse_values_that_would_break_a_view(parser, raw):
    with pytest.raises(params.BadParameter):
        parser(raw, name="x")
