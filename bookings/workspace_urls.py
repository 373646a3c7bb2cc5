"""Support pages of the clinic workspace, under /personal/<clinic_id>/ (namespace "workspace")."""

from django.urls import path

from . import workspace_views

urlpatterns = [
    path("logg/", workspace_views.web_log, name="web_log"),
    path("logg.csv", workspace_views.web_log_csv, name="web_log_csv"),
    path("bokningsunderlag/<int:basis_id>/", workspace_views.booking_basis, name="booking_basis"),
]
