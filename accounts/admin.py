"""The admin of staff memberships. The user and audit log admins, and allauth's and REST framework's
admins of users' rows, record the residents they show by clinic and region (R-SEC-1, R-LOG-4), so
they are registered above clinics, in ``clinics/admin.py``."""

from django.contrib import admin

from .models import Membership


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
