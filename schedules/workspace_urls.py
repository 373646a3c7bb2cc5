"""The scheduler's workspace pages, under /personal/<clinic_id>/ in the "workspace" namespace."""

from django.urls import path

from . import workspace_views as views

urlpatterns = [
    path("tidbok/", views.timebook, name="timebook"),
    path("tidbok/bokning/<int:booking_id>/", views.booking_detail, name="booking_detail"),
    path("tidbok/bokning/<int:booking_id>/avboka/", views.booking_cancel, name="booking_cancel"),
    path("tider/ny/", views.slot_new, name="slot_new"),
    path("tider/byt-tidstyp/", views.slots_change_type, name="slots_change_type"),
    path("sparr/ny/", views.block_new, name="block_new"),
    path("sparr/<int:block_id>/ta-bort/", views.block_delete, name="block_delete"),
    path("scheman/", views.schedules, name="schedules"),
    path("scheman/nytt/", views.schedule_new, name="schedule_new"),
    path("scheman/<int:schedule_id>/", views.schedule_detail, name="schedule_detail"),
    path("scheman/<int:schedule_id>/ta-bort-tidstyp/", views.schedule_remove_type, name="schedule_remove_type"),
    path("boka-at-invanare/", views.book_for_resident, name="book_for_resident"),
    path("vantelista/", views.waitlist, name="waitlist"),
]
