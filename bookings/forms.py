"""Filters of the support pages in the clinic workspace (R-LOG-2, R-LOG-4), and the resident's
conditions and patient comment forms (R-CASE-1, R-TYPE-7).

A filter that does not validate gets a message on its field and is left out; the others
still apply, so a mistyped personnummer never turns into a server error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import ResidentPeriodFilterForm

from .models import LogStatus
from .services import REASON_MAX_LENGTH

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

_ISO_DATE = "%Y-%m-%d"


def _date_field(label: StrOrPromise) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=[_ISO_DATE],
        # The browser's date picker posts and shows YYYY-MM-DD.
        widget=forms.DateInput(attrs={"type": "date"}, format=_ISO_DATE),
        error_messages={"invalid": _("Enter the date as YYYY-MM-DD.")},
    )


class DateRangeFilterForm(ResidentPeriodFilterForm):
    fran = _date_field(_("From date"))
    till = _date_field(_("To date"))

    def filters(self) -> dict:
        """The filters that validated (call after ``is_valid``)."""
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or None for name in self.fields}


class WebLogFilterForm(DateRangeFilterForm):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *LogStatus.choices],
        error_messages={"invalid_choice": _("Choose one of the statuses in the list.")},
    )


class ConditionsForm(forms.Form):
    """The resident confirms having read a case type's conditions text (R-CASE-1)."""

    accept = forms.BooleanField(
        label=_("I have read and understood the conditions"),
        error_messages={"required": _("Confirm that you have read the conditions to continue.")},
    )


class PatientCommentForm(forms.Form):
    """The phone number and reason a clinic may ask for with a web booking (R-TYPE-7). It only
    carries what was typed, untouched: ``booking_create`` checks both and says what is wrong."""

    phone = forms.CharField(
        label=_("Phone number"),
        help_text=_("The clinic may call you before the visit."),
        required=False,
        strip=False,
        widget=forms.TelInput(attrs={"autocomplete": "tel"}),
    )
    reason = forms.CharField(
        label=_("Reason for the visit"),
        help_text=_("Briefly, at most 200 characters."),
        required=False,
        strip=False,
        # The service counts the characters once runs of spaces are joined; the browser's limit is a guide.
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": REASON_MAX_LENGTH}),
    )
