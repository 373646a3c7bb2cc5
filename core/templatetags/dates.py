"""``{{ value|when }}``, ``{{ value|when:"time" }}`` and ``{% span start end %}``: the templates'
door to :mod:`core.dates`, so a page writes dates as the e-mails and text messages do."""

from __future__ import annotations

import datetime as dt

from django import template

from core import dates

register = template.Library()


@register.filter(name="when")
def when_filter(value: dt.datetime | dt.date | dt.time | None, name: dates.Format = "when") -> str:
    # Like Django's |date, a filter fails quietly: an empty value (a booking not yet ended, say)
    # or one that is not a moment shows nothing rather than breaking the page.
    if not isinstance(value, dt.date | dt.time):
        return ""
    return dates.when(value, name)


@register.simple_tag(name="span")
def span_tag(start: dt.datetime, end: dt.datetime, name: dates.Format = "when") -> str:
    return dates.span(start, end, name)
