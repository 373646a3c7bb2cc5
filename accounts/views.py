"""Resident login: the e-identification provider, or the development identity provider when
TIDBOK_DEV_LOGIN is on (R-AUTH-1)."""

from __future__ import annotations

from allauth.account.views import logout as allauth_logout
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core import params
from core.authentication import token_expires_at
from core.errors import ValidationFailed

from . import eid
from .acting import ACTING_SESSION_KEY, acting_resolve
from .decorators import resident_required
from .forms import DevLoginForm
from .http import AuthenticatedHttpRequest
from .models import User
from .services import app_token_current, app_tokens_revoke, resident_get_or_create, resident_register_refresh


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/start/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/start/"


def resident_login(request: HttpRequest) -> HttpResponse:
    """The resident's way in: the configured eID provider, and in development the test provider."""
    eid_configured = bool(settings.OIDC_ISSUER) or SocialApp.objects.filter(provider="openid_connect").exists()
    return render(
        request,
        "accounts/login.html",
        {
            "next": _safe_next(request),
            "eid_configured": eid_configured,
            "eid_provider_id": settings.OIDC_PROVIDER_ID,
            "dev_login": settings.TIDBOK_DEV_LOGIN,
        },
    )


@require_http_methods(["GET", "POST"])
def dev_login(request: HttpRequest) -> HttpResponse:
    """Development identity provider: choose a demo resident or type a test personnummer.
    Off unless TIDBOK_DEV_LOGIN is explicitly set; it must never be on in production."""
    if not settings.TIDBOK_DEV_LOGIN:
        raise Http404
    form = DevLoginForm(request.POST if request.method == "POST" else None, auto_id="%s")
    if form.is_valid():
        try:
            user, _created = resident_get_or_create(personnummer=form.cleaned_data["personnummer"])
        except ValidationFailed as exc:
            for message in exc.field_errors.get("personnummer", []):
                form.add_error("personnummer", str(message))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            resident_register_refresh(resident=user)
            return redirect(_safe_next(request))
    demo_residents = User.objects.filter(personnummer__isnull=False).order_by("last_name", "first_name")[:10]
    return render(
        request,
        "accounts/dev_login.html",
        {"residents": demo_residents, "form": form, "next": _safe_next(request)},
        status=400 if form.errors else 200,
    )


@resident_required
@require_http_methods(["GET", "POST"])
def app_tokens(request: HttpRequest) -> HttpResponse:
    """R-SEC-5: the resident sees whether an app is logged in with their account and can log every
    app out."""
    if request.method == "POST":
        if app_tokens_revoke(user=request.user):
            messages.success(request, _("Every app has been logged out of your account."))
        else:
            messages.info(request, _("No app was logged in with your account."))
        return redirect("app_tokens")
    token = app_token_current(user=request.user)
    return render(
        request,
        "accounts/app_tokens.html",
        {"token": token, "expires": token_expires_at(token) if token else None},
    )


def logout(request: HttpRequest) -> HttpResponse:
    """allauth's logout, and for an e-ID login also the provider's (RP-initiated logout), so
    the next person at a shared computer meets the provider's login, not this resident's
    session there (R-AUTH-1)."""
    stored = request.session.get(eid.SESSION_KEY) if request.method == "POST" else None
    response = allauth_logout(request)
    if not isinstance(stored, dict) or request.user.is_authenticated:
        return response
    form = eid.end_session_form(
        request,
        provider_id=str(stored.get("provider_id", "")),
        id_token=str(stored.get("id_token", "")),
        return_to=request.build_absolute_uri(reverse("resident_logged_out")),
    )
    if form is None:
        return response
    page = render(request, "accounts/logout_eid.html", {"form": form})
    page["Cache-Control"] = "no-store"
    return page


def logged_out(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the resident back after logging out there too."""
    return render(request, "accounts/logged_out.html")


@require_POST
@resident_required
def acting_choose(request: AuthenticatedHttpRequest) -> HttpResponse:
    """ "Boka för" (R-GUARD-2, R-POA-1): act for oneself, a child or a grantor from now on. The
    choice is checked here and again on every later request."""
    patient_id = params.optional_id(request.POST.get("patient", ""))
    acting = acting_resolve(actor=request.user, patient_id=patient_id) if patient_id is not None else None
    if acting is None:
        messages.error(request, _("You cannot act for that person."))
        return redirect("bookings:start")
    if acting.is_self:
        request.session.pop(ACTING_SESSION_KEY, None)
        messages.success(request, _("You now book for yourself."))
    else:
        request.session[ACTING_SESSION_KEY] = acting.patient.pk
        messages.success(
            request, _("You now book for %(name)s.") % {"name": acting.patient.get_full_name() or _("a resident")}
        )
    return redirect("bookings:start")
