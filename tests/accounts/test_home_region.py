"""The resident's home region (R-CASE-2): read at each login from the population register and the
e-ID provider's claim; a register that fails never stops a login; a resident whose region-only
e-services are withheld is told why and whom to call (R-CASE-3)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from accounts.adapters import AccountAdapter
from accounts.eid import EidProvider
from accounts.models import User
from accounts.population_register import (
    DemoPopulationRegister,
    PersonRecord,
    PopulationRegister,
    PopulationRegisterUnavailable,
)
from accounts.services import resident_register_refresh
from bookings.management.commands.seed_demo import RESIDENTS, UNKNOWN_REGION_RESIDENT
from clinics.models import Area, CaseKind, CaseType, RelationSource
from clinics.services import relation_add

from ..factories import ResidentFactory
from ..pages import text

ROOT = Path(__file__).resolve().parents[2]
PNR_CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"
REGION_CLAIM = "https://claims.example.se/county"
ANNA = "198503142385"
DEMO = "accounts.population_register.DemoPopulationRegister"
UNKNOWN_TEXT = "Vi vet inte vilken region du är folkbokförd i"
ELSEWHERE_TEXT = "Enligt folkbokföringen är du folkbokförd i en annan region."


class BrokenRegister(PopulationRegister):
    def lookup(self, *, personnummer: str) -> PersonRecord | None:
        raise PopulationRegisterUnavailable("timeout")


class CrashingRegister(PopulationRegister):
    def lookup(self, *, personnummer: str) -> PersonRecord | None:
        raise RuntimeError(f"connection reset while asking about {personnummer}")


@pytest.fixture
def demo_register(settings):
    settings.TIDBOK_POPULATION_REGISTER = DEMO


def _login(resident: User, claims: dict, settings) -> None:
    """An e-ID login of ``resident`` as allauth completes it: the provider's extra data as stored,
    then the account adapter's post_login."""
    provider = EidProvider.__new__(EidProvider)
    extra = provider.extract_extra_data({"userinfo": {"sub": "s1", PNR_CLAIM: resident.personnummer, **claims}})
    sociallogin = SocialLogin(user=resident, account=SocialAccount(provider="eid", uid="s1", extra_data=extra))
    request: Any = RequestFactory().get("/")  # a bare request, given the session and messages a login uses
    request.session = {}
    request._messages = FallbackStorage(request)
    request.user = resident
    AccountAdapter().post_login(
        request,
        resident,
        redirect_url="/start/",
        signal_kwargs={"sociallogin": sociallogin},
        email_verification="none",
        email=None,
        signup=False,
    )


# --- The population register ---------------------------------------------------------------------


