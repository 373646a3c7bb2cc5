"""Forms for the scheduler's workspace pages. They only parse input (a bad date, time or id is
a field error, never a 500); the rules live in the services, whose field errors are put back on
the same fields with :meth:`WorkspaceForm.add_domain_errors`."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from clinics.models import AppointmentType, Clinic, Resource
from core import params
from core.errors import DomainError

from .models import WEEKDAY_NAMES, Slot
from .selectors import LOCAL_TZ
from .services import SchedulePattern

WEEKDAY_CHOICES = [(str(number), name) for number, name in enumerate(WEEKDAY_NAMES, start=1)]


class ResourceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Resource) -> str:
        return obj.name


class TypeChoiceField(forms.ModelChoiceField):
    """Staff see the timebook name, and the web name where it differs (R-TYPE-1)."""

    def label_from_instance(self, obj: AppointmentType) -> str:
        if obj.web_name and obj.web_name != obj.internal_name:
            return f"{obj.internal_name} ({obj.web_name})"
        return obj.internal_name


def local_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=LOCAL_TZ)


class WorkspaceForm(forms.Form):
    # Service field names that a form calls something else.
    service_fields: dict[str, str] = {}

    def __init__(self, *args, clinic: Clinic, **kwargs) -> None:
        self.clinic = clinic
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, ResourceChoiceField):
                field.queryset = Resource.objects.filter(clinic=clinic, is_active=True).order_by("name")
            elif isinstance(field, TypeChoiceField):
                field.queryset = AppointmentType.objects.filter(clinic=clinic).order_by("internal_name")

    def add_domain_errors(self, exc: DomainError) -> None:
        """Put a service's field errors next to the fields; anything else above the form."""
        if not exc.field_errors:
            self.add_error(None, str(exc.message))
        for name, errors in exc.field_errors.items():
            name = self.service_fields.get(name, name)
            for error in errors:
                self.add_error(name if name in self.fields else None, str(error))


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class ScheduleForm(WorkspaceForm):
    resource = ResourceChoiceField(label=_("Resource"), queryset=Resource.objects.none())
    appointment_type = TypeChoiceField(label=_("Appointment type"), queryset=AppointmentType.objects.none())
    weekdays = forms.MultipleChoiceField(
        label=_("Weekdays"), choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    start_date = params.DateField(label=_("First day"), widget=date_input())
    end_date = params.DateField(
        label=_("Last day"), widget=date_input(), help_text=_("At most one year after the first day.")
    )
    day_start = forms.TimeField(label=_("Start time"), widget=_time_input())
    day_end = forms.TimeField(label=_("End time"), widget=_time_input())
    slot_minutes = forms.IntegerField(
        label=_("Slot length (minutes)"), min_value=5, max_value=480, help_text=_("Between 5 and 480 minutes.")
    )

    def pattern(self) -> SchedulePattern:
        data = dict(self.cleaned_data)
        data["weekdays"] = [int(day) for day in data["weekdays"]]
        return SchedulePattern(**data)


class SlotForm(WorkspaceForm):
    resource = ResourceChoiceField(label=_("Resource"), queryset=Resource.objects.none())
    appointment_type = TypeChoiceField(label=_("Appointment type"), queryset=AppointmentType.objects.none())
    date = params.DateField(label=_("Date"), widget=date_input())
    start_time = forms.TimeField(label=_("Start time"), widget=_time_input())
    end_time = forms.TimeField(label=_("End time"), widget=_time_input())
    service_fields = {"start": "start_time", "end": "end_time"}

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "resource": data["resource"],
            "appointment_type": data["appointment_type"],
            "start": local_datetime(data["date"], data["start_time"]),
            "end": local_datetime(data["date"], data["end_time"]),
        }


