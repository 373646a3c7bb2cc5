from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import TokenProxy

from accounts.admin import MembershipInline
from accounts.admin_site import ReadOnlyAdminMixin
from accounts.models import AuditEvent, ContactDetails, Custody, PowerOfAttorney, User

from .admin_site import ResidentDataAdmin
from .models import AppointmentType, CaseType, Clinic, ClinicRelation, DirectLink, Region, Resource
from .services import feed_refresh_later


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


class CaseTypeInline(admin.StackedInline):
    model = CaseType
    extra = 0
    max_num = 2


class FeedRefreshAdminMixin(admin.ModelAdmin):
    """A change in the admin (a clinic's timebook no longer books, a case type switched off, a
    type's flags) changes what the FHIR feed offers: it is refreshed after the commit, as when the
    same change is made on the workspace pages."""

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        feed_refresh_later()

    def delete_model(self, request: Any, obj: Any) -> None:
        super().delete_model(request, obj)
        feed_refresh_later()


@admin.register(Clinic)
class ClinicAdmin(FeedRefreshAdminMixin):
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
class CaseTypeAdmin(FeedRefreshAdminMixin):
    list_display = ("clinic", "kind", "is_active", "audience", "area", "updated_at")
    list_filter = ("kind", "is_active", "audience", "area", "clinic__region")
    search_fields = ("clinic__name",)


@admin.register(AppointmentType)
class AppointmentTypeAdmin(FeedRefreshAdminMixin):
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
        "is_video_visit",
        "freed_times",
    )
    list_filter = (
        "bookable_on_web",
        "cancellable_on_web",
        "reschedulable_on_web",
        "hidden_for_patient",
        "is_video_visit",
        "freed_times",
        "clinic",
    )
    search_fields = ("internal_name", "web_name", "clinic__name")


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "clinic", "is_active")
    list_filter = ("kind", "is_active", "clinic")
    search_fields = ("name", "clinic__name")

    def get_readonly_fields(self, request: HttpRequest, obj: Resource | None = None) -> tuple[str, ...]:
        # A resource's slots, schedules and bookings carry its clinic (the slot's composite key
        # to the resource refuses any other), so once it exists it stays with its clinic: a new
        # clinic gets a resource of its own.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "clinic") if obj is not None else readonly


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


# --- Accounts' rows that show residents (R-SEC-1, R-LOG-4): audited by clinic and region -------


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


@admin.register(ContactDetails)
class ContactDetailsAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: only the resident changes their contact details, and only a verified address is
    ever stored as one (R-NOTE-1). Here with the user admin: it shows a resident's rows."""

    resident_field = "user"
    clinic_field = None
    list_display = ("user", "email_verified_at", "mobile_verified_at", "language")
    raw_id_fields = ("user",)
    list_select_related = ("user",)


@admin.register(Custody)
class CustodyAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: custody comes from the population register alone (R-GUARD-1)."""

    resident_field = "child"
    clinic_field = None
    list_display = ("guardian", "child", "child_birth_date", "refreshed_at")
    raw_id_fields = ("guardian", "child")
    list_select_related = ("guardian", "child")


@admin.register(PowerOfAttorney)
class PowerOfAttorneyAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: only the two residents give, accept and end a power of attorney (R-POA-1)."""

    resident_field = "grantor"
    clinic_field = None
    list_display = ("grantor", "grantee", "all_clinics", "valid_until", "accepted_at", "ended_at")
    raw_id_fields = ("grantor", "grantee", "ended_by")
    list_select_related = ("grantor", "grantee")
