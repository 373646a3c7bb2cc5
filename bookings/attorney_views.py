"""Powers of attorney on the resident's own page (R-POA-1): give one, accept or decline one given
to you, end one at once. Always the logged-in resident's own, whoever they act for at the moment."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import resident_required
from accounts.http import AuthenticatedHttpRequest
from accounts.models import PowerOfAttorney
from clinics.selectors import start_page_clinics
from core.errors import DomainError, ValidationFailed

from .forms import ALL_CLINICS, CHOSEN_CLINICS, PowerOfAttorneyForm
from .services import power_of_attorney_accept, power_of_attorney_end, power_of_attorney_grant


def _page(request: AuthenticatedHttpRequest, form: PowerOfAttorneyForm, status: int = 200) -> HttpResponse:
    user = request.user
    return render(
        request,
        "bookings/attorneys.html",
        {
            "form": form,
            "given": PowerOfAttorney.objects.filter(grantor=user, ended_at__isnull=True)
            .select_related("grantee")
            .prefetch_related("clinics"),
            "held": PowerOfAttorney.objects.filter(grantee=user, ended_at__isnull=True)
            .select_related("grantor")
            .prefetch_related("clinics"),
        },
        status=status,
    )


@resident_required
@require_http_methods(["GET", "POST"])
def attorneys(request: AuthenticatedHttpRequest) -> HttpResponse:
    clinics = start_page_clinics(resident=request.user).order_by("name")
    form = PowerOfAttorneyForm(request.POST if request.method == "POST" else None, clinics=clinics, auto_id="%s")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            power_of_attorney_grant(
                grantor=request.user,
                personnummer=data["personnummer"],
                valid_until=data["valid_until"],
                all_clinics=data["scope"] == ALL_CLINICS,
                clinic_ids=[clinic.pk for clinic in data["clinics"]] if data["scope"] == CHOSEN_CLINICS else [],
            )
        except ValidationFailed as exc:
            for name, errors in exc.field_errors.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, str(error))
        else:
            messages.success(request, _("The power of attorney is given. It counts once the other person accepts it."))
            return redirect("bookings:attorneys")
    return _page(request, form, status=400 if form.errors else 200)


@require_POST
@resident_required
def attorney_change(request: AuthenticatedHttpRequest, power_id: int) -> HttpResponse:
    """Accept (the grantee) or end (either party) a power of attorney."""
    action = request.POST.get("action", "")
    try:
        if action == "accept":
            power_of_attorney_accept(grantee=request.user, power_id=power_id)
            messages.success(request, _("You accepted the power of attorney. Choose the person under “Book for”."))
        elif action == "end":
            power_of_attorney_end(actor=request.user, power_id=power_id)
            messages.success(request, _("The power of attorney has ended."))
        else:
            raise Http404
    except DomainError as exc:
        if exc.code == "NOT_FOUND":
            raise Http404 from None
        messages.error(request, exc.message)
    return redirect("bookings:attorneys")
