"""The text fields of the staff pages, shown again with what was typed and the services' errors
beside them. Every rule is :mod:`clinics.staff_services`'s."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import _ShownAgainForm


def _text(label, hint="", *, autocomplete: str = "off", input_type: str = "text") -> forms.CharField:
    widget = forms.TextInput(attrs={"autocomplete": autocomplete, "spellcheck": "false"})
    widget.input_type = input_type
    return forms.CharField(label=label, help_text=hint, required=False, widget=widget)


class StaffInviteTextForm(_ShownAgainForm):
    first_name = _text(_("First name"), autocomplete="off")
    last_name = _text(_("Last name"), autocomplete="off")
    email = _text(
        _("Work e-mail address"),
        _("The invitation with a link to choose a password is sent here, and the person logs in with it."),
        input_type="email",
    )


class UnitTextForm(_ShownAgainForm):
    unit_name = _text(
        _("Unit (proxy bookers only)"),
        _("The unit the proxy booker books from, shown with each booking, for example “1177 på telefon”."),
    )
