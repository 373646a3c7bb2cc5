"""One way to write dates and times everywhere (core.dates): Swedish as the Swedish Language
Council advises ("fredag 4 december 2026 kl. 09.00"), English as "Friday 4 December 2026 at 09:00"."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation

from core import dates

STOCKHOLM = ZoneInfo("Europe/Stockholm")
FRIDAY_NINE = dt.datetime(2026, 12, 4, 9, 0, tzinfo=STOCKHOLM)
FRIDAY_HALF_NINE = dt.datetime(2026, 12, 4, 9, 30, tzinfo=STOCKHOLM)


@pytest.mark.parametrize(
    ("language", "name", "expected"),
    [
        ("sv", "when", "fredag 4 december 2026 kl. 09.00"),
        ("en", "when", "Friday 4 December 2026 at 09:00"),
        ("sv", "date", "fredag 4 december 2026"),
        ("en", "date", "Friday 4 December 2026"),
        ("sv", "day", "fredag 4 december"),
        ("sv", "time", "09.00"),
        ("en", "time", "09:00"),
        ("sv", "month", "december 2026"),
        ("en", "month", "December 2026"),
        ("sv", "short_day", "fre 4 dec"),
        ("en", "short_day", "Fri 4 Dec"),
        ("sv", "compact", "2026-12-04 09.00"),
        ("en", "compact", "2026-12-04 09:00"),
        ("sv", "compact_date", "2026-12-04"),
    ],
)
def test_each_named_format_in_both_languages(language, name, expected):
    with translation.override(language):
        assert dates.when(FRIDAY_NINE, name) == expected


def test_a_utc_moment_is_written_on_the_clinics_wall_clock():
    # 08:00 UTC is 09:00 in Stockholm in winter and 10:00 in summer.
    with translation.override("sv"):
        assert dates.when(dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)) == "fredag 4 december 2026 kl. 09.00"
        assert dates.when(dt.datetime(2026, 6, 5, 8, 0, tzinfo=dt.UTC)) == "fredag 5 juni 2026 kl. 10.00"


def test_a_date_is_written_without_a_time_and_refuses_a_time_format():
    with translation.override("sv"):
        assert dates.when(dt.date(2026, 12, 4), "date") == "fredag 4 december 2026"
        with pytest.raises(ValueError):
            dates.when(dt.date(2026, 12, 4))


def test_a_time_of_day_takes_only_the_time_format():
    with translation.override("sv"):
        assert dates.when(dt.time(8, 5), "time") == "08.05"
        with pytest.raises(ValueError):
            dates.when(dt.time(8, 5), "date")


def test_a_span_names_the_day_once_and_both_days_when_it_crosses_midnight():
    with translation.override("sv"):
        assert dates.span(FRIDAY_NINE, FRIDAY_HALF_NINE) == "fredag 4 december 2026 kl. 09.00–09.30"
        saturday = FRIDAY_NINE + dt.timedelta(days=1, hours=3)
        assert dates.span(FRIDAY_NINE, saturday) == (
            "fredag 4 december 2026 kl. 09.00 – lördag 5 december 2026 kl. 12.00"
        )
    with translation.override("en"):
        assert dates.span(FRIDAY_NINE, FRIDAY_HALF_NINE) == "Friday 4 December 2026 at 09:00–09:30"


@pytest.mark.parametrize("language", ["sv", "en"])
def test_templates_write_dates_through_the_same_function(language):
    template = Template(
        "{% load dates %}"
        '{{ start|when }}|{{ start|when:"date" }}|{{ start|when:"time" }}|{% span start end %}'
        "|{{ none|when }}|{{ text|when }}"
    )
    with translation.override(language):
        rendered = template.render(
            Context({"start": FRIDAY_NINE, "end": FRIDAY_HALF_NINE, "none": None, "text": "2026-12-04"})
        )
        expected = [
            dates.when(FRIDAY_NINE),
            dates.when(FRIDAY_NINE, "date"),
            dates.when(FRIDAY_NINE, "time"),
            dates.span(FRIDAY_NINE, FRIDAY_HALF_NINE),
            "",
            "",
        ]
    assert rendered.split("|") == expected
    assert ("kl. 09.00" if language == "sv" else "at 09:00") in rendered


def test_no_template_writes_a_date_in_a_format_of_its_own():
    """Dates shown to people go through |when or {% span %}; |date remains only for the values of
    links and form fields (2026-12-04 in a query string, the ISO week number)."""
    machine_formats = {"Y-m-d", "Y-m", "W"}
    root = Path(__file__).resolve().parents[2] / "templates"
    found = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in root.rglob("*.html")
        for match in re.finditer(r"\|(date|time):[\"']([^\"']*)[\"']", path.read_text())
        if match.group(2) not in machine_formats
    ]
    assert found == []
