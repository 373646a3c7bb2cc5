"""The resident's "Mina uppgifter" pages (R-NOTE-1): thin, the rules are in accounts.contact_services."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ValidationFailed

from . import contact_services as services
from .decorators import resident_required
from .forms import ContactCodeForm, ContactEmailForm, ContactMobileForm, ContactPreferencesForm
from .http import AuthenticatedHttpRequest


def _refused(form: forms.Form, error: ValidationFailed) -> None:
    for field, field_errors in error.field_errors.items():
        for message in field_errors:
            form.add_error(field if field in form.fields else None, str(message))


def _page(request: AuthenticatedHttpRequest, template: str, context: dict, *, invalid: bool) -> HttpResponse:
    return render(request, template, context, status=400 if invalid else 200)


@resident_required
@require_http_methods(["GET", "POST"])
def contact_details(request: AuthenticatedHttpRequest) -> HttpResponse:
    contact = services.contact_for(user=request.user)
    initial = {
        "reminders_by_email": contact.reminders_by_email,
        "reminders_by_sms": contact.reminders_by_sms,
        "language": contact.language,
    }
    form = ContactPreferencesForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_preferences_set(user=request.user, **form.cleaned_data)
        except ValidationFailed as error:
            _refused(form, error)
        else:
            messages.success(request, _("Your choices have been saved."))
            return redirect("contact_details")
    return _page(request, "accounts/contact_details.html", {"contact": contact, "form": form}, invalid=form.is_bound)


@resident_required
@require_http_methods(["GET", "POST"])
def contact_email(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ContactEmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_email_start(user=request.user, email=form.cleaned_data["email"])
        except ValidationFailed as error:
            _refused(form, error)
        else:
            messages.info(
                request,
                _("We have sent a link to %(email)s. Open it to confirm the address.")
                % {"email": contact.email_pending},
            )
            return redirect("contact_details")
    return _page(request, "accounts/contact_email.html", {"form": form}, invalid=form.is_bound)


@resident_required
def contact_email_confirm(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """The link in the e-mail. Only the resident who asked for it can use it (it names them)."""
    try:
        services.contact_email_confirm(user=request.user, token=token)
    except ValidationFailed as error:
        return render(
            request, "accounts/contact_link_expired.html", {"error": error.field_errors["token"][0]}, status=400
        )
    messages.success(request, _("Your e-mail address has been confirmed."))
    return redirect("contact_details")


@resident_required
@require_http_methods(["GET", "POST"])
def contact_mobile(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ContactMobileForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_mobile_start(user=request.user, mobile=form.cleaned_data["mobile"])
        except ValidationFailed as error:
            _refused(form, error)
        else:
            return redirect("contact_mobile_code")
    return _page(request, "accounts/contact_mobile.html", {"form": form}, invalid=form.is_bound)


@resident_required
@require_http_methods(["GET", "POST"])
def contact_mobile_code(request: AuthenticatedHttpRequest) -> HttpResponse:
    contact = services.contact_for(user=request.user)
    if not contact.mobile_pending:
        return redirect("contact_mobile")
    form = ContactCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_mobile_confirm(user=request.user, code=form.cleaned_data["code"])
        except ValidationFailed as error:
            _refused(form, error)
        else:
            messages.success(request, _("Your mobile number has been confirmed."))
            return redirect("contact_details")
    return _page(
        request, "accounts/contact_mobile_code.html", {"form": form, "contact": contact}, invalid=form.is_bound
    )


@resident_required
@require_POST
def contact_remove(request: AuthenticatedHttpRequest) -> HttpResponse:
    what = request.POST.get("what")
    if what == "email":
        services.contact_email_remove(user=request.user)
        messages.success(request, _("Your e-mail address has been removed."))
    elif what == "mobile":
        services.contact_mobile_remove(user=request.user)
        messages.success(request, _("Your mobile number has been removed."))
    return redirect("contact_details")
