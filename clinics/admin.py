from django.contrib import admin

from accounts.admin_site import ReadOnlyAdminMixin, ResidentDataAdmin

from .models import AppointmentType, CaseType, Clinic, ClinicRelation, DirectLink, Region, Resource


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


class CaseTypeInline(admin.StackedInline):
    model = CaseType
    extra = 0
    max_num = 2


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "hsa_id",
        "region",
        "town",
        "supports_booking",
        "supports_rebooking",
        "supports_cancellation",
    )
    list_filter = (
        "region",
        "supports_booking",
        "supports_rebooking",
        "supports_cancellation",
        "patient_comment_on_web",
    )
    search_fields = ("name", "hsa_id", "town")
    inlines = [CaseTypeInline]


@admin.register(CaseType)
class CaseTypeAdmin(admin.ModelAdmin):
    list_display = ("clinic", "kind", "is_active", "audience", "area", "updated_at")
    list_filter = ("kind", "is_active", "audience", "area", "clinic__region")
    search_fields = ("clinic__name",)


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    list_display = (
        "internal_name",
        "web_name",
        "clinic",
        "bookable_on_web",
        "cancellable_on_web",
        "reschedulable_on_web",
        "hidden_for_patient",
        "visibility_days",
        "requires_booking_basis",
    )
    list_filter = ("bookable_on_web", "cancellable_on_web", "reschedulable_on_web", "hidden_for_patient", "clinic")
    search_fields = ("internal_name", "web_name", "clinic__name")


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "clinic", "is_active")
    list_filter = ("kind", "is_active", "clinic")
    search_fields = ("name", "clinic__name")


@admin.register(DirectLink)
class DirectLinkAdmin(admin.ModelAdmin):
    list_display = ("clinic", "kind", "label", "token", "created_at")
    list_filter = ("kind",)
    search_fields = ("clinic__name", "label", "token")


@admin.register(ClinicRelation)
class ClinicRelationAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: a resident's relations change through the resident's own choices and the
    booking services (R-REL, R-SEC-1)."""

    list_display = ("resident", "clinic", "on_start_page", "approved_for_communication", "source", "updated_at")
    list_filter = ("on_start_page", "approved_for_communication", "source", "clinic")
    search_fields = ("resident__last_name", "clinic__name")
    raw_id_fields = ("resident",)
