"""Filters of the support pages in the clinic workspace (R-LOG-2, R-LOG-4), and the resident's
conditions and patient comment forms (R-CASE-1, R-TYPE-7); the waitlist's (R-WAIT-1, R-WAIT-3).

A filter that does not validate gets a message on its field and is left out; the others
still apply, so a mistyped personnummer never turns into a server error.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import ResidentPeriodFilterForm
from clinics.models import AppointmentType, Clinic
from core import params
from schedules.forms import WEEKDAY_CHOICES, TypeChoiceField, WorkspaceForm, date_input

from .models import BasisKind, BasisState, LogStatus, PartOfDay
from .services import REASON_MAX_LENGTH
from .services.bases import MAX_BOOKINGS_ALLOWED, NOTE_MAX_LENGTH

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


# R-POA-1: the scope of a power of attorney.
ALL_CLINICS, CHOSEN_CLINICS = "all", "chosen"


class PowerOfAttorneyForm(forms.Form):
    personnummer = forms.CharField(
        label=_("Personal identity number of the person you give the power of attorney"),
        help_text=_("12 digits, for example 19920708-1143"),
        max_length=13,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}),
        error_messages={"required": _("Enter a personal identity number.")},
    )
    scope = forms.ChoiceField(
        label=_("Where may they act for you?"),
        choices=[(ALL_CLINICS, _("At every clinic")), (CHOSEN_CLINICS, _("Only at the clinics I choose"))],
        initial=ALL_CLINICS,
        widget=forms.RadioSelect,
    )
    clinics = forms.ModelMultipleChoiceField(
        label=_("Clinics"),
        help_text=_("Only if you chose some clinics: the clinics on your start page."),
        queryset=Clinic.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose among the clinics shown.")},
    )
    valid_until = _date_field(_("Last day"))

    def __init__(self, *args, clinics, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        clinics_field = self.fields["clinics"]
        assert isinstance(clinics_field, forms.ModelMultipleChoiceField)
        clinics_field.queryset = clinics
        self.fields["valid_until"].required = True
        self.fields["valid_until"].error_messages["required"] = _("Enter the last day of the power of attorney.")
        self.fields["valid_until"].help_text = _("For example 2027-06-30")


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


# --- Booking bases and open summons (R-TYPE-4) ----------------------------------------------------


CHOOSE_A_TYPE = {"required": _("Choose an appointment type."), "invalid_choice": _("Choose an appointment type.")}


class BasisStateFilterForm(forms.Form):
    tillstand = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *BasisState.choices],
    )
    slag = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("Bases and summons")), *BasisKind.choices],
    )


class BookingBasisForm(WorkspaceForm):
    """What a booking basis allows; the resident is found before, by a posted personnummer."""

    appointment_type = TypeChoiceField(
        label=_("Appointment type"),
        queryset=AppointmentType.objects.none(),
        error_messages=CHOOSE_A_TYPE,
    )
    valid_from = params.DateField(
        label=_("First day of a visit"),
        widget=date_input(),
        required=False,
        help_text=_("Empty: from today."),
    )
    valid_until = params.DateField(
        label=_("Last day of a visit"),
        widget=date_input(),
        required=False,
        help_text=_("Empty: no last day."),
    )
    max_bookings = forms.IntegerField(
        label=_("Bookings allowed"),
        min_value=1,
        max_value=MAX_BOOKINGS_ALLOWED,
        initial=1,
        help_text=_("How many times the resident may book with it. A cancelled booking gives its use back."),
        error_messages={
            "required": _("Enter how many bookings it allows, as a number."),
            "invalid": _("Enter how many bookings it allows, as a number."),
            "min_value": _("Allow at least %(limit_value)s booking."),
            "max_value": _("Allow at most %(limit_value)s bookings."),
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    note = forms.CharField(
        label=_("Internal note"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example the referral it rests on. Shown only to staff, never to the resident."),
    )


class OpenSummonsForm(WorkspaceForm):
    """An open summons: a type and the period the resident may book a visit in."""

    appointment_type = TypeChoiceField(
        label=_("Appointment type"),
        queryset=AppointmentType.objects.none(),
        error_messages=CHOOSE_A_TYPE,
    )
    valid_from = params.DateField(
        label=_("First day of a visit"),
        widget=date_input(),
        error_messages={"required": _("Enter the first day of a visit.")},
    )
    valid_until = params.DateField(
        label=_("Last day of a visit"),
        widget=date_input(),
        error_messages={"required": _("Enter the last day of a visit.")},
    )
    note = forms.CharField(
        label=_("Internal note"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown only to staff, never to the resident."),
    )


class ClinicMessageForm(WorkspaceForm):
    """A free-text message from the clinic to a resident's inbox; the service checks the lengths."""

    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "The resident cannot reply. Below the message they are told to call the clinic on its phone number."
        ),
    )


