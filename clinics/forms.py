"""Input parsing for the local admin's workspace pages. Forms only turn the posted strings into
Python values; every rule (R-TYPE-*, R-RES-1, R-CASE-*) is checked by ``clinics.services``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .models import AppointmentType, DeadlineUnit, FreedTimes, Region

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

TYPE_TEXT_FIELDS = ("internal_name", "web_name", "web_info", "late_fee_text")
# R-POL-1: whole numbers that may be left empty (meaning none).
TYPE_POLICY_NUMBER_FIELDS = ("booking_notice_hours", "change_deadline")
TYPE_FLAG_FIELDS = ("bookable_on_web", "cancellable_on_web", "reschedulable_on_web", "hidden_for_patient")
TYPE_BOOL_FIELDS = (*TYPE_FLAG_FIELDS, "requires_booking_basis", "discreet", "is_video_visit")


class AppointmentTypeForm(forms.Form):
    internal_name = forms.CharField(required=False)
    web_name = forms.CharField(required=False)
    web_info = forms.CharField(required=False)
    bookable_on_web = forms.BooleanField(required=False)
    cancellable_on_web = forms.BooleanField(required=False)
    reschedulable_on_web = forms.BooleanField(required=False)
    hidden_for_patient = forms.BooleanField(required=False)
    visibility_days = forms.IntegerField(
        required=False,
        error_messages={"invalid": _("Enter the number of days as a whole number, for example 14, or leave it empty.")},
    )
    requires_booking_basis = forms.BooleanField(required=False)
    discreet = forms.BooleanField(required=False)
    is_video_visit = forms.BooleanField(required=False)
    booking_notice_hours = forms.IntegerField(
        required=False,
        error_messages={"invalid": _("Enter the notice as a whole number of hours, for example 2, or leave it empty.")},
    )
    change_deadline = forms.IntegerField(
        required=False,
        error_messages={"invalid": _("Enter the deadline as a whole number, for example 24, or leave it empty.")},
    )
    change_deadline_unit = forms.ChoiceField(
        choices=DeadlineUnit.choices,
        required=False,
        error_messages={"invalid_choice": _("Choose hours or working days.")},
    )
    late_fee_text = forms.CharField(required=False)
    duration_minutes = forms.IntegerField(
        min_value=5,
        max_value=480,
        error_messages={
            "required": _("Enter the default length in minutes."),
            "invalid": _("Enter the length as a whole number of minutes, for example 20."),
            "min_value": _("The length must be between 5 and 480 minutes."),
            "max_value": _("The length must be between 5 and 480 minutes."),
        },
    )

    def field_errors(self) -> dict[str, list[Any]]:
        return {field: list(errors) for field, errors in self.errors.items()}


def type_values_from_instance(instance: AppointmentType | None) -> dict[str, Any]:
    """What the edit form shows before anything is posted."""
    if instance is None:
        return {"duration_minutes": 20, "visibility_days": "", "change_deadline_unit": DeadlineUnit.HOURS}
    values: dict[str, Any] = {field: getattr(instance, field) for field in (*TYPE_TEXT_FIELDS, *TYPE_BOOL_FIELDS)}
    values.update({field: getattr(instance, field) or "" for field in TYPE_POLICY_NUMBER_FIELDS})
    values["change_deadline_unit"] = instance.change_deadline_unit
    values["visibility_days"] = "" if instance.visibility_days is None else instance.visibility_days
    values["duration_minutes"] = instance.duration_minutes
    return values


def type_values_from_post(data: QueryDict) -> dict[str, Any]:
    """What the form shows again after a refused post: the resident-facing text exactly as typed."""
    values: dict[str, Any] = {field: data.get(field, "") for field in TYPE_TEXT_FIELDS}
    values.update({field: bool(data.get(field)) for field in TYPE_BOOL_FIELDS})
    values["visibility_days"] = data.get("visibility_days", "").strip()
    values["duration_minutes"] = data.get("duration_minutes", "").strip()
    values.update({field: data.get(field, "").strip() for field in TYPE_POLICY_NUMBER_FIELDS})
    values["change_deadline_unit"] = data.get("change_deadline_unit", DeadlineUnit.HOURS)
    return values


class _ShownAgainForm(forms.Form):
    """The text fields of an admin page, shown with what was typed and the services' errors beside them.

    The page still posts its plain field names and hands the posted strings to the service unchanged: every rule
    (R-TYPE-*, R-RES-1, R-CASE-*) is the service's. The form only gives the shared field partial a BoundField, so
    label, hint, error and widget are tied together the same way on every page. Ids are the bare field names, as
    the error summary's links ("#field-<name>") and the page scripts expect. Fields are not marked required (the
    service says what is missing), and nothing is cleaned here, so no message appears that the service did not give.
    """

    use_required_attribute = False

    def __init__(self, *, values: dict[str, Any], errors: dict[str, list[Any]]) -> None:
        super().__init__(data=values, auto_id="%s")
        for name, messages in errors.items():
            if name in self.fields:
                self.add_error(name, messages)


def _text(label: StrOrPromise, hint: StrOrPromise, *, rows: int | None = None) -> forms.CharField:
    widget: forms.Widget = (
        forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput(attrs={"autocomplete": "off"})
    )
    return forms.CharField(label=label, help_text=hint, required=False, strip=False, widget=widget)


class CaseTypeTextForm(_ShownAgainForm):
    conditions_text = _text(
        _("Conditions text"),
        _(
            "Write one condition per line. Residents see each line as a bullet point, exactly as written here, "
            "before they begin."
        ),
        rows=8,
    )


class AppointmentTypeTextForm(_ShownAgainForm):
    internal_name = _text(
        _("Name in the timebook"),
        _(
            "As in the clinic's timebook. Residents never see it. A name containing “Ombud” makes a proxy type, "
            "which only a region IT administrator may create."
        ),
    )
    web_name = _text(
        _("Name on the web"),
        _("What residents see, for example “Besök hos sjuksköterska”. Needed for the type to be bookable on the web."),
    )
    duration_minutes = _text(_("Default length (minutes)"), _("The usual length of a visit of this type."))
    booking_notice_hours = _text(
        _("Minimum notice for booking (hours)"),
        _(
            "Residents can book a time on the web at the latest this many hours before it starts. "
            "Empty or 0: until it starts."
        ),
    )
    change_deadline = _text(
        _("Deadline for cancelling and rebooking on the web"),
        _(
            "How long before the visit residents can still cancel or rebook on the web; after that they are told to "
            "call the clinic. Empty or 0: until the visit starts. Staff can always change a booking."
        ),
    )
    change_deadline_unit = forms.ChoiceField(
        label=_("Deadline counted in"),
        help_text=_(
            "Working days leave out weekends and Swedish public holidays, midsummer, Christmas and New Year's Eve."
        ),
        choices=DeadlineUnit.choices,
        required=False,
    )
    late_fee_text = _text(
        _("Fee text for late changes (optional)"),
        _(
            "Shown to residents before they confirm a cancellation or rebooking less than 24 hours before the "
            "visit, for example “Avbokning senare än 24 timmar före besöket debiteras med 200 kr”. At most 200 "
            "characters."
        ),
    )


class ResourceTextForm(_ShownAgainForm):
    name = _text(
        _("Name"),
        _(
            "Residents see this name. Write it out in full, for example “Distriktssköterska”, not “DSK”, and do "
            "not use room names or words such as “stafettläkare” or “bemanningspersonal”."
        ),
    )


class DirectLinkTextForm(_ShownAgainForm):
    label = _text(
        _("Label (optional)"), _("For your own use, for example “Start page, Boka tid”. At most 100 characters.")
    )


class ClinicSearchForm(forms.Form):
    """The public clinic search's two filters, shown with what was searched for (unbound, with
    ``initial``: the search reads its own parameters leniently and never shows an error)."""

    q = forms.CharField(
        label=_("Clinic name or town"), required=False, widget=forms.SearchInput(attrs={"autocomplete": "off"})
    )
    region = forms.ModelChoiceField(
        label=_("Region"), queryset=Region.objects.all(), required=False, empty_label=_("All regions")
    )


class MeetingTemplateTextForm(_ShownAgainForm):
    meeting_url_template = _text(
        _("Address of the video meetings"),
        _(
            "The region's meeting service, with {room} where each booking's own meeting room goes, for example "
            "https://mote.region.se/{room}. Must begin with https://. Leave empty to give each video visit its "
            "link by hand on the booking."
        ),
    )


class TypeWaitlistForm(forms.Form):
    """R-WAIT-1, R-WAIT-2: the type's waitlist settings; the rules are ``appointment_type_waitlist_update``'s."""

    freed_times = forms.ChoiceField(
        label=_("When a time of this type becomes free"),
        choices=FreedTimes.choices,
        widget=forms.RadioSelect,
        help_text=_("A time becomes free when a booking is cancelled, a block is removed or a new time is added."),
        error_messages={
            "required": _("Choose what happens to a freed time."),
            "invalid_choice": _("Choose what happens to a freed time."),
        },
    )
    offer_minutes = forms.IntegerField(
        label=_("How long an offer is kept (minutes)"),
        help_text=_("The time is kept for the resident this long; then it goes to the next person waiting."),
        error_messages={
            "required": _("Enter the number of minutes, for example 15."),
            "invalid": _("Enter the number of minutes as a whole number, for example 15."),
        },
    )
    waitlist_for_residents = forms.BooleanField(
        label=_("Residents may join the waitlist themselves when they book on the web"), required=False
    )
