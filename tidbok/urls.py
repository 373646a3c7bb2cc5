from django.contrib import admin
from django.urls import include, path

from core import ops_views, session_views, views

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("readyz/", ops_views.readyz, name="readyz"),
    path("metrics/", ops_views.prometheus_metrics, name="metrics"),
    path("session/", session_views.session_status, name="session_status"),
    path("session/keep-alive/", session_views.session_keep_alive, name="session_keep_alive"),
    path("om/", include("core.info_urls")),
    # Ahead of the pages' includes at "": nothing there starts with "api/", and an API request
    # (the free times above all) would otherwise be tried against every page pattern first.
    path("api/", include("tidbok.api_urls")),
    path("", include("clinics.urls")),
    path("", include("bookings.urls")),
    path("", include("accounts.urls")),
    path("", include("notifications.urls")),
    path("personal/", include("tidbok.workspace_urls")),
    path("fhir/r4/", include("fhir.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.auth_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
