"""The region IT audit log's filter (R-LOG-4, R-SEC-3, R-SEC-7).

Posted, never read from a query string: the personnummer it may carry is kept in the session
under an opaque search token (:mod:`core.search_token`), so it stays out of URLs.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed

from .personnummer import normalise_personnummer

_ISO_DATE = "%Y-%m-%d"
# Far enough from year 1 and 9999 that adding a day or a time zone offset never overflows.
_FIRST_DAY = dt.date(1900, 1, 1)
_LAST_DAY = dt.date(2999, 12, 31)


if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class _DateField(forms.DateField):
    def __init__(self, label: StrOrPromise) -> None:
        super().__init__(
            label=label,
            required=False,
            input_formats=[_ISO_DATE],
            # The browser's date picker posts and shows YYYY-MM-DD.
            widget=forms.DateInput(attrs={"type": "date"}, format=_ISO_DATE),
            error_messages={"invalid": _("Enter the date as YYYY-MM-DD.")},
        )

    def validate(self, value: dt.date | None) -> None:
        super().validate(value)
        if value is not None and not _FIRST_DAY <= value <= _LAST_DAY:
            raise forms.ValidationError(_("Choose a date from 1900 to 2999."))


class ResidentPeriodFilterForm(forms.Form):
    """A period (``fran``, ``till``) and a resident's personnummer, as the staff log pages filter:
    the audit log here, the web booking log in bookings. Subclasses declare the two date fields."""

    field_order = ["fran", "till", "personnummer"]
    personnummer = forms.CharField(
        label=_("Personal identity number"),
        help_text=_("For example 19850314-1234"),
        required=False,
        max_length=20,
        # A personnummer typed here is a search term, not the user's own: the browser must not offer to save it.
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_personnummer(self) -> str:
        raw = self.cleaned_data["personnummer"].strip()
        if not raw:
            return ""
        try:
            return normalise_personnummer(raw)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.field_errors["personnummer"]) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        date_from, date_to = cleaned.get("fran"), cleaned.get("till")
        if date_from and date_to and date_from > date_to:
            self.add_error("till", _("The to date cannot be before the from date."))
        return cleaned


class AuditLogFilterForm(ResidentPeriodFilterForm):
    fran = _DateField(_("From date"))
    till = _DateField(_("To date"))

    def values(self) -> dict[str, str]:
        """The valid filter as strings, for the search token (call after ``is_valid``)."""
        data = self.cleaned_data
        return {
            "fran": data["fran"].isoformat() if data.get("fran") else "",
            "till": data["till"].isoformat() if data.get("till") else "",
            "personnummer": data.get("personnummer") or "",
        }


# --- The resident's contact details (R-NOTE-1) ----------------------------------------------------


class ContactEmailForm(forms.Form):
    email = forms.CharField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("We send a link to the address. It is used only when you have opened the link."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={"required": _("Enter an e-mail address, for example namn@exempel.se.")},
    )


class ContactMobileForm(forms.Form):
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        help_text=_("For example 070-123 45 67. We send a code to the number by text message."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={"required": _("Enter a mobile number, for example 070-123 45 67.")},
    )


class ContactCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        help_text=_("The six digits in the text message."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "class": "narrow"}),
        error_messages={"required": _("Enter the code from the text message.")},
    )


class ContactPreferencesForm(forms.Form):
    reminders_by_email = forms.BooleanField(label=_("Reminders by e-mail"), required=False)
    reminders_by_sms = forms.BooleanField(label=_("Reminders by text message"), required=False)
    language = forms.ChoiceField(
        label=_("Language of the messages"),
        choices=[("sv", "Svenska"), ("en", "English")],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose Swedish or English."), "invalid_choice": _("Choose Swedish or English.")},
    )


class DevLoginForm(forms.Form):
    """The development identity provider's typed test personnummer (R-AUTH-1). Kept as typed:
    ``resident_get_or_create`` reads it and says what is wrong with it."""

    personnummer = forms.CharField(
        label=_("Personal identity number"),
        help_text=_("12 digits, YYYYMMDD-NNNN"),
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
