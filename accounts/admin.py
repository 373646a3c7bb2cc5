from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import TokenProxy

from .admin_site import ReadOnlyAdminMixin, ResidentDataAdmin
from .models import AuditEvent, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["clinic"]


@admin.register(User)
class UserAdmin(ResidentDataAdmin, BaseUserAdmin):
    """Residents and staff. Opening a resident, or a list page with residents on it, is audited
    (R-SEC-1); residents are not searchable by personnummer here (R-SEC-3): not the field, and not
    the username either, which for a resident is ``pnr-`` and the number."""

    resident_field = None
    clinic_field = None
    list_display = ("username", "personnummer", "email", "first_name", "last_name", "home_region_code", "is_staff")
    list_filter = ("is_staff", "is_superuser", "is_active", "home_region_code", "memberships__role")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Resident"), {"fields": ("personnummer", "home_region_code", "phone")}),
    )
    inlines = [MembershipInline]

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path == reverse("admin:autocomplete"):
            # Picking the staff member of a membership never lists residents.
            queryset = queryset.filter(personnummer__isnull=True)
        return queryset, may_have_duplicates


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "clinic", "region", "unit_name", "created_at")
    list_filter = ("role", "region")
    search_fields = ("user__email", "user__first_name", "user__last_name", "clinic__name", "clinic__hsa_id")
    autocomplete_fields = ["user", "clinic"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: the audit log is evidence (R-LOG-4), and reading it is audited too."""

    list_display = (
        "created_at",
        "actor",
        "role",
        "action",
        "clinic",
        "unit_name",
        "resident",
        "object_type",
        "object_id",
    )
    list_filter = ("action", "clinic")
    search_fields = ("actor__email", "object_id", "detail")
    date_hierarchy = "created_at"
    list_select_related = ("actor", "clinic", "resident")


def _audit_registered_admin(model, *, search_fields: tuple[str, ...] | None = None) -> None:
    """Third-party admins that list users (allauth's e-mail addresses and eID accounts, DRF's
    tokens) record which residents they showed, like ours (R-SEC-1)."""
    existing = type(admin.site._registry[model])
    attrs: dict[str, Any] = {"resident_field": "user", "clinic_field": None}
    if search_fields is not None:
        attrs["search_fields"] = search_fields
    admin.site.unregister(model)
    admin.site.register(model, type(existing.__name__, (ResidentDataAdmin, existing), attrs))


def _audit_third_party_admins() -> None:
    # Searched by address only: allauth adds the username, a resident's personnummer (R-SEC-3).
    _audit_registered_admin(EmailAddress, search_fields=("email",))
    # An eID account's uid may be the personnummer: not searchable through a URL (R-SEC-3).
    _audit_registered_admin(SocialAccount, search_fields=())
    _audit_registered_admin(TokenProxy, search_fields=("user__email",))


_audit_third_party_admins()
