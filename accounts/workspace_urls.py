"""The clinic workspace under /personal/. Each app adds its own pages for its role."""

from django.urls import include, path

from . import workspace_views

app_name = "workspace"

urlpatterns = [
    path("", workspace_views.picker, name="picker"),
    path("<int:clinic_id>/", workspace_views.clinic_home, name="clinic"),
    # Region IT: the audit log and its export (R-LOG-4, R-SEC-7).
    path("<int:clinic_id>/atkomstlogg/", workspace_views.audit_log, name="audit_log"),
    path("<int:clinic_id>/atkomstlogg.csv", workspace_views.audit_log_csv, name="audit_log_csv"),
    path("<int:clinic_id>/", include("clinics.workspace_urls")),
    path("<int:clinic_id>/", include("schedules.workspace_urls")),
    path("<int:clinic_id>/", include("bookings.workspace_urls")),
]
