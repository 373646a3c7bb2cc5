"""Forms of the proxy bookers' pages (R-TYPE-6). They only parse input: the rules are the
services' and selectors', whose field errors come back onto the same fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.personnummer import normalise_personnummer
from clinics.models import Clinic
from clinics.selectors import proxy_types_in_regions
from core import params
from core.errors import DomainError, ValidationFailed
from schedules.forms import PersonnummerField


class ProxyResidentForm(forms.Form):
    personnummer = PersonnummerField()

    def clean_personnummer(self) -> str:
        try:
            return normalise_personnummer(self.cleaned_data["personnummer"])
        except ValidationFailed as exc:
            raise forms.ValidationError([str(m) for m in exc.field_errors["personnummer"]]) from None


class ProxySearchForm(forms.Form):
    """Where and what to look for: area (town), clinic, type (its name on the web, the same at
    every clinic that offers it) and day. Only proxy types of the booker's regions are offered."""

    ort = forms.ChoiceField(label=_("Area"), required=False)
    mottagning = forms.TypedChoiceField(label=_("Clinic"), required=False, coerce=int, empty_value=None)
    typ = forms.ChoiceField(label=_("Appointment type"), required=False)
    datum = params.DateField(
        label=_("Day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Empty: the days with free times."),
    )

    def __init__(self, *args, region_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        types = list(proxy_types_in_regions(region_ids=region_ids))
        clinics = {t.clinic.pk: t.clinic for t in types}
        towns = sorted({c.town for c in clinics.values() if c.town})
        names = sorted({t.web_name for t in types})
        self.clinics = clinics
        choices = {
            "ort": [("", _("All areas")), *[(town, town) for town in towns]],
            "mottagning": [("", _("All clinics")), *[(str(c.pk), c.name) for c in clinics.values()]],
            "typ": [("", _("All proxy types")), *[(name, name) for name in names]],
        }
        for name, field_choices in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = field_choices
            field.error_messages["invalid_choice"] = _("Choose one of the alternatives in the list.")

    def clinic(self) -> Clinic | None:
        clinic_id = self.cleaned_data.get("mottagning")
        return self.clinics.get(clinic_id) if clinic_id else None

    def query(self) -> dict[str, str]:
        """The valid filters as query parameters, for the links to a day and a time."""
        data = self.cleaned_data
        values = {
            "ort": data.get("ort") or "",
            "mottagning": str(data.get("mottagning") or ""),
            "typ": data.get("typ") or "",
        }
        return {name: value for name, value in values.items() if value}


class ProxyBookForm(forms.Form):
    phone = forms.CharField(
        label=_("The resident's phone number"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    reason = forms.CharField(
        label=_("Reason for the visit"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        # The service checks the length (R-TYPE-7), with the same message as the resident's form.
        help_text=_("Shown to the clinic with the booking, not to the resident."),
    )

    def add_domain_errors(self, exc: DomainError) -> None:
        if not exc.field_errors:
            self.add_error(None, str(exc.message))
        for name, errors in exc.field_errors.items():
            for error in errors:
                self.add_error(name if name in self.fields else None, str(error))
