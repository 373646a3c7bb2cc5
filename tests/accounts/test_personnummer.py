"""Personnummer and samordningsnummer (R-AUTH-4): formats, date, Luhn, day + 60, stored as 12 digits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.personnummer import (
    birth_date_of,
    format_personnummer,
    is_coordination_number,
    luhn_check_digit,
    normalise_personnummer,
)
from accounts.services import resident_get_or_create
from core.errors import ErrorCode, ValidationFailed

TODAY = dt.date(2025, 6, 1)


def _luhn(digits: str) -> int:
    """An independent Luhn check digit over the nine digits YYMMDDNNN (weights 2,1,2,...)."""
    total = 0
    for position, char in enumerate(digits):
        product = int(char) * (2 - position % 2)
        total += sum(int(d) for d in str(product))
    return (10 - total % 10) % 10


def _valid(yyyymmdd: str, serial: str = "123") -> str:
    """A 12-digit number with a correct check digit for the given date (day may be +60)."""
    return f"{yyyymmdd}{serial}{_luhn(yyyymmdd[2:] + serial)}"


def _refused(raw: str, today: dt.date = TODAY) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as exc:
        normalise_personnummer(raw, today=today)
    assert exc.value.code == ErrorCode.INVALID_INPUT
    assert "personnummer" in exc.value.field_errors
    return exc.value


# --- Formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["811218-9876", "19811218-9876", "198112189876", " 811218-9876 ", "19811218 9876"])
def test_accepted_formats_normalise_to_twelve_digits(raw):
    assert normalise_personnummer(raw, today=TODAY) == "198112189876"


def test_well_known_test_number_is_accepted_in_long_and_short_form():
    # Skatteverket's "Tolvan Tolvansson", born 1912-12-12: over 100 years old, so '+' in the short form.
    assert normalise_personnummer("19121212-1212", today=TODAY) == "191212121212"
    assert normalise_personnummer("121212+1212", today=TODAY) == "191212121212"


def test_short_form_with_minus_means_the_latest_year_not_in_the_future():
    assert normalise_personnummer("121212-1212", today=TODAY) == "201212121212"


def test_short_form_century_rolls_back_for_a_year_later_than_this_year():
    number = _valid("19300101")  # "300101" is 1930, since 2030 is in the future
    assert normalise_personnummer(f"{number[2:8]}-{number[8:]}", today=TODAY) == number


def test_short_form_of_this_year_stays_in_this_century():
    number = _valid("20250101")
    assert normalise_personnummer(f"{number[2:8]}-{number[8:]}", today=TODAY) == number


def test_plus_in_short_form_means_a_hundred_years_earlier():
    number = _valid("19300101")
    short = number[2:8]
    assert normalise_personnummer(f"{short}+{number[8:]}", today=TODAY) == "18" + number[2:]


def test_plus_is_refused_with_the_long_form():
    _refused("19121212+1212")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abc",
        "81121-9876",
        "8112189876-",
        "19811218-98765",
        "1981121898",
        "811218--9876",
        "811218/9876",
        "8112189x76",
    ],
)
def test_malformed_input_is_refused(raw):
    _refused(raw)


def test_ten_digits_without_separator_are_read_as_the_short_form():
    assert normalise_personnummer("8112189876", today=TODAY) == "198112189876"


# --- Luhn check digit ----------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", ["811218-9875", "811218-9877", "19811218-9870", "19121212-1213"])
def test_wrong_check_digit_is_refused(wrong):
    _refused(wrong)


def test_check_digit_is_computed_over_the_ten_digit_form():
    assert luhn_check_digit("811218987") == 6
    assert luhn_check_digit("121212121") == 2
    for nine in ("000101000", "991231999", "850314123", "701063239"):
        assert luhn_check_digit(nine) == _luhn(nine)


def test_every_wrong_check_digit_is_refused_and_only_the_right_one_accepted():
    base = "19850314" + "123"
    right = _luhn(base[2:])
    for digit in range(10):
        raw = f"{base}{digit}"
        if digit == right:
            assert normalise_personnummer(raw, today=TODAY) == raw
        else:
            _refused(raw)


# --- Dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("yyyymmdd", ["19810230", "19811301", "19810001", "19810100", "19810431", "19810229"])
def test_impossible_date_is_refused_even_with_a_correct_check_digit(yyyymmdd):
    _refused(_valid(yyyymmdd))


def test_leap_day_is_accepted_in_a_leap_year():
    number = _valid("19800229")
    assert normalise_personnummer(number, today=TODAY) == number


def test_date_in_the_future_is_refused():
    _refused(_valid("20250602"), today=TODAY)


def test_today_is_accepted():
    number = _valid("20250601")
    assert normalise_personnummer(number, today=TODAY) == number


# --- Samordningsnummer (day + 60) --------------------------------------------------------------


def test_coordination_number_is_accepted_and_keeps_day_plus_sixty():
    assert normalise_personnummer("701063-2391", today=TODAY) == "197010632391"
    assert is_coordination_number("197010632391") is True
    assert birth_date_of("197010632391") == dt.date(1970, 10, 3)


def test_ordinary_personnummer_is_not_a_coordination_number():
    assert is_coordination_number("198112189876") is False
    assert birth_date_of("198112189876") == dt.date(1981, 12, 18)


@pytest.mark.parametrize("yyyymmdd", ["19810161", "19810191", "19800289", "19811291"])
def test_valid_coordination_days_are_accepted(yyyymmdd):
    number = _valid(yyyymmdd)
    assert normalise_personnummer(number, today=TODAY) == number


@pytest.mark.parametrize("yyyymmdd", ["19810192", "19810289", "19810491", "19810199"])
def test_impossible_coordination_day_is_refused(yyyymmdd):
    _refused(_valid(yyyymmdd))


def test_coordination_number_with_wrong_check_digit_is_refused():
    _refused("701063-2392")


def test_display_form_is_eight_digits_dash_four():
    assert format_personnummer("198112189876") == "19811218-9876"


# --- Stored normalised --------------------------------------------------------------------------


@pytest.mark.django_db
def test_resident_is_stored_with_twelve_digits_whatever_form_was_typed():
    user, created = resident_get_or_create(personnummer="811218-9876", first_name="Anna")

    user.refresh_from_db()
    assert created is True
    assert user.personnummer == "198112189876"
    assert user.is_resident is True
    assert user.personnummer_display == "19811218-9876"


@pytest.mark.django_db
def test_every_accepted_form_finds_the_same_resident():
    first, created = resident_get_or_create(personnummer="19811218-9876")
    assert created is True

    for raw in ("811218-9876", "198112189876", "19811218-9876", "8112189876"):
        user, created_again = resident_get_or_create(personnummer=raw)
        assert user.pk == first.pk
        assert created_again is False
    assert User.objects.filter(personnummer="198112189876").count() == 1


@pytest.mark.django_db
def test_coordination_number_resident_is_stored_normalised():
    user, _ = resident_get_or_create(personnummer="701063-2391")

    user.refresh_from_db()
    assert user.personnummer == "197010632391"


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["811218-9875", "19810230-0000", "hello", ""])
def test_invalid_personnummer_creates_no_resident(raw):
    count = User.objects.count()

    with pytest.raises(ValidationFailed) as exc:
        resident_get_or_create(personnummer=raw)

    assert "personnummer" in exc.value.field_errors
    assert User.objects.count() == count


@pytest.mark.django_db
@pytest.mark.parametrize(
    "stored", ["811218-9876", "8112189876", "19811218987", "19811218987x", "19811218-987", "1981 1218987"]
)
def test_database_refuses_a_personnummer_that_is_not_twelve_digits(stored):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username=f"raw-{stored}", personnummer=stored)


@pytest.mark.django_db
def test_database_allows_staff_without_personnummer():
    user = User.objects.create(username="staff-without-pnr", personnummer=None)

    assert user.is_resident is False


# --- Only ASCII digits (R-SEC-6) --------------------------------------------------------------------

_OTHER_DIGITS = {
    "Arabic-Indic": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
    "fullwidth": str.maketrans("0123456789", "０１２３４５６７８９"),
    "Devanagari": str.maketrans("0123456789", "०१२३४५६७८९"),
}


@pytest.mark.parametrize("script", sorted(_OTHER_DIGITS))
@pytest.mark.parametrize("form", ["{long}", "{date}-{last}", "{short}-{last}"])
def test_digits_of_other_scripts_are_refused_with_the_characters_message(script, form):
    # A valid number in ASCII, written with another script's digits (re's \d and int() accept them).
    number = _valid("19850314", "100")
    typed = form.format(long=number, date=number[:8], short=number[2:8], last=number[8:])

    assert normalise_personnummer(typed, today=TODAY) == number
    error = _refused(typed.translate(_OTHER_DIGITS[script]))

    assert str(error.field_errors["personnummer"][0]) == "Använd bara siffrorna 0–9, och - eller + före de fyra sista."


@pytest.mark.django_db
def test_a_number_in_arabic_indic_digits_creates_no_resident_and_no_server_error():
    count = User.objects.count()
    typed = _valid("19850314", "100").translate(_OTHER_DIGITS["Arabic-Indic"])

    with pytest.raises(ValidationFailed):
        resident_get_or_create(personnummer=typed)

    assert User.objects.count() == count
