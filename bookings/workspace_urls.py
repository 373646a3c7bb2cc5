"""Support and staff booking pages of the clinic workspace, under /personal/<clinic_id>/ (namespace
"workspace")."""

from django.urls import path

from . import attendance_views, basis_views, resident_views, staff_views, workspace_views

urlpatterns = [
    path("logg/", workspace_views.web_log, name="web_log"),
    path("logg.csv", workspace_views.web_log_csv, name="web_log_csv"),
    # Booking bases and open summons: issued by schedulers and local admins, read by support too.
    path("bokningsunderlag/", basis_views.booking_bases, name="booking_bases"),
    path("bokningsunderlag/nytt/", basis_views.booking_basis_new, name="booking_basis_new"),
    path("bokningsunderlag/<int:basis_id>/", basis_views.booking_basis, name="booking_basis"),
    path(
        "bokningsunderlag/<int:basis_id>/aterkalla/",
        basis_views.booking_basis_revoke_view,
        name="booking_basis_revoke",
    ),
    path("oppen-kallelse/ny/", basis_views.open_summons_new, name="open_summons_new"),
    # The staff booking pages: a booking in the timebook, booking for a resident, the waitlist.
    path("tidbok/bokning/<int:booking_id>/", staff_views.booking_detail, name="booking_detail"),
    path("tidbok/bokning/<int:booking_id>/avboka/", staff_views.booking_cancel, name="booking_cancel"),
    path("tidbok/bokning/<int:booking_id>/motelank/", staff_views.booking_meeting_link, name="booking_meeting_link"),
    # Reception's attendance marks from the timebook's day view (R-ATT-1) and the figures (R-ATT-2).
    path("tidbok/bokning/<int:booking_id>/narvaro/", attendance_views.attendance_mark_view, name="attendance_mark"),
    path(
        "tidbok/bokning/<int:booking_id>/narvaro/angra/",
        attendance_views.attendance_undo_view,
        name="attendance_undo",
    ),
    path("narvaro/", attendance_views.attendance_figures_page, name="attendance_figures"),
    path("narvaro.csv", attendance_views.attendance_figures_csv, name="attendance_figures_csv"),
    path("boka-at-invanare/", staff_views.book_for_resident, name="book_for_resident"),
    path("vantelista/", staff_views.waitlist, name="waitlist"),
    path("vantelista/<int:entry_id>/prioritet/", staff_views.waitlist_priority, name="waitlist_priority"),
    # The resident page: found by a posted personnummer, named by an opaque token (R-SEC-3).
    path("invanare/", resident_views.resident_page, name="resident_page"),
    path("invanare/godkann/", resident_views.resident_approve, name="resident_approve"),
    path("invanare/ta-bort-godkannande/", resident_views.resident_withdraw, name="resident_withdraw"),
    path("invanare/meddelande/", resident_views.resident_message, name="resident_message"),
]
