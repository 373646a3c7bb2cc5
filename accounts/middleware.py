"""R-AUTH-2, R-SEC-2: a staff session counts only after it has passed its own second factor.

Enrolling a factor once is not enough: a session opened with the password alone (or by any
way around allauth's login) is sent to the second-factor step on every page, and refused on
the API, until this session has used its TOTP app, security key or a recovery code.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

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
