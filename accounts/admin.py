from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["clinic"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "personnummer", "email", "first_name", "last_name", "home_region_code", "is_staff")
    list_filter = ("is_staff", "is_superuser", "is_active", "home_region_code", "memberships__role")
    search_fields = ("username", "personnummer", "email", "first_name", "last_name")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Resident"), {"fields": ("personnummer", "home_region_code", "phone")}),
    )
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "clinic", "region", "unit_name", "created_at")
    list_filter = ("role", "region")
    search_fields = ("user__email", "user__username", "clinic__name", "clinic__hsa_id")
    autocomplete_fields = ["user", "clinic"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is evidence (R-LOG-4)."""

    list_display = ("created_at", "actor", "action", "clinic", "unit_name", "resident", "object_type", "object_id")
    list_filter = ("action", "clinic")
    search_fields = ("actor__email", "resident__personnummer", "object_id", "detail")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
