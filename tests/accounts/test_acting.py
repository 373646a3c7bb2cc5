"""Custody from the population register (R-GUARD-1) and the regional age limit, ending at local
midnight of the birthday (R-GUARD-3); "Boka för" accepts only whom the rules allow."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from accounts.acting import (
    ACTING_SESSION_KEY,
    acting_options,
    acting_resolve,
    children_of,
    guardian_access_ends,
)
from accounts.models import ActingAs, AuditEvent, Custody, User
from accounts.population_register import Child, PersonRecord, PopulationRegister
from accounts.services import custody_refresh, resident_register_refresh
from bookings.models import CalendarFeed
from schedules.selectors import LOCAL_TZ

from ..factories import ResidentFactory, make_personnummer
from ..pages import found, sv_gettext, text

pytestmark = pytest.mark.django_db

ANNA, ALVA, VIDAR = "198503142385", "201806122386", "201103042436"
DEMO = "accounts.population_register.DemoPopulationRegister"


class ChildlessRegister(PopulationRegister):
    """The register after a custody ended: Anna is known, with no children."""

    def lookup(self, *, personnummer: str) -> PersonRecord | None:
        return PersonRecord(personnummer=personnummer, first_name="Anna", last_name="Andersson", home_region_code="01")


def _custodies(guardian: User, *children: tuple[dt.date, str]) -> list[Custody]:
    """The register lists these children (birth date, home region) for ``guardian``."""
    made = [
        ResidentFactory(personnummer=make_personnummer(birth), first_name="Barn", home_region_code=region)
        for birth, region in children
    ]
    record = PersonRecord(
        personnummer=guardian.personnummer or "",
        first_name=guardian.first_name,
        last_name=guardian.last_name,
        home_region_code="01",
        children_in_custody=tuple(
            Child(personnummer=child.personnummer or "", birth_date=birth)
            for child, (birth, _region) in zip(made, children, strict=True)
        ),
    )
    custody_refresh(guardian=guardian, record=record)
    return [Custody.objects.get(guardian=guardian, child=child) for child in made]


def _custody(guardian: User, birth: dt.date, region: str = "01") -> Custody:
    return _custodies(guardian, (birth, region))[0]


def test_custody_comes_from_the_register_at_login_and_children_get_resident_rows_R_GUARD_1(client, settings):
    """R-GUARD-1: the guardian's login reads the children from the register; a child who never
    used Tidbok gets a resident row with the register's name and region, nothing typed."""
    settings.TIDBOK_DEV_LOGIN = True
    settings.TIDBOK_POPULATION_REGISTER = DEMO
    assert not User.objects.filter(personnummer__in=[ALVA, VIDAR]).exists()

    response = client.post(reverse("dev_login"), {"personnummer": "19850314-2385"})

    assert response.status_code == 302
    anna = User.objects.get(personnummer=ANNA)
    custodies = {c.child.personnummer: c for c in Custody.objects.filter(guardian=anna).select_related("child")}
    assert set(custodies) == {ALVA, VIDAR}
    alva = custodies[ALVA].child
    assert (alva.first_name, alva.last_name, alva.home_region_code) == ("Alva", "Andersson", "01")
    assert custodies[ALVA].child_birth_date == dt.date(2018, 6, 12)
    assert AuditEvent.objects.filter(actor=anna, action="custody.registered").count() == 2


def test_a_custody_the_register_no_longer_lists_ends_at_the_next_login_R_GUARD_1(settings):
    settings.TIDBOK_POPULATION_REGISTER = DEMO
    anna = ResidentFactory(personnummer=ANNA)
    resident_register_refresh(resident=anna)
    assert Custody.objects.filter(guardian=anna).count() == 2

    settings.TIDBOK_POPULATION_REGISTER = f"{__name__}.ChildlessRegister"
    resident_register_refresh(resident=anna)

    assert not Custody.objects.filter(guardian=anna).exists()
    assert AuditEvent.objects.filter(actor=anna, action="custody.ended").count() == 2


def test_a_register_that_fails_keeps_the_known_custody_R_GUARD_1(settings):
    settings.TIDBOK_POPULATION_REGISTER = DEMO
    anna = ResidentFactory(personnummer=ANNA)
    resident_register_refresh(resident=anna)

    settings.TIDBOK_POPULATION_REGISTER = "tests.accounts.test_home_region.BrokenRegister"
    resident_register_refresh(resident=anna)

    assert Custody.objects.filter(guardian=anna).count() == 2


