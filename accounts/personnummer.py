"""Swedish personal identity numbers (R-AUTH-4).

Accepts the forms people actually type — ``YYMMDD-NNNN``, ``YYMMDD+NNNN`` (100 years or
older), ``YYYYMMDDNNNN``, ``YYYYMMDD-NNNN`` — and normalises them to 12 digits. A
samordningsnummer (coordination number) is the same with 60 added to the day.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed

# ASCII digits only (R-SEC-6): ``\d`` also matches Arabic-Indic and fullwidth digits, which int()
# reads, so such a number passed every check and then broke the 12-digit constraint on save.
_PATTERN = re.compile(r"^(?P<century>\d{2})?(?P<yymmdd>\d{6})(?P<sep>[-+]?)(?P<serial>\d{3})(?P<check>\d)$", re.ASCII)


def luhn_check_digit(nine_digits: str) -> int:
    total = 0
    for index, char in enumerate(nine_digits):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _invalid(message: StrOrPromise) -> ValidationFailed:
    return ValidationFailed({"personnummer": [message]})


def normalise_personnummer(raw: str, *, today: dt.date | None = None) -> str:
    """Return the 12-digit form, or raise ValidationFailed with a message saying what is wrong."""
    today = today or timezone.localdate()
    cleaned = re.sub(r"\s", "", raw or "")
    match = _PATTERN.match(cleaned)
    if not match:
        raise _invalid(_("Enter the personal identity number as YYYYMMDD-NNNN (12 digits)."))

    yymmdd = match["yymmdd"]
    year2, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if match["century"]:
        if match["sep"] == "+":
            raise _invalid(_("Use '+' only with the short form YYMMDD+NNNN."))
        year = int(match["century"] + yymmdd[:2])
    else:
        # The short form leaves the century to the reader: the latest year not in the
        # future, and a further hundred years back when written with '+'.
        year = (today.year // 100) * 100 + year2
        if year > today.year:
            year -= 100
        if match["sep"] == "+":
            year -= 100

    birth_day = day - 60 if day > 60 else day
    try:
        birth_date = dt.date(year, month, birth_day)
    except ValueError:
        raise _invalid(_("The date in the personal identity number does not exist.")) from None
    if birth_date > today:
        raise _invalid(_("The date in the personal identity number is in the future."))

    ten = yymmdd + match["serial"] + match["check"]
    if luhn_check_digit(ten[:9]) != int(ten[9]):
        raise _invalid(_("The check digit is wrong. Check that the number is typed correctly."))
    return f"{year:04d}{month:02d}{day:02d}{match['serial']}{match['check']}"


def is_coordination_number(normalised: str) -> bool:
    return int(normalised[6:8]) > 60


def birth_date_of(normalised: str) -> dt.date:
    day = int(normalised[6:8])
    return dt.date(int(normalised[:4]), int(normalised[4:6]), day - 60 if day > 60 else day)


def format_personnummer(normalised: str) -> str:
    """The display form used in Swedish healthcare: YYYYMMDD-NNNN."""
    return f"{normalised[:8]}-{normalised[8:]}"
