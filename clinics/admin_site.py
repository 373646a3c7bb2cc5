"""The model admin for pages that show residents' data (R-SEC-1, R-LOG-4): it records who saw which
resident by clinic and region, so it sits above clinics; the site itself is
:class:`accounts.admin_site.TidbokAdminSite`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.models import User

from .audit_services import audit_admin_residents_shown


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