def test_the_demo_register_knows_anna_as_guardian_of_a_child_under_13_and_one_over():
    record = DemoPopulationRegister().lookup(personnummer=ANNA)

    assert record is not None and (record.first_name, record.home_region_code) == ("Anna", "01")
    ages = sorted((dt.date(2026, 11, 30) - child.birth_date).days // 365 for child in record.children_in_custody)
    assert len(ages) == 2 and ages[0] < 13 <= ages[1]
    assert all(len(child.personnummer) == 12 for child in record.children_in_custody)
    assert DemoPopulationRegister().lookup(personnummer=UNKNOWN_REGION_RESIDENT) is None


def test_the_demo_residents_home_regions_are_the_registers(db):
    call_command("seed_demo")

    register = DemoPopulationRegister()
    for pnr, _first, _last, region_code, _email in RESIDENTS:
        record = register.lookup(personnummer=pnr)
        assert (
            record is not None
            and record.home_region_code == region_code == User.objects.get(personnummer=pnr).home_region_code
        )
    assert User.objects.get(personnummer=UNKNOWN_REGION_RESIDENT).home_region_code == ""


@pytest.mark.django_db
def test_an_e_id_login_sets_the_home_region_from_the_register(settings, demo_register):
    anna = ResidentFactory(personnummer=ANNA, home_region_code="")

    _login(anna, {}, settings)

    anna.refresh_from_db()
    assert anna.home_region_code == "01"


@pytest.mark.django_db
def test_without_a_register_the_configured_claim_sets_the_home_region(settings):
    settings.TIDBOK_POPULATION_REGISTER = ""
    settings.TIDBOK_EID_HOME_REGION_CLAIM = REGION_CLAIM
    resident = ResidentFactory(home_region_code="")

    _login(resident, {REGION_CLAIM: "03"}, settings)

    resident.refresh_from_db()
    assert resident.home_region_code == "03"


@pytest.mark.django_db
def test_the_claim_is_neither_kept_nor_read_unless_configured(settings):
    settings.TIDBOK_POPULATION_REGISTER = ""
    settings.TIDBOK_EID_HOME_REGION_CLAIM = ""
    resident = ResidentFactory(home_region_code="")
    provider = EidProvider.__new__(EidProvider)

    _login(resident, {REGION_CLAIM: "03"}, settings)

    resident.refresh_from_db()
    assert resident.home_region_code == ""
    assert REGION_CLAIM not in provider.extract_extra_data({"userinfo": {REGION_CLAIM: "03"}})["userinfo"]


@pytest.mark.django_db
def test_the_register_outranks_the_claim(settings, demo_register):
    settings.TIDBOK_EID_HOME_REGION_CLAIM = REGION_CLAIM
    anna = ResidentFactory(personnummer=ANNA, home_region_code="")

    _login(anna, {REGION_CLAIM: "14"}, settings)

    anna.refresh_from_db()
    assert anna.home_region_code == "01"


@pytest.mark.django_db
@pytest.mark.parametrize("claim", ["99", "AB", "", "0101", {"code": "01"}])
def test_a_claim_that_is_no_county_code_changes_nothing(settings, claim):
    settings.TIDBOK_POPULATION_REGISTER = ""
    resident = ResidentFactory(home_region_code="03")

    resident_register_refresh(resident=resident, claimed_region=claim)

    resident.refresh_from_db()
    assert resident.home_region_code == "03"


@pytest.mark.django_db
@pytest.mark.parametrize("backend", [BrokenRegister, CrashingRegister])
def test_a_failing_register_keeps_the_last_known_region_and_logs_no_personnummer(settings, caplog, backend):
    settings.TIDBOK_POPULATION_REGISTER = f"{__name__}.{backend.__name__}"
    settings.TIDBOK_EID_HOME_REGION_CLAIM = REGION_CLAIM
    resident = ResidentFactory(home_region_code="01")

    with caplog.at_level(logging.WARNING):
        _login(resident, {}, settings)  # the login completes: no exception

    resident.refresh_from_db()
    assert resident.home_region_code == "01"
    assert "population register unavailable" in caplog.text
    assert resident.personnummer is not None
    assert resident.personnummer not in caplog.text and resident.personnummer[2:8] not in caplog.text


@pytest.mark.django_db
def test_a_failing_register_still_lets_a_claim_through(settings):
    settings.TIDBOK_POPULATION_REGISTER = f"{__name__}.BrokenRegister"
    resident = ResidentFactory(home_region_code="")

    resident_register_refresh(resident=resident, claimed_region="3")

    resident.refresh_from_db()
    assert resident.home_region_code == "03"


def test_the_development_login_refreshes_from_the_register(client, settings, demo_register, db):
    settings.TIDBOK_DEV_LOGIN = True

    response = client.post(reverse("dev_login"), {"personnummer": "19850314-2385"})

    assert response.status_code == 302
    anna = User.objects.get(personnummer=ANNA)
    assert (anna.first_name, anna.home_region_code) == ("Anna", "01")


def test_the_demo_register_is_refused_outside_debug():
    env = {**os.environ, "DEBUG": "0", "TIDBOK_POPULATION_REGISTER": DEMO, "DJANGO_SETTINGS_MODULE": "tidbok.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.INSTALLED_APPS"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "TIDBOK_POPULATION_REGISTER" in result.stderr


# --- Told why, and whom to call (R-CASE-3) ------------------------------------------------------


@pytest.fixture
def region_only(clinic):
    CaseType.objects.filter(clinic=clinic).update(area=Area.REGION)
    return clinic


def test_a_resident_with_no_known_region_is_told_why_and_whom_to_call(client, region_only):
    resident = ResidentFactory(home_region_code="")
    client.force_login(resident)

    content = text(client.get(reverse("clinics:detail", args=[region_only.pk])))

    assert UNKNOWN_TEXT in content
    assert f"Ring mottagningen på {region_only.phone} för att boka en tid." in content
    assert "bara för invånare som är folkbokförda i Region Stockholm" in content
    assert reverse("bookings:book_conditions", args=[region_only.pk]) not in content  # still withheld


def test_a_resident_of_another_region_is_told_so(client, region_only):
    client.force_login(ResidentFactory(home_region_code="14"))

    content = text(client.get(reverse("clinics:detail", args=[region_only.pk])))

    assert ELSEWHERE_TEXT in content and UNKNOWN_TEXT not in content


def test_a_resident_of_the_region_sees_the_services_and_no_notice(client, region_only):
    client.force_login(ResidentFactory(home_region_code="01"))

    content = text(client.get(reverse("clinics:detail", args=[region_only.pk])))

    assert reverse("bookings:book_conditions", args=[region_only.pk]) in content
    assert "data-region-notice" not in content


def test_no_notice_for_a_service_withheld_for_another_reason(client, clinic):
    # Inactive, and country-wide ones: the notice speaks only of the home region.
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(area=Area.REGION, is_active=False)
    client.force_login(ResidentFactory(home_region_code=""))

    content = text(client.get(reverse("clinics:detail", args=[clinic.pk])))

    assert "data-region-notice" not in content


def test_the_start_page_names_the_clinic_whose_services_are_withheld(client, region_only, other_clinic):
    resident = ResidentFactory(home_region_code="")
    relation_add(resident=resident, clinic=region_only, source=RelationSource.START_PAGE)
    relation_add(resident=resident, clinic=other_clinic, source=RelationSource.START_PAGE)
    client.force_login(resident)

    content = text(client.get(reverse("bookings:start")))

    assert "E-tjänster som du inte erbjuds" in content
    assert f"<h3>{region_only.name}</h3>" in content and f"<h3>{other_clinic.name}</h3>" not in content
    assert UNKNOWN_TEXT in content


def test_the_notice_is_in_english_when_chosen(client, region_only):
    client.force_login(ResidentFactory(home_region_code=""))
    client.cookies["django_language"] = "en"

    content = text(client.get(reverse("clinics:detail", args=[region_only.pk])))

    assert "We do not know which region you are registered in" in content