class BlockForm(WorkspaceForm):
    resource = ResourceChoiceField(label=_("Resource"), queryset=Resource.objects.none())
    date = params.DateField(label=_("First day"), widget=date_input())
    start_time = forms.TimeField(
        label=_("From"), widget=_time_input(), required=False, help_text=_("Empty: from the start of the day.")
    )
    end_date = params.DateField(
        label=_("Last day"), widget=date_input(), required=False, help_text=_("Empty: the same day as the first.")
    )
    end_time = forms.TimeField(
        label=_("To"), widget=_time_input(), required=False, help_text=_("Empty: to the end of the last day.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False, help_text=_("Shown only to staff."))
    # A day that has passed is a fault of the first day, not of a start time that may be empty.
    service_fields = {"start": "date", "end": "end_time"}

    def clean(self) -> dict:
        data = super().clean() or {}
        first, last = data.get("date"), data.get("end_date")
        if first and last and last < first:
            self.add_error("end_date", _("The last day cannot be before the first day."))
        return data

    def service_values(self) -> dict:
        data = self.cleaned_data
        first = data["date"]
        last = data["end_date"] or first
        start = local_datetime(first, data["start_time"] or dt.time.min)
        end = (
            local_datetime(last, data["end_time"])
            if data["end_time"] is not None
            else local_datetime(last + dt.timedelta(days=1), dt.time.min)
        )
        return {"resource": data["resource"], "start": start, "end": end, "reason": data["reason"]}


class PersonnummerField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", _("Personal identity number"))
        kwargs.setdefault("help_text", _("12 digits, YYYYMMDD-NNNN. A coordination number also works."))
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"})
        return attrs


class ResidentLookupForm(WorkspaceForm):
    personnummer = PersonnummerField()


class FreeTimesFilterForm(WorkspaceForm):
    typ = TypeChoiceField(
        label=_("Appointment type"), queryset=AppointmentType.objects.none(), required=False, empty_label=_("All types")
    )
    datum = params.DateField(
        label=_("Date"), widget=date_input(), required=False, help_text=_("Empty: the next free times.")
    )


class WaitlistForm(WorkspaceForm):
    personnummer = PersonnummerField()
    appointment_type = TypeChoiceField(
        label=_("Appointment type"), queryset=AppointmentType.objects.none(), required=False, empty_label=_("Any type")
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example which days suit the resident. Shown only to staff."),
    )


TIMEBOOK_WEEK, TIMEBOOK_DAY = "vecka", "dag"
TIMEBOOK_VIEWS = [(TIMEBOOK_WEEK, _("Week")), (TIMEBOOK_DAY, _("Day"))]


class TimebookFilterForm(WorkspaceForm):
    resurs = ResourceChoiceField(
        label=_("Resource"), queryset=Resource.objects.none(), required=False, empty_label=_("The whole clinic")
    )
    datum = params.DateField(label=_("Go to date"), widget=date_input(), required=False)
    visa = forms.ChoiceField(
        label=_("Show"), choices=TIMEBOOK_VIEWS, required=False, widget=forms.HiddenInput, initial=TIMEBOOK_WEEK
    )
    # Links, bookmarks and redirects still name a week as YYYY-Www; the page itself asks for a date.
    vecka = params.WeekField(label=_("Week"), required=False, max_length=10, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Past weeks may show resources that have since been made inactive.
        resource_field = cast(forms.ModelChoiceField, self.fields["resurs"])  # declared above
        resource_field.queryset = Resource.objects.filter(clinic=self.clinic).order_by("name")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The week parameter has no visible field; its error is shown at the date the page asks for.
        if week_errors := self.errors.pop("vecka", None):
            self.add_error("datum", forms.ValidationError(list(week_errors)))
        if self.errors.pop("visa", None):
            cleaned["visa"] = TIMEBOOK_WEEK  # a mangled toggle is harmless: show the week
        return cleaned


class ChangeTypeForm(WorkspaceForm):
    slot = forms.ModelMultipleChoiceField(
        label=_("Times"),
        queryset=Slot.objects.none(),
        error_messages={"required": _("Choose at least one time.")},
    )
    appointment_type = TypeChoiceField(label=_("New appointment type"), queryset=AppointmentType.objects.none())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        slot_field = cast(forms.ModelMultipleChoiceField, self.fields["slot"])  # declared above
        slot_field.queryset = Slot.objects.filter(clinic=self.clinic)


class RemoveTypeForm(WorkspaceForm):
    confirm = forms.BooleanField(
        label=_("I understand that the free times of this type on this schedule are removed."),
        error_messages={"required": _("Tick the box to confirm.")},
    )
