"""The scheduler's workspace pages, under /personal/<clinic_id>/ in the "workspace" namespace."""

from django.urls import path

from . import workspace_views as views

urlpatterns = [
    path("tidbok/", views.timebook, name="timebook"),
    path("tider/ny/", views.slot_new, name="slot_new"),
    path("tider/byt-tidstyp/", views.slots_change_type, name="slots_change_type"),
    path("sparr/ny/", views.block_new, name="block_new"),
    path("sparr/<int:block_id>/ta-bort/", views.block_delete, name="block_delete"),
    path("scheman/", views.schedules, name="schedules"),
    path("scheman/nytt/", views.schedule_new, name="schedule_new"),
    path("scheman/<int:schedule_id>/", views.schedule_detail, name="schedule_detail"),
    path("scheman/<int:schedule_id>/ta-bort-tidstyp/", views.schedule_remove_type, name="schedule_remove_type"),
]
