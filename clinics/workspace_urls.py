"""The local admin's pages (and region IT's in its region), under /personal/<clinic_id>/."""

from django.urls import path

from . import workspace_views as views

urlpatterns = [
    path("arendetyper/", views.case_types, name="case_types"),
    path("arendetyper/<str:kind>/", views.case_type_edit, name="case_type_edit"),
    path("arendetyper/<str:kind>/aktivera/", views.case_type_activate_view, name="case_type_activate"),
    path("arendetyper/<str:kind>/avaktivera/", views.case_type_deactivate_view, name="case_type_deactivate"),
    path("tidstyper/", views.appointment_types, name="appointment_types"),
    path("tidstyper/ny/", views.appointment_type_new, name="appointment_type_new"),
    path("tidstyper/<int:type_id>/", views.appointment_type_edit, name="appointment_type_edit"),
    path("videomoten/", views.video_settings, name="video_settings"),
    path("tidstyper/<int:type_id>/vantelista/", views.appointment_type_waitlist, name="appointment_type_waitlist"),
    path("resurser/", views.resources, name="resources"),
    path("resurser/ny/", views.resource_new, name="resource_new"),
    path("resurser/<int:resource_id>/", views.resource_edit, name="resource_edit"),
    path("direktlankar/", views.direct_links, name="direct_links"),
]
