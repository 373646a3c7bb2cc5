"""Request parameters, parsed strictly in one place (R-SEC-6: bad input is a 400, never a 500).

Every date, month, week, instant and number a page, an API view or a FHIR search reads from the
request goes through a parser here, a form field here, or the serializer field here. They accept
ASCII digits only (``\\d`` and ``int()`` also take Arabic-Indic or fullwidth digits, and
``str.isdigit()`` even takes "²", which ``int()`` then refuses) and dates between
:data:`DATE_MIN` and :data:`DATE_MAX`: the views add days and weeks to what they parse, and that
overflows next to year 1 and year 9999. A refused value raises :class:`BadParameter`, which
:class:`BadInputMiddleware` answers with 400 and the message in the visitor's language (problem
details on the API, an OperationOutcome under /fhir/, a page elsewhere).

The middleware also refuses a NUL byte in the path or the query string: PostgreSQL cannot store or
compare one, so it would fail deep inside a query. Forms refuse it in their fields.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Wide enough for any real timebook, log or birth date; far enough from year 1 and 9999 that
# adding a day, a week or a month (or a time zone offset) never overflows.
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)
# Database ids are 64-bit; a longer number can name nothing.
ID_MAX = 2**63 - 1

_DIGITS = re.compile(r"[0-9]{1,19}")
_DATE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")
_MONTH = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})")
_WEEK = re.compile(r"(?P<year>[0-9]{4})-?[Ww](?P<week>[0-9]{1,2})")
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})"
)

DATE_RANGE_MESSAGE = _("Choose a date from 1900 to 2999.")
NUL_MESSAGE = _("The request contains a character that is not allowed.")


class BadParameter(BadRequest):
    """A request parameter that cannot be used as it is. Nothing was read or changed."""

    def __init__(self, name: str, message: StrOrPromise) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def date_in_range(day: dt.date) -> bool:
    return DATE_MIN <= day <= DATE_MAX


def parse_id(raw: str | None, *, name: str) -> int:
    """A database id: ASCII digits, 1 to 2^63-1."""
    value = (raw or "").strip()
    if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= ID_MAX:
        raise BadParameter(name, _("Give a whole number (an id)."))
    return int(value)


def optional_id(raw: str | None) -> int | None:
    """An id if the value is one, else None (for choices a view may simply ignore)."""
    try:
        return parse_id(raw, name="id")
    except BadParameter:
        return None


def parse_int(raw: str | None, *, name: str, minimum: int, maximum: int) -> int:
    """A whole number of ASCII digits between ``minimum`` and ``maximum`` (both ≥ 0)."""
    value = (raw or "").strip()
    if not _DIGITS.fullmatch(value) or not minimum <= int(value) <= maximum:
        raise BadParameter(name, _("Give a whole number from %(min)d to %(max)d.") % {"min": minimum, "max": maximum})
    return int(value)


def parse_date(raw: str | None, *, name: str) -> dt.date:
    """A day written YYYY-MM-DD, between DATE_MIN and DATE_MAX."""
    match = _DATE.fullmatch((raw or "").strip())
    if match is None:
        raise BadParameter(name, _("Enter the date as YYYY-MM-DD."))
    try:
        day = dt.date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        raise BadParameter(name, _("That date does not exist.")) from None
    if not date_in_range(day):
        raise BadParameter(name, DATE_RANGE_MESSAGE)
    return day


def parse_month(raw: str | None, *, name: str) -> dt.date:
    """The first day of a month written YYYY-MM, between DATE_MIN and DATE_MAX."""
    match = _MONTH.fullmatch((raw or "").strip())
    if match is None or not 1 <= int(match["month"]) <= 12:
        raise BadParameter(name, _("Write the month as YYYY-MM."))
    first = dt.date(int(match["year"]), int(match["month"]), 1)
    if not date_in_range(first):
        raise BadParameter(name, DATE_RANGE_MESSAGE)
    return first


def parse_week(raw: str | None, *, name: str) -> dt.date:
    """The Monday of an ISO week written YYYY-Www, between DATE_MIN and DATE_MAX."""
    match = _WEEK.fullmatch((raw or "").strip())
    if match is None:
        raise BadParameter(name, _("Write the week as YYYY-Www, for example 2026-W05."))
    try:
        monday = dt.date.fromisocalendar(int(match["year"]), int(match["week"]), 1)
    except ValueError:
        raise BadParameter(name, _("That week does not exist.")) from None
    if not (date_in_range(monday) and date_in_range(monday + dt.timedelta(days=6))):
        raise BadParameter(name, DATE_RANGE_MESSAGE)
    return monday


def parse_instant(raw: str | None, *, name: str) -> dt.datetime:
    """A moment with its time zone (e.g. 2026-03-01T08:00:00Z or +01:00), between DATE_MIN and
    DATE_MAX. A '+' sent unencoded arrives as a space and is taken back."""
    value = (raw or "").strip().replace(" ", "+")
    if not _INSTANT.fullmatch(value):
        raise BadParameter(name, _("Write the time as an instant with a time zone, e.g. 2026-03-01T08:00:00Z."))
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(name, _("That time does not exist.")) from None
    if not date_in_range(moment.date()):
        raise BadParameter(name, DATE_RANGE_MESSAGE)
    return moment


def has_nul(value: str) -> bool:
    return "\x00" in value


# --- Form and serializer fields --------------------------------------------------------------------


class DateField(forms.DateField):
    """A form's date field that refuses far-off years with a message, not an overflow later."""

    default_error_messages = {"out_of_range": DATE_RANGE_MESSAGE}

    def to_python(self, value: Any) -> dt.date | None:
        day = super().to_python(value)
        if day is not None and not date_in_range(day):
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        return day


