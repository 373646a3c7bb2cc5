"""R-AUTH-2, R-SEC-2: a staff session counts only after it has passed its own second factor.

Enrolling a factor once is not enough: a session opened with the password alone (or by any
way around allauth's login) is sent to the second-factor step on every page, and refused on
the API, until this session has used its TOTP app, security key or a recovery code.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .acting import ACTING_SESSION_KEY, Acting, acting_resolve
from .mfa import session_passed_second_factor, user_has_second_factor
from .selectors import user_is_staff_member

# Where a session without its second factor may still go. A staff member with no factor yet
# may set one up: the password check that comes before it and the factor pages. Once the
# account has a factor, a session that has not used it may only use it (or log out): the
# pages that remove or add a factor, and the password-only reauthentication before them,
# would let a session that knows just the password swap the factor for its own (R-SEC-2).
# Changing the password or the e-mail address needs the second factor too.
_ALWAYS_ALLOWED_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/2fa/authenticate/",
    "/accounts/2fa/reauthenticate/",
    "/accounts/2fa/webauthn/reauthenticate/",
    "/i18n/",
    "/static/",
)
_SET_UP_PREFIXES = (
    "/accounts/reauthenticate/",
    "/accounts/2fa/",
)
_API_PREFIX = "/api/"


def _api_refusal() -> JsonResponse:
    body = {
        "type": "https://tidbok.se/problem/second_factor_required",
        "title": _("Second factor required"),
        "status": 403,
        "code": "SECOND_FACTOR_REQUIRED",
        "detail": _("Log in with your second factor before using the staff API."),
    }
    return JsonResponse(body, status=403, content_type="application/problem+json")


class RequireStaffMFAMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or request.path.startswith(_ALWAYS_ALLOWED_PREFIXES)
            or not user_is_staff_member(user)
            or session_passed_second_factor(request)
        ):
            return self.get_response(request)
        has_factor = user_has_second_factor(user)
        if not has_factor and request.path.startswith(_SET_UP_PREFIXES):
            return self.get_response(request)
        if request.path.startswith(_API_PREFIX):
            return _api_refusal()
        if not has_factor:
            return redirect("mfa_index")
        # The factor exists but this session has not used it: ask for it, then come back.
        next_path = request.get_full_path() if request.method == "GET" else "/personal/"
        return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({REDIRECT_FIELD_NAME: next_path})}")


# A stale choice never blocks these: logging out, switching language, choosing whom to act for.
_ACTING_FREE_PREFIXES = ("/accounts/logout/", "/i18n/", "/boka-for/", "/static/")


class ActingForMiddleware:
    """R-GUARD-2, R-GUARD-3, R-POA-1: every page request of a resident resolves again whom they act
    for (``request.acting``, ``request.patient``) from the choice in the session — custody can end
    or a power of attorney be revoked mid-session. A choice no longer allowed is dropped: a page
    shows the resident's own data with a message, and a form sent from a page opened before (or
    naming another patient than the one now chosen) is refused and changes nothing. The API names
    its patient in each request instead (``bookings.api``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_resident or request.path.startswith(_API_PREFIX):
            return self.get_response(request)
        chosen = request.session.get(ACTING_SESSION_KEY)
        acting = acting_resolve(actor=user, patient_id=chosen if isinstance(chosen, int) else None)
        posted = request.POST.get("acting_for") if request.method == "POST" else None
        stale = acting is None or (posted is not None and posted != str(acting.patient.pk))
        if acting is None:
            request.session.pop(ACTING_SESSION_KEY, None)
            acting = Acting(actor=user, patient=user)
        request.acting = acting  # type: ignore[attr-defined]
        request.patient = acting.patient  # type: ignore[attr-defined]
        if not stale or request.path.startswith(_ACTING_FREE_PREFIXES):
            return self.get_response(request)
        if request.method in ("GET", "HEAD", "OPTIONS"):
            messages.warning(request, _("You can no longer act for that person. You now see your own pages."))
            return self.get_response(request)
        return render(request, "accounts/acting_refused.html", status=403)