class MeetingLinkForm(WorkspaceForm):
    """A video visit's meeting link set by hand; ``booking_meeting_link_set`` checks it."""

    meeting_url = forms.CharField(
        label=_("Link to the video meeting"),
        help_text=_(
            "Begins with https://. Empty removes the link. The resident sees it on their booking; messages never "
            "contain it."
        ),
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "url", "spellcheck": "false"}),
    )


class WaitlistJoinForm(WorkspaceForm):
    """R-WAIT-1: the times that suit a resident who joins a waitlist; every field may stay empty."""

    earliest_date = _date_field(_("Earliest date"))
    latest_date = _date_field(_("Latest date"))
    weekdays = forms.MultipleChoiceField(
        label=_("Weekdays that suit you"),
        choices=WEEKDAY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={"invalid_choice": _("Choose weekdays from the list.")},
    )
    part_of_day = forms.ChoiceField(
        label=_("Time of day"),
        choices=[("", _("Any time of day")), *PartOfDay.choices],
        widget=forms.RadioSelect,
        required=False,
        error_messages={"invalid_choice": _("Choose a time of day from the list.")},
    )

    def wishes(self) -> dict:
        data = self.cleaned_data
        return {
            "earliest_date": data.get("earliest_date"),
            "latest_date": data.get("latest_date"),
            "weekdays": [int(day) for day in data.get("weekdays") or []],
            "part_of_day": data.get("part_of_day") or "",
        }


class WaitlistPriorityForm(forms.Form):
    priority = forms.IntegerField(
        label=_("Priority"),
        error_messages={
            "required": _("Enter a priority from -9 to 9."),
            "invalid": _("Enter a priority from -9 to 9."),
        },
    )


_MONTH = "%Y-%m"


def _month_field(label: StrOrPromise) -> forms.DateField:
    # params.DateField: a far-off year is refused beside the field, never an overflow later.
    return params.DateField(
        label=label,
        required=False,
        input_formats=[_MONTH],
        help_text=_("As YYYY-MM, for example 2026-03."),
        # Browsers with a month picker post YYYY-MM; the others show a text field with the hint.
        widget=forms.DateInput(attrs={"type": "month", "autocomplete": "off"}, format=_MONTH),
        error_messages={"invalid": _("Enter the month as YYYY-MM, for example 2026-03.")},
    )


class AttendanceFiguresForm(WorkspaceForm):
    """The period and type of the attendance figures (R-ATT-2); empty means the last twelve months
    and every type. Read from the query string: the figures name no resident."""

    fran = _month_field(_("From month"))
    till = _month_field(_("To month"))
    typ = TypeChoiceField(
        label=_("Appointment type"),
        queryset=AppointmentType.objects.none(),
        required=False,
        empty_label=_("All types"),
        error_messages={"invalid_choice": _("Choose one of the clinic's appointment types.")},
    )

    def __init__(self, *args, max_months: int, default_period: tuple[dt.date, dt.date], **kwargs) -> None:
        self.max_months = max_months
        self.default_first, self.default_last = default_period
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        """Fill what was left empty: the last month defaults to this one, the first to eleven before
        the last. The period must run forwards and be at most ``max_months`` long; the error goes
        beside the month that was typed."""
        cleaned = super().clean() or {}
        if "fran" not in cleaned or "till" not in cleaned:
            return cleaned  # a month that does not parse has its own error already
        typed_last = cleaned["till"] is not None
        last = cleaned["till"] or self.default_last
        first = cleaned["fran"] or _months_before(last, 11)
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        if months < 1:
            self.add_error("till" if typed_last else "fran", _("The last month cannot be before the first."))
        elif months > self.max_months:
            self.add_error("till" if typed_last else "fran", _("Choose at most %(n)d months.") % {"n": self.max_months})
        cleaned["fran"], cleaned["till"] = first, last
        return cleaned


def _months_before(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)
