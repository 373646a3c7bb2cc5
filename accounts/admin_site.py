"""The Django admin as a staff surface like any other (R-SEC-1).

- There is no admin login form: /admin/login/ sends the browser to allauth's staff login, so the
  password is checked once, under allauth's rate limits, followed by the second factor.
- A page of the admin opens only for an active staff account whose *session* passed its second
  factor (R-SEC-2), not merely one that has a factor enrolled.
- Model admins that show residents' data record who saw which resident (R-LOG-4) through
  :class:`ResidentDataAdmin`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
from .models import User
from .services import audit_admin_residents_shown

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


class ResidentDataAdmin(admin.ModelAdmin):
    """A model admin whose pages show residents' data: every change list page records one audit
    event per resident on it, every page of one object (change, history, delete) one for its
    resident (R-SEC-1, R-LOG-4).

    ``resident_field`` names the foreign key to the resident (``None``: the object is the user).
    Searching by personnummer is not offered: the admin's search is a GET query, and a
    personnummer never goes in a URL (R-SEC-3).
    """

    resident_field: str | None = "resident"
    clinic_field: str | None = "clinic"

    def _shown(self, objects: Iterable[Any]) -> list[tuple[int, int | None]]:
        shown = []
        for obj in objects:
            if self.resident_field is None:
                resident_id = obj.pk if getattr(obj, "personnummer", None) else None
            else:
                resident_id = getattr(obj, f"{self.resident_field}_id", None)
            if resident_id is not None:
                clinic_id = getattr(obj, f"{self.clinic_field}_id", None) if self.clinic_field else None
                shown.append((resident_id, clinic_id))
        return shown

    def _audit(self, request: HttpRequest, action: str, objects: Iterable[Any]) -> None:
        actor = request.user
        if not isinstance(actor, User):
            # Not reached: admin_view lets only has_permission() users (logged-in staff) in.
            raise PermissionDenied
        audit_admin_residents_shown(
            actor=actor,
            action=action,
            shown=self._shown(objects),
            detail=f"{self.model._meta.label} {request.path}",
        )

    def get_changelist_instance(self, request: HttpRequest):
        changelist = super().get_changelist_instance(request)
        self._audit(request, "admin.list", changelist.result_list)
        return changelist

    def get_deleted_objects(self, objs, request: HttpRequest):
        # "Delete selected" over all pages lists rows the change list page never showed (rows
        # picked on the page, and one object's delete page, are on record already).
        if request.POST.get("action") == "delete_selected" and request.POST.get("select_across") == "1":
            self._audit(request, "admin.list", objs)
        return super().get_deleted_objects(objs, request)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            self._audit(request, "admin.read", [obj])
        return obj


class ReadOnlyAdminMixin:
    """Changes go through the services, which keep the booking rules (R-SEC-1): the admin
    only shows these rows."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
