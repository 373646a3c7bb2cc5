"""The text fields of the staff pages, shown again with what was typed and the services' errors
beside them. Every rule is :mod:`clinics.staff_services`'s."""

from __future__ import annotations

from typing import Any, cast

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


class RoleTextForm(_ShownAgainForm):
    """The clinic a role applies at and a proxy booker's unit; the role itself is a radio group on the page."""

    clinic = forms.ChoiceField(
        label=_("Clinic"),
        help_text=_(
            "Where a local admin, scheduler or support role applies. Region roles apply in every clinic of the region."
        ),
        required=False,
    )
    unit_name = _text(
        _("Unit (proxy bookers only)"),
        _("The unit the proxy booker books from, shown with each booking, for example “1177 på telefon”."),
    )

    def __init__(self, *, values: dict[str, Any], errors: dict[str, list[Any]], clinics) -> None:
        super().__init__(values=values, errors=errors)
        clinic_field = cast(forms.ChoiceField, self.fields["clinic"])
        clinic_field.choices = [(str(clinic.pk), clinic.name) for clinic in clinics]
