"""The admin of staff memberships. The user and audit log admins, and allauth's and REST framework's
admins of users' rows, record the residents they show by clinic and region (R-SEC-1, R-LOG-4), so
they are registered above clinics, in ``clinics/admin.py``."""

from django.contrib import admin
from django.http import HttpRequest

from .models import Membership, UserSession


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["clinic"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "clinic", "region", "unit_name", "created_at")
    list_filter = ("role", "region")
    search_fields = ("user__email", "user__first_name", "user__last_name", "clinic__name", "clinic__hsa_id")
    autocomplete_fields = ["user", "clinic"]


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    """How many sessions are open and when they end; nothing more. A session's key would sign its
    holder in and its user is a person (R-SEC-1), so neither is shown, nor any row opened or
    changed: logging someone out is region IT's reset of their second factor (user_sessions_end)."""

    list_display = ("expire_date",)
    list_display_links = None
    actions = None
    ordering = ("-expire_date",)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return obj is None and super().has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
