from django.contrib import admin

from accounts.admin_site import ReadOnlyAdminMixin
from clinics.admin_site import ResidentDataAdmin

from .models import Block, Hold, Schedule, Slot


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: a schedule's times are made, checked against the no-overlap rule (R-OPS-6) and
    removed by schedules.services; a row changed here would not match its slots (R-SEC-1)."""

    list_display = ("resource", "appointment_type", "clinic", "start_date", "end_date", "day_start", "day_end")
    list_filter = ("clinic",)
    search_fields = ("resource__name", "appointment_type__internal_name", "clinic__name")
    raw_id_fields = ("resource", "appointment_type", "created_by")


@admin.register(Slot)
class SlotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: slots change through schedules.services, which keep the rules (R-SEC-1)."""

    list_display = ("start", "end", "resource", "appointment_type", "clinic", "status", "is_published", "is_blocked")
    list_filter = ("status", "is_published", "is_blocked", "clinic")
    search_fields = ("resource__name", "appointment_type__internal_name", "clinic__name")
    date_hierarchy = "start"
    raw_id_fields = ("resource", "appointment_type", "schedule", "clinic")
    list_select_related = ("resource", "appointment_type", "clinic")


@admin.register(Block)
class BlockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: a block marks and unmarks the slots it covers through schedules.services;
    a block added or moved here would leave them bookable (R-SEC-1)."""

    list_display = ("resource", "start", "end", "reason", "clinic", "created_by")
    list_filter = ("clinic",)
    search_fields = ("resource__name", "reason")
    raw_id_fields = ("resource", "clinic", "created_by")


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: holds are taken and released by schedules.services (R-SEC-1)."""

    clinic_field = None
    list_display = ("slot", "resident", "state", "expires_at", "created_at")
    list_filter = ("state",)
    raw_id_fields = ("slot", "resident", "rebook_of")
