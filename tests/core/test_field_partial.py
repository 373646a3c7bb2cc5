"""Every form field of the workspace is drawn by one partial, templates/_field.html, the GOV.UK way (WCAG 1.3.1, 3.3.1):
a label, the hint, an error message with a prefix for screen readers, and the widget tied to both."""

from __future__ import annotations

import re
from pathlib import Path

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from ..pages import found

TEMPLATES = Path(settings.BASE_DIR) / "templates"


class _Form(forms.Form):
    name = forms.CharField(label="Namn", help_text="Till exempel Distriktssköterska")


def test_one_partial_renders_label_hint_error_and_widget_tied_together():
    form = _Form({"name": ""})
    form.is_valid()
    with translation.override("sv"):
        html = render_to_string("_field.html", {"field": form["name"]})

    assert '<label for="id_name">Namn</label>' in html
    assert '<p class="hint" id="id_name_helptext">Till exempel Distriktssköterska</p>' in html
    assert re.search(r'<p class="error" id="id_name_error"><span class="visually-hidden">Fel:</span> \S', html)
    widget = found(r"<input [^>]*>", html)[0]
    assert 'aria-describedby="id_name_helptext id_name_error"' in widget and 'aria-invalid="true"' in widget
    assert 'id="field-id_name"' in html  # what an error summary links to


def test_no_page_writes_its_own_field_partial():
    partials = sorted(str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*field*.html"))
    includes = {
        name
        for path in TEMPLATES.rglob("*.html")
        for name in re.findall(r'{% include "([^"]*field[^"]*)"', path.read_text(encoding="utf-8"))
    }

    # _field_errors.html is the message alone, for the admin pages' radio and checkbox groups.
    assert partials == ["_field.html", "workspace/admin/_field_errors.html"]
    assert includes == {"_field.html", "workspace/admin/_field_errors.html"}
