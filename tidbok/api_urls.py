"""/api/v1/: the resident API, the clinic staff API, plus its OpenAPI schema and self-hosted docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import api as accounts_api
from bookings import api as bookings_api
from bookings import attendance_api as bookings_attendance_api
from bookings import basis_api as bookings_basis_api
from bookings import proxy_api as bookings_proxy_api
from bookings import resident_api as bookings_resident_api
from bookings import staff_api as bookings_staff_api
from bookings import waitlist_api as bookings_waitlist_api
from clinics import api as clinics_api
from clinics import settings_api as clinics_settings_api
from clinics import staff_api as clinics_staff_api
from core import schema  # noqa: F401 - registers the bearer scheme with drf-spectacular
from schedules import api as schedules_api
from schedules import staff_api as schedules_staff_api

STAFF = "v1/staff/clinics/<int:clinic_id>/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (R-SEC-5).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("v1/auth/token/", accounts_api.AppToken.as_view(), name="api-token"),
    path("v1/clinics/", clinics_api.ClinicList.as_view(), name="api-clinics"),
    path("v1/clinics/<int:clinic_id>/", clinics_api.ClinicDetail.as_view(), name="api-clinic"),
    path("v1/clinics/<int:clinic_id>/appointment-types/", clinics_api.ClinicAppointmentTypes.as_view()),
    path("v1/clinics/<int:clinic_id>/free-times/", schedules_api.FreeTimes.as_view(), name="api-free-times"),
    path("v1/relations/", clinics_api.RelationList.as_view(), name="api-relations"),
    path("v1/relations/<int:clinic_id>/", clinics_api.RelationDetail.as_view()),
    path("v1/acting-for/", bookings_api.ActingForList.as_view(), name="api-acting-for"),
    path("v1/holds/", bookings_api.HoldList.as_view(), name="api-holds"),
    path("v1/holds/<int:hold_id>/", bookings_api.HoldDetail.as_view()),
    path("v1/bookings/", bookings_api.BookingList.as_view(), name="api-bookings"),
    path("v1/bookings/<int:booking_id>/", bookings_api.BookingDetail.as_view(), name="api-booking"),
    path("v1/bookings/<int:booking_id>/cancel/", bookings_api.BookingCancel.as_view(), name="api-booking-cancel"),
    path("v1/bookings/<int:booking_id>/rebook-candidates/", bookings_api.RebookCandidates.as_view()),
    path("v1/bookings/<int:booking_id>/rebook/", bookings_api.BookingRebook.as_view(), name="api-booking-rebook"),
    path("v1/inbox/", bookings_api.Inbox.as_view(), name="api-inbox"),
    path("v1/inbox/<int:message_id>/read/", bookings_api.InboxRead.as_view()),
    # Clinic staff (R-ACL-1): the scheduler's timebook and the support's web booking log.
    path(f"{STAFF}slots/", schedules_staff_api.TimebookSlots.as_view(), name="api-staff-slots"),
    path(f"{STAFF}slots/change-type/", schedules_staff_api.SlotsChangeType.as_view(), name="api-staff-change-type"),
    path(f"{STAFF}blocks/", schedules_staff_api.BlockList.as_view(), name="api-staff-blocks"),
    path(f"{STAFF}blocks/<int:block_id>/", schedules_staff_api.BlockDetail.as_view(), name="api-staff-block"),
    path(f"{STAFF}schedules/", schedules_staff_api.ScheduleList.as_view(), name="api-staff-schedules"),
    path(f"{STAFF}schedules/<int:schedule_id>/", schedules_staff_api.ScheduleDetail.as_view()),
    path(f"{STAFF}schedules/<int:schedule_id>/remove-type/", schedules_staff_api.ScheduleRemoveType.as_view()),
    path(f"{STAFF}bookings/", bookings_staff_api.StaffBookingList.as_view(), name="api-staff-bookings"),
    path(f"{STAFF}bookings/<int:booking_id>/", bookings_staff_api.StaffBookingDetail.as_view()),
    path(f"{STAFF}bookings/<int:booking_id>/cancel/", bookings_staff_api.StaffBookingCancel.as_view()),
    path(f"{STAFF}bookings/<int:booking_id>/meeting-link/", bookings_staff_api.StaffBookingMeetingLink.as_view()),
    # The local admin's settings: appointment types and the video meetings' address.
    path(f"{STAFF}appointment-types/", clinics_settings_api.AppointmentTypeList.as_view(), name="api-staff-types"),
    path(f"{STAFF}appointment-types/<int:type_id>/", clinics_settings_api.AppointmentTypeDetail.as_view()),
    path(f"{STAFF}video-settings/", clinics_settings_api.VideoSettings.as_view(), name="api-staff-video-settings"),
    # Reception's attendance marks and the clinic's no-show figures (R-ATT-1, R-ATT-2).
    path(f"{STAFF}bookings/<int:booking_id>/attendance/", bookings_attendance_api.BookingAttendance.as_view()),
    path(f"{STAFF}attendance-figures/", bookings_attendance_api.AttendanceFiguresView.as_view()),
    # Staff accounts and roles (region IT; the clinic's roles for its local admin too).
    path(f"{STAFF}roles/", clinics_staff_api.ClinicRoles.as_view(), name="api-staff-clinic-roles"),
    path(f"{STAFF}staff-accounts/", clinics_staff_api.StaffAccountList.as_view(), name="api-staff-accounts"),
    path(f"{STAFF}staff-accounts/<int:member_id>/", clinics_staff_api.StaffAccountDetail.as_view()),
    path(f"{STAFF}staff-accounts/<int:member_id>/roles/", clinics_staff_api.StaffRoleList.as_view()),
    path(
        f"{STAFF}staff-accounts/<int:member_id>/roles/<int:membership_id>/",
        clinics_staff_api.StaffRoleDetail.as_view(),
    ),
    path(
        f"{STAFF}staff-accounts/<int:member_id>/second-factor-reset/",
        clinics_staff_api.StaffSecondFactorReset.as_view(),
    ),
    path(f"{STAFF}staff-accounts/<int:member_id>/invitation/", clinics_staff_api.StaffInvitation.as_view()),
    path(f"{STAFF}web-log/", bookings_staff_api.WebLog.as_view(), name="api-staff-web-log"),
    # The waitlist (R-WAIT-2, R-WAIT-3): a type's settings, the list in offer order, an entry's priority.
    path(f"{STAFF}appointment-types/<int:type_id>/waitlist/", bookings_waitlist_api.TypeWaitlistSettings.as_view()),
    path(f"{STAFF}waitlist/", bookings_waitlist_api.WaitlistList.as_view(), name="api-staff-waitlist"),
    path(f"{STAFF}waitlist/<int:entry_id>/", bookings_waitlist_api.WaitlistEntryDetail.as_view()),
    path(f"{STAFF}web-log/search/", bookings_staff_api.WebLogSearchView.as_view(), name="api-staff-web-log-search"),
    # Booking bases and open summons (R-TYPE-4, R-REL-1).
    path(f"{STAFF}booking-bases/", bookings_basis_api.BookingBasisList.as_view(), name="api-staff-booking-bases"),
    path(f"{STAFF}booking-bases/<int:basis_id>/", bookings_basis_api.BookingBasisDetail.as_view()),
    path(f"{STAFF}booking-bases/<int:basis_id>/revoke/", bookings_basis_api.BookingBasisRevoke.as_view()),
    path(f"{STAFF}residents/lookup/", bookings_resident_api.ResidentLookup.as_view(), name="api-staff-resident-lookup"),
    path(
        f"{STAFF}residents/communication/",
        bookings_resident_api.ResidentCommunication.as_view(),
        name="api-staff-resident-communication",
    ),
    path(
        f"{STAFF}residents/messages/",
        bookings_resident_api.ResidentMessages.as_view(),
        name="api-staff-resident-messages",
    ),
    path(f"{STAFF}open-summons/", bookings_basis_api.OpenSummonsList.as_view(), name="api-staff-open-summons"),
    # Proxy bookers (R-TYPE-6): a region's telephone service books proxy times for residents.
    path("v1/proxy/residents/search/", bookings_proxy_api.ProxyResidentSearch.as_view(), name="api-proxy-resident"),
    path("v1/proxy/free-times/", bookings_proxy_api.ProxyFreeTimes.as_view(), name="api-proxy-free-times"),
    path("v1/proxy/bookings/", bookings_proxy_api.ProxyBookingList.as_view(), name="api-proxy-bookings"),
    path("v1/proxy/bookings/<int:booking_id>/cancel/", bookings_proxy_api.ProxyBookingCancel.as_view()),
]
