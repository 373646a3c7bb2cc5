"""The allauth pages Tidbok exposes under /accounts/ (R-AUTH-1, R-AUTH-2).

Not all of ``allauth.urls``: that brings signup, password reset by e-mail and the third-party
connections page, through which a resident could get around e-ID or link another person's
e-ID to their own account. Staff keep the login, logout, reauthentication, their password and
e-mail pages and the second-factor pages; residents get the e-ID login and logout only: a
resident who is logged in finds none of the staff pages (404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from allauth.account import urls as account_urls
from allauth.mfa import urls as mfa_urls
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path

from . import eid, views

STAFF_ACCOUNT_PAGES = {
    "account_login",
    "account_inactive",
    "account_reauthenticate",
    "account_change_password",
    "account_set_password",
    "account_email",
    "account_email_verification_sent",
    "account_confirm_email",
    # The set-password link of a staff invitation (accounts.invitations); the page that asks for
    # a reset link by e-mail stays out.
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
}


def staff_pages_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request.user, "is_resident", False):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _staff_only(patterns: list) -> list[URLPattern | URLResolver]:
    wrapped: list[URLPattern | URLResolver] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = _staff_only(entry.url_patterns)
            wrapped.append(URLResolver(entry.pattern, inner, entry.default_kwargs, entry.app_name, entry.namespace))
        else:
            wrapped.append(URLPattern(entry.pattern, staff_pages_only(entry.callback), entry.default_args, entry.name))
    return wrapped


urlpatterns = [
    *_staff_only([p for p in account_urls.urlpatterns if getattr(p, "name", None) in STAFF_ACCOUNT_PAGES]),
    path("logout/", views.logout, name="account_logout"),
    path("2fa/", include(_staff_only(mfa_urls.urlpatterns))),
    path("oidc/<str:provider_id>/login/", eid.eid_login, name="openid_connect_login"),
    path("oidc/<str:provider_id>/login/callback/", eid.eid_callback, name="openid_connect_callback"),
]
