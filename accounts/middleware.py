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

# Where a session without its second factor may still go: allauth's login and logout, the
# password check that comes before setting a factor up, the factor pages themselves (set up,
# enter a code), language switching and static files. Not the rest of /accounts/: changing the
# password or the e-mail address needs the second factor too.
_ALLOWED_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/reauthenticate/",
    "/accounts/2fa/",
    "/i18n/",
    "/static/",
)
_API_PREFIX = "/api/"


def _api_refusal() -> JsonResponse:
    body = {
        "type": "https://tidbok.se/problem/second_factor_required",
        "title": "Second factor required",
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
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and user_is_staff_member(user)
            and not session_passed_second_factor(request)
        ):
            if request.path.startswith(_API_PREFIX):
                return _api_refusal()
            if not user_has_second_factor(user):
                return redirect("mfa_index")
            # The factor exists but this session has not used it: ask for it, then come back.
            next_path = request.get_full_path() if request.method == "GET" else "/personal/"
            return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({REDIRECT_FIELD_NAME: next_path})}")
        return self.get_response(request)
