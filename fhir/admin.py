from django.contrib import admin

from .models import BulkPublishFile


@admin.register(BulkPublishFile)
class BulkPublishFileAdmin(admin.ModelAdmin):
    """Read-only: the files are written by the ``bulk_publish_refresh`` task."""

    list_display = ("resource_type", "generated_at")
    readonly_fields = ("resource_type", "generated_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