def test_guardian_access_ends_at_local_midnight_of_the_13th_birthday_R_GUARD_3(time_machine, resident):
    """R-GUARD-3: one second before midnight (Europe/Stockholm) of the birthday the guardian still
    acts for the child; at midnight no more — in the selector and in the options offered."""
    custody = _custody(resident, dt.date(2014, 6, 10))
    midnight = dt.datetime(2027, 6, 10, 0, 0, tzinfo=LOCAL_TZ)
    assert guardian_access_ends(birth_date=custody.child_birth_date, region_code="01") == midnight

    time_machine.move_to(midnight - dt.timedelta(seconds=1), tick=False)
    acting = acting_resolve(actor=resident, patient_id=custody.child_id)
    assert acting is not None and acting.acting_as == ActingAs.GUARDIAN
    assert custody.child_id in {o.patient.pk for o in acting_options(actor=resident)}

    time_machine.move_to(midnight, tick=False)
    assert acting_resolve(actor=resident, patient_id=custody.child_id) is None
    assert custody.child_id not in {o.patient.pk for o in acting_options(actor=resident)}
    (access,) = children_of(guardian=resident)
    assert not access.allowed and access.age_limit == 13 and access.last_day == dt.date(2027, 6, 9)


def test_a_region_may_choose_another_age_limit_R_GUARD_3(settings, time_machine, resident):
    settings.TIDBOK_GUARDIAN_AGE_LIMIT_BY_REGION = {"03": 16}
    time_machine.move_to(dt.datetime(2026, 11, 30, 12, 0, tzinfo=LOCAL_TZ), tick=False)
    # Both 15 years old, one registered in Uppsala (16), one in Stockholm (the default, 13).
    in_uppsala, in_stockholm = _custodies(resident, (dt.date(2011, 3, 4), "03"), (dt.date(2011, 3, 5), "01"))

    assert acting_resolve(actor=resident, patient_id=in_uppsala.child_id) is not None
    assert acting_resolve(actor=resident, patient_id=in_stockholm.child_id) is None


def test_custody_ending_at_midnight_mid_session_drops_the_choice_and_refuses_a_stale_form_R_GUARD_3(
    client, time_machine, resident
):
    """R-GUARD-3 across the boundary, as a session sees it: chosen before midnight, the next page
    after it shows the guardian's own pages with a message, and a form from the earlier page is
    refused (403) and changes nothing."""
    custody = _custody(resident, dt.date(2014, 6, 10))
    time_machine.move_to(dt.datetime(2027, 6, 9, 23, 59, tzinfo=LOCAL_TZ), tick=False)
    client.force_login(resident)
    assert client.post(reverse("acting_choose"), {"patient": custody.child_id}).status_code == 302
    assert client.session[ACTING_SESSION_KEY] == custody.child_id
    page = text(client.get(reverse("bookings:start")))
    assert found(r'class="acting-bar__who"[^>]*><strong>([^<]*)</strong>', page)[1].endswith("Barn Andersson")

    time_machine.move_to(dt.datetime(2027, 6, 10, 0, 0, 1, tzinfo=LOCAL_TZ), tick=False)
    stale = client.post(reverse("bookings:calendar"), {"action": "create", "acting_for": custody.child_id})

    assert stale.status_code == 403
    assert sv_gettext("Nothing was changed") in text(stale)
    assert not CalendarFeed.objects.filter(resident=custody.child).exists()
    assert ACTING_SESSION_KEY not in client.session
    page = text(client.get(reverse("bookings:start")))
    assert 'class="acting-bar__who"' not in page
    assert found(r"<h1>([^<]*)</h1>", page)[1] == "Välkommen Anna"


def test_book_for_refuses_a_child_over_the_limit_and_a_stranger(client, resident, other_resident):
    over = _custody(resident, dt.date(2000, 1, 1))
    client.force_login(resident)

    for patient in (over.child_id, other_resident.pk, "x"):
        client.post(reverse("acting_choose"), {"patient": patient})
        assert ACTING_SESSION_KEY not in client.session
