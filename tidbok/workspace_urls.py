"""The clinic workspace under /personal/: the frame (clinic picker, clinic home, region IT's audit log)
and each app's own pages for its role."""

from django.urls import include, path

from clinics import frame_views

app_name = "workspace"

urlpatterns = [
    path("", frame_views.picker, name="picker"),
    path("<int:clinic_id>/", frame_views.clinic_home, name="clinic"),
    # Region IT: the audit log and its export (R-LOG-4, R-SEC-7).
    path("<int:clinic_id>/atkomstlogg/", frame_views.audit_log, name="audit_log"),
    path("<int:clinic_id>/atkomstlogg.csv", frame_views.audit_log_csv, name="audit_log_csv"),
    path("<int:clinic_id>/", include("clinics.workspace_urls")),
    path("<int:clinic_id>/", include("clinics.staff_urls")),
    path("<int:clinic_id>/", include("schedules.workspace_urls")),
    path("<int:clinic_id>/", include("bookings.workspace_urls")),
    path("<int:clinic_id>/", include("notifications.workspace_urls")),
    # Proxy bookers act for a region, not a clinic (R-TYPE-6).
    path("ombud/", include("bookings.proxy_urls")),
]
