"""How Tidbok writes a date or a time, in one place for pages, e-mails, SMS, inbox messages and
calendar files: "fredag 4 december 2026 kl. 09.00" in Swedish, "Friday 4 December 2026 at 09:00"
in English.

Swedish follows the Swedish Language Council's advice: lowercase weekday and month names, "kl."
before the time and a dot between hours and minutes. The formats are named so a compact table
(the timebook grid, a log's columns) uses a named compact form from here rather than one of its
own. Datetimes are shown on the clinics' wall clock (Swedish time), whatever the server's zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.utils import dateformat, timezone, translation

from core.localtime import LOCAL_TZ

Format = Literal[
    "when",
    "date",
    "day",
    "time",
    "month",
    "short_day",
    "short_when",
    "compact",
    "compact_seconds",
    "compact_date",
    "spreadsheet",
    "spreadsheet_seconds",
]

# Django date-format strings (backslash escapes a literal letter); Swedish first, English for the
# rest. The weekday and month names come from Django's own translations.
_FORMATS: dict[str, dict[Format, str]] = {
    "sv": {
        "when": r"l j F Y \k\l. H.i",
        "date": "l j F Y",
        "day": "l j F",
        "time": "H.i",
        "month": "F Y",
        "short_day": "D j M",
        "short_when": "D j M H.i",
        "compact": "Y-m-d H.i",
        "compact_seconds": "Y-m-d H.i.s",
        "compact_date": "Y-m-d",
        # CSV exports: the form Excel reads as a date and time in Swedish and English installs
        # alike. The dot of "09.00" would make the cell text, so these keep the colon.
        "spreadsheet": "Y-m-d H:i",
        "spreadsheet_seconds": "Y-m-d H:i:s",
    },
    "en": {
        "when": r"l j F Y \a\t H:i",
        "date": "l j F Y",
        "day": "l j F",
        "time": "H:i",
        "month": "F Y",
        "short_day": "D j M",
        "short_when": "D j M H:i",
        "compact": "Y-m-d H:i",
        "compact_seconds": "Y-m-d H:i:s",
        "compact_date": "Y-m-d",
        "spreadsheet": "Y-m-d H:i",
        "spreadsheet_seconds": "Y-m-d H:i:s",
    },
}
FORMAT_NAMES: tuple[Format, ...] = tuple(_FORMATS["sv"])


def format_pattern(name: Format, *, language: str | None = None) -> str:
    """The Django date-format string behind a named format in ``language`` (default: the active one)."""
    code = language.split("-")[0] if language else _language()
    return _FORMATS.get(code, _FORMATS["en"])[name]


def when(value: dt.datetime | dt.date | dt.time, name: Format = "when") -> str:
    """``value`` written in the named format, in the active language.

    A datetime is first moved to Swedish time; a time of day (a schedule's hours) takes only the
    time format, and a date is refused a format with a time, as it has none to show."""
    if isinstance(value, dt.time):
        if name != "time":
            raise ValueError(f"a time of day has no date to show in the format {name!r}")
        return dateformat.time_format(value, format_pattern(name))
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, LOCAL_TZ)
    elif name in _WITH_TIME:
        raise ValueError(f"a date has no time to show in the format {name!r}")
    text = dateformat.format(value, format_pattern(name))
    # Django's Swedish abbreviations are capitalised ("Fre"); Swedish writes them in lowercase.
    return text.lower() if name in ("short_day", "short_when") and _language() == "sv" else text


def span(start: dt.datetime, end: dt.datetime, name: Format = "when") -> str:
    """A visit or block from ``start`` to ``end``: "fredag 4 december 2026 kl. 09.00–09.30"; when
    it ends on another day, both ends in full."""
    if timezone.localtime(start, LOCAL_TZ).date() == timezone.localtime(end, LOCAL_TZ).date():
        return f"{when(start, name)}–{when(end, 'time')}"
    return f"{when(start, name)} – {when(end, name)}"


_WITH_TIME: frozenset[Format] = frozenset(
    {"when", "time", "short_when", "compact", "compact_seconds", "spreadsheet", "spreadsheet_seconds"}
)


def _language() -> str:
    return (translation.get_language() or "sv").split("-")[0]
