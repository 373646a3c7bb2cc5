"""The population register (folkbokföringen) as Tidbok asks it: who a personnummer is, where they
are registered, and which children they have in custody.

A backend is chosen with ``TIDBOK_POPULATION_REGISTER`` (a dotted class path). The interface is
what a Navet-style lookup (Skatteverket's register service, or the region's own copy of it)
answers for one personnummer; :class:`DemoPopulationRegister` answers from the demo persons in
``accounts/demo_population.json`` for ``make run`` and the tests. With no backend configured
every lookup answers "not known", and the home region comes from the e-ID claim alone.

The register is asked at each resident login (:func:`accounts.services.resident_register_refresh`);
a register that fails must never stop the login, so a backend raises
:class:`PopulationRegisterUnavailable` (or anything else) and the caller keeps what it knew.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

# The län (county) codes a home region can have: the region's code is matched against it (R-CASE-2).
COUNTY_CODES = frozenset(
    {"01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13", "14"}
    | {"17", "18", "19", "20", "21", "22", "23", "24", "25"}
)
DEMO_DATA = Path(__file__).resolve().parent / "demo_population.json"


class PopulationRegisterUnavailable(Exception):
    """The register did not answer (timeout, refused connection, a malformed answer). Its message
    must never contain the personnummer asked about: it may end up in a log line."""


@dataclass(frozen=True)
class Child:
    """A child the person has custody of (vårdnad), as the register lists it."""

    personnummer: str
    birth_date: dt.date
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class PersonRecord:
    """What the register says about one person. ``home_region_code`` is the county (län) code of
    the registered address, "" when the person is not registered in Sweden (a samordningsnummer, an
    emigrant). ``children_in_custody`` is there for guardians acting for their children."""

    personnummer: str
    first_name: str
    last_name: str
    home_region_code: str
    children_in_custody: tuple[Child, ...] = field(default=())


class PopulationRegister:
    """The interface a backend implements."""

    def lookup(self, *, personnummer: str) -> PersonRecord | None:
        """The record of a normalised 12-digit personnummer, or None when the register does not
        know it. Raises :class:`PopulationRegisterUnavailable` when the register cannot answer."""
        raise NotImplementedError


class NoPopulationRegister(PopulationRegister):
    """No register configured: nothing is known, nothing fails."""

    def lookup(self, *, personnummer: str) -> PersonRecord | None:
        return None


class DemoPopulationRegister(PopulationRegister):
    """The demo persons of ``make run``: development and tests only (the settings refuse it
    without DEBUG, so no real resident is ever matched against made-up persons)."""

    def __init__(self, path: Path = DEMO_DATA) -> None:
        self.path = path

    def lookup(self, *, personnummer: str) -> PersonRecord | None:
        for person in self._persons():
            if person.personnummer == personnummer:
                return person
        return None

    def _persons(self) -> list[PersonRecord]:
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PopulationRegisterUnavailable(f"demo register unreadable: {type(exc).__name__}") from None
        return [
            PersonRecord(
                personnummer=row["personnummer"],
                first_name=row["first_name"],
                last_name=row["last_name"],
                home_region_code=row.get("home_region_code", ""),
                children_in_custody=tuple(
                    Child(
                        personnummer=child["personnummer"],
                        birth_date=dt.date.fromisoformat(child["birth_date"]),
                        first_name=child.get("first_name", ""),
                        last_name=child.get("last_name", ""),
                    )
                    for child in row.get("children_in_custody", [])
                ),
            )
            for row in rows
        ]


@cache
def _backend_class(path: str) -> type[PopulationRegister]:
    return import_string(path) if path else NoPopulationRegister


def population_register() -> PopulationRegister:
    """The configured backend (``TIDBOK_POPULATION_REGISTER``)."""
    return _backend_class(settings.TIDBOK_POPULATION_REGISTER)()
