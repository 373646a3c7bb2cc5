"""Support's failed messages, under /personal/<clinic_id>/ (namespace "workspace")."""

from django.urls import path

from . import workspace_views

urlpatterns = [
    path("meddelanden/misslyckade/", workspace_views.failed_notifications, name="failed_notifications"),
    path(
        "meddelanden/misslyckade/<int:notification_id>/skicka-igen/",
        workspace_views.notification_resend,
        name="notification_resend",
    ),
]