class WeekField(forms.CharField):
    """An ISO week, YYYY-Www; cleaned to its Monday."""

    def clean(self, value: Any) -> dt.date | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return parse_week(text, name="week")
        except BadParameter as exc:
            raise forms.ValidationError(exc.message, code="invalid") from None


class ApiDateField(serializers.DateField):
    """An API date parameter (YYYY-MM-DD) between DATE_MIN and DATE_MAX."""

    default_error_messages = {"out_of_range": DATE_RANGE_MESSAGE}

    def to_internal_value(self, value: Any) -> dt.date:
        day = super().to_internal_value(value)
        if not date_in_range(day):
            self.fail("out_of_range")
        return day


class ApiDateTimeField(serializers.DateTimeField):
    """An API instant whose date lies between DATE_MIN and DATE_MAX."""

    default_error_messages = {"out_of_range": DATE_RANGE_MESSAGE}

    def to_internal_value(self, value: Any) -> dt.datetime:
        try:
            moment = super().to_internal_value(value)
        except OverflowError:  # a naive time in year 1 made aware, then checked in UTC by DRF
            self.fail("out_of_range")
        if not date_in_range(moment.date()):
            self.fail("out_of_range")
        return moment


# --- The answer to bad input -------------------------------------------------------------------------


def bad_input_response(request: HttpRequest, message: StrOrPromise, name: str | None = None) -> HttpResponse:
    """400 in the shape the caller speaks: problem details on the API, an OperationOutcome under
    /fhir/, a page in the site's layout elsewhere."""
    text = str(message)
    if request.path.startswith("/api/"):
        body: dict[str, Any] = {
            "type": "https://tidbok.se/problem/invalid_input",
            "title": "Invalid input",
            "status": 400,
            "code": "INVALID_INPUT",
            "detail": text,
        }
        if name:
            body["errors"] = {name: [text]}
        return JsonResponse(body, status=400, content_type="application/problem+json")
    if request.path.startswith("/fhir/"):
        issue = {"severity": "error", "code": "invalid", "diagnostics": text}
        return JsonResponse(
            {"resourceType": "OperationOutcome", "issue": [issue]},
            status=400,
            content_type="application/fhir+json; charset=utf-8",
            json_dumps_params={"ensure_ascii": False},
        )
    return render(request, "bad_input.html", {"message": text}, status=400)


class BadInputMiddleware:
    """Refuses a NUL byte in the path or the query string, and answers a :class:`BadParameter`
    raised by any view with 400 and its message (R-SEC-6). Posted forms are left to the forms
    and services, which refuse a NUL byte beside the field. Sits after the language and
    authentication middleware, so the page is in the visitor's language and layout."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query_has_nul = any(has_nul(key) or any(has_nul(v) for v in values) for key, values in request.GET.lists())
        if has_nul(request.path) or query_has_nul:
            return bad_input_response(request, NUL_MESSAGE)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, BadParameter):
            return bad_input_response(request, exception.message, exception.name)
        return None
