"""Schemathesis drives every API operation from the OpenAPI schema with generated input, as a
logged-in resident and as a scheduler: no server errors, and every answer matches the schema.

Driven through Hypothesis directly: schemathesis' own pytest plugin does not run under the
pytest version used here."""

from __future__ import annotations

import pytest
import schemathesis
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth

from accounts.models import Role
from tidbok.wsgi import application

from ..factories import ResidentFactory, SlotFactory, login_with_second_factor, staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api_schema(settings):
    # Schemathesis talks to the WSGI app as host "localhost".
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    # Every answer refuses a NUL byte in the query with 400 (R-SEC-6, tests/core/test_bad_input.py);
    # to schemathesis a string holding one is still schema-valid input.
    schema.config.generation.update(allow_x00=False)
    return schema


def run_every_operation(
    api_schema, *, max_examples: int, path_prefix: str = "", excluded_checks: list | None = None, **auth
) -> list[str]:
    failures: list[str] = []
    ran = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if path_prefix not in operation.path:
            continue
        ran += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(excluded_checks=excluded_checks, **auth)

        try:
            check()
        except Exception as exc:  # collect all operations' failures, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert ran, f"no operation under {path_prefix!r}"
    return failures


def test_every_operation_as_a_resident(api_schema):
    from rest_framework.authtoken.models import Token

    resident = ResidentFactory()
    SlotFactory()
    token = Token.objects.create(user=resident).key

    @api_schema.auth()
    class ResidentToken:
        """Given to schemathesis as the schema's bearer scheme, so its invalid-auth probes replace it."""

        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    failures = run_every_operation(api_schema, max_examples=12)

    assert failures == []


def test_every_operation_as_a_scheduler(api_schema):
    slot = SlotFactory()
    scheduler = staff(Role.SCHEDULER, slot.clinic)
    TOTP.activate(scheduler, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client = Client()
    login_with_second_factor(client, scheduler)

    failures = run_every_operation(api_schema, max_examples=6, cookies={"sessionid": client.cookies["sessionid"].value})

    assert failures == []


def test_every_proxy_operation_as_a_proxy_booker(api_schema):
    """The proxy API (R-TYPE-6) with generated bodies and queries as the caller it is for."""
    from clinics.models import AppointmentType

    slot = SlotFactory(appointment_type__internal_name="Ombud 1177")
    assert AppointmentType.objects.get(pk=slot.appointment_type_id).is_proxy
    booker = staff(Role.PROXY_BOOKER, slot.clinic, unit_name="1177 Vårdguiden på telefon")
    TOTP.activate(booker, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client = Client()
    login_with_second_factor(client, booker)

    # The session cookie goes with every call, the probes for ignored authentication too: they
    # would report the logged-in answer as one given to invalid credentials.
    failures = run_every_operation(
        api_schema,
        max_examples=12,
        path_prefix="/v1/proxy/",
        excluded_checks=[ignored_auth],
        cookies={"sessionid": client.cookies["sessionid"].value},
    )

    assert failures == []
