"""The Django admin as a staff surface like any other (R-SEC-1).

- There is no admin login form: /admin/login/ sends the browser to allauth's staff login, so the
  password is checked once, under allauth's rate limits, followed by the second factor.
- A page of the admin opens only for an active staff account whose *session* passed its second
  factor (R-SEC-2), not merely one that has a factor enrolled.
- Model admins that show residents' data record who saw which resident (R-LOG-4) through
  :class:`clinics.admin_site.ResidentDataAdmin` (it records by clinic and region, above clinics).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _

from .mfa import session_passed_second_factor

# A personnummer, or enough of one to pick a resident out, however it is typed: six or more
# digits in a row once the separators people type inside one (space, '-', '+') are taken out.
# "19850314 1234", "850314-1234" and a birth date "850314" alone are all refused; the admin's
# own parameters (page numbers, ids, years) are far shorter.
_SEPARATORS = re.compile(r"[\s+-]+")
_DIGIT_RUN = re.compile(r"[0-9]{6,}")


def looks_like_personnummer(value: str) -> bool:
    """R-SEC-3: could ``value`` carry (part of) a personnummer?"""
    return bool(_DIGIT_RUN.search(_SEPARATORS.sub("", value)))


_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


class TidbokAdminSite(admin.AdminSite):
    site_header = _("Tidbok administration")
    site_title = _("Tidbok administration")

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        """R-SEC-3: a personnummer typed into the admin's search (a GET query), in any of its
        written forms, is not searched for and not echoed into the page's links; the admin
        answers with the bare address."""
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if any(looks_like_personnummer(value) for value in request.GET.dict().values()):
                messages.error(
                    request,
                    _("A personal identity number is never put in an address. Find residents in the workspace."),
                )
                return HttpResponseRedirect(request.path)
            return inner(request, *args, **kwargs)

        # functools.wraps gives the wrapper the view's name and signature; mypy cannot see that.
        return cast(_View, wrapper)

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and not user.is_resident and session_passed_second_factor(request))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Never checks a password itself (a POST here is not read): the staff login does,
        with its rate limits and the second factor, then comes back to the admin."""
        if request.user.is_authenticated and session_passed_second_factor(request):
            # Logged in properly, but not an admin: no second chance with other credentials here.
            raise PermissionDenied
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = ""
        next_url = next_url or reverse("admin:index", current_app=self.name)
        return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")


class ReadOnlyAdminMixin:
    """Changes go through the services, which keep the booking rules (R-SEC-1): the admin
    only shows these rows."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
