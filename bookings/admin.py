from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin_site import ReadOnlyAdminMixin
from clinics.admin_site import ResidentDataAdmin
from core.models import IdempotencyRecord

from .models import (
    Attendance,
    Booking,
    BookingBasis,
    CalendarFeed,
    InboxMessage,
    WaitlistEntry,
    WaitlistOffer,
    WebBookingLogEntry,
)


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: bookings change through bookings.services, which keep the rules (R-SEC-1)."""

    list_display = ("start", "resident", "clinic", "appointment_type", "resource", "status", "channel", "created_by")
    list_filter = ("status", "channel", "clinic")
    search_fields = ("resident__last_name", "clinic__name")
    date_hierarchy = "start"
    raw_id_fields = ("slot", "resident", "created_by", "ended_by", "booking_basis", "waitlist_entry", "rebooked_from")
    list_select_related = ("resident", "clinic", "appointment_type", "resource", "created_by")
    # A video visit's link is the resident's secret (bookings.video): not on the operators' pages either.
    exclude = ("meeting_url",)


@admin.register(BookingBasis)
class BookingBasisAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: bases are issued and used up by bookings.services (R-SEC-1)."""

    list_display = ("resident", "appointment_type", "clinic", "valid_until", "consumed_at", "issued_by")
    list_filter = ("clinic",)
    search_fields = ("resident__last_name", "note")
    raw_id_fields = ("resident", "appointment_type", "issued_by")


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: the waitlist changes through bookings.services (R-SEC-1)."""

    list_display = ("resident", "clinic", "appointment_type", "status", "priority", "by_resident", "created_at")
    list_filter = ("status", "by_resident", "clinic")
    search_fields = ("resident__last_name", "note")
    raw_id_fields = ("resident", "appointment_type")


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: offers are made, answered and expired by bookings.services (R-WAIT-3). The token
    is the offer's link: never shown here."""

    list_display = ("slot", "resident", "state", "expires_at", "created_at", "answered_at")
    list_filter = ("state",)
    exclude = ("token",)
    raw_id_fields = ("entry", "slot", "booking")
    list_select_related = ("entry__resident", "slot__resource")

    @admin.display(description=_("resident"))
    def resident(self, offer: WaitlistOffer) -> object:
        return offer.entry.resident


@admin.register(InboxMessage)
class InboxMessageAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: messages are written, and sent once each, by bookings.services (R-SEC-1)."""

    list_display = ("created_at", "resident", "clinic", "kind", "subject", "read_at", "notified_at")
    list_filter = ("kind", "clinic")
    search_fields = ("resident__last_name", "subject")
    raw_id_fields = ("resident", "booking")


@admin.register(WebBookingLogEntry)
class WebBookingLogEntryAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: the web booking log is written by the booking services (R-LOG-1)."""

    list_display = ("changed_at", "status", "resident", "clinic", "previous_date", "new_date", "channel", "is_late")
    list_filter = ("status", "channel", "is_late", "clinic")
    search_fields = ("resident__last_name",)
    date_hierarchy = "changed_at"
    raw_id_fields = ("resident", "booking", "booking_basis")


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: reception marks, changes and undoes attendance through bookings.services, which
    keep the same-day rule and the audit log (R-ATT-1)."""

    list_display = ("booking", "state", "marked_at", "marked_by")
    list_filter = ("state",)
    date_hierarchy = "marked_at"
    raw_id_fields = ("booking", "marked_by")
    list_select_related = ("booking__resident", "marked_by")


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdminMixin, ResidentDataAdmin):
    """Read-only: only the resident creates, replaces or revokes their feed (R-NOTE-5); the row holds a hash, never
    the address, so the admin cannot read anyone's calendar either."""

    clinic_field = None
    list_display = ("resident", "created_at")
    raw_id_fields = ("resident",)
    list_select_related = ("resident",)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ResidentDataAdmin):
    resident_field = "user"
    clinic_field = None
    list_display = ("created_at", "user", "key", "status_code")
    search_fields = ("key",)
    raw_id_fields = ("user",)
    date_hierarchy = "created_at"
