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


# One message for each thing that can be wrong, the same in every form, page and API that takes a
# personnummer. None of them repeats what was typed (R-SEC-3): a message can reach a log or a screen.
MESSAGE_EMPTY = _("Enter a personal identity number.")
MESSAGE_CHARACTERS = _("Use only the digits 0–9, and - or + before the last four.")
MESSAGE_LENGTH = _("A personal identity number has 12 digits, YYYYMMDD-NNNN, or 10, YYMMDD-NNNN.")
MESSAGE_FORMAT = _("Enter the personal identity number as YYYYMMDD-NNNN (12 digits).")
MESSAGE_PLUS_IN_LONG_FORM = _("Use '+' only with the short form YYMMDD+NNNN.")
MESSAGE_NO_SUCH_DATE = _("The date in the personal identity number does not exist.")
MESSAGE_FUTURE_DATE = _("The date in the personal identity number is in the future.")
MESSAGE_CHECK_DIGIT = _("The check digit is wrong. Check that the number is typed correctly.")

# Whatever a personnummer may hold besides ASCII digits: the separator. (Whitespace is dropped first.)
_OTHER_THAN_DIGITS_AND_SEPARATORS = re.compile(r"[^0-9+-]", re.ASCII)


def _invalid(message: StrOrPromise) -> ValidationFailed:
    return ValidationFailed({"personnummer": [message]})


def _shape_message(cleaned: str) -> StrOrPromise:
    """What is wrong with input the pattern refused: nothing typed, a character that has no place
    in a personnummer, too few or too many digits, or the separator in the wrong place."""
    if not cleaned:
        return MESSAGE_EMPTY
    if _OTHER_THAN_DIGITS_AND_SEPARATORS.search(cleaned):
        return MESSAGE_CHARACTERS
    if sum(char.isdigit() for char in cleaned) not in (10, 12):
        return MESSAGE_LENGTH
    return MESSAGE_FORMAT


def normalise_personnummer(raw: str, *, today: dt.date | None = None) -> str:
    """Return the 12-digit form, or raise ValidationFailed with a message saying what is wrong."""
    today = today or timezone.localdate()
    cleaned = re.sub(r"\s", "", raw or "")
    match = _PATTERN.match(cleaned)
    if not match:
        raise _invalid(_shape_message(cleaned))

    yymmdd = match["yymmdd"]
    year2, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if match["century"]:
        if match["sep"] == "+":
            raise _invalid(MESSAGE_PLUS_IN_LONG_FORM)
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
        raise _invalid(MESSAGE_NO_SUCH_DATE) from None
    if birth_date > today:
        raise _invalid(MESSAGE_FUTURE_DATE)

    ten = yymmdd + match["serial"] + match["check"]
    if luhn_check_digit(ten[:9]) != int(ten[9]):
        raise _invalid(MESSAGE_CHECK_DIGIT)
    return f"{year:04d}{month:02d}{day:02d}{match['serial']}{match['check']}"


def is_coordination_number(normalised: str) -> bool:
    return int(normalised[6:8]) > 60


def birth_date_of(normalised: str) -> dt.date:
    day = int(normalised[6:8])
    return dt.date(int(normalised[:4]), int(normalised[4:6]), day - 60 if day > 60 else day)


def format_personnummer(normalised: str) -> str:
    """The display form used in Swedish healthcare: YYYYMMDD-NNNN."""
    return f"{normalised[:8]}-{normalised[8:]}"
