"""Input parsing for the local admin's workspace pages. Forms only turn the posted strings into
Python values; every rule (R-TYPE-*, R-RES-1, R-CASE-*) is checked by ``clinics.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .models import AppointmentType

TYPE_TEXT_FIELDS = ("internal_name", "web_name", "web_info")
TYPE_FLAG_FIELDS = ("bookable_on_web", "cancellable_on_web", "reschedulable_on_web", "hidden_for_patient")
TYPE_BOOL_FIELDS = (*TYPE_FLAG_FIELDS, "requires_booking_basis")


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
        return {"duration_minutes": 20, "visibility_days": ""}
    values: dict[str, Any] = {field: getattr(instance, field) for field in (*TYPE_TEXT_FIELDS, *TYPE_BOOL_FIELDS)}
    values["visibility_days"] = "" if instance.visibility_days is None else instance.visibility_days
    values["duration_minutes"] = instance.duration_minutes
    return values


def type_values_from_post(data: QueryDict) -> dict[str, Any]:
    """What the form shows again after a refused post: the resident-facing text exactly as typed."""
    values: dict[str, Any] = {field: data.get(field, "") for field in TYPE_TEXT_FIELDS}
    values.update({field: bool(data.get(field)) for field in TYPE_BOOL_FIELDS})
    values["visibility_days"] = data.get("visibility_days", "").strip()
    values["duration_minutes"] = data.get("duration_minutes", "").strip()
    return values
