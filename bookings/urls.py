from django.urls import path

from . import attorney_views, calendar_views, relation_views, views, waitlist_views

app_name = "bookings"

urlpatterns = [
    path("start/", views.start, name="start"),
    path("start/ta-bort/<int:clinic_id>/", relation_views.remove_clinic, name="remove_clinic"),
    path("mottagning/<int:clinic_id>/boka/", views.book_conditions, name="book_conditions"),
    path("boka/underlag/<int:basis_id>/", views.basis_book, name="basis_book"),
    path("mottagning/<int:clinic_id>/boka/tidstyp/", views.book_types, name="book_types"),
    path("mottagning/<int:clinic_id>/boka/<int:type_id>/", views.book_days, name="book_days"),
    path("mottagning/<int:clinic_id>/boka/<int:type_id>/tid/<int:slot_id>/", views.book_slot, name="book_slot"),
    # R-WAIT-1: before book_times, whose <str:day> would take "ko".
    path("mottagning/<int:clinic_id>/boka/<int:type_id>/ko/", waitlist_views.join, name="waitlist_join"),
    path("mottagning/<int:clinic_id>/boka/<int:type_id>/<str:day>/", views.book_times, name="book_times"),
    path("boka/reservera/", views.hold, name="hold"),
    path("boka/bekrafta/<int:hold_id>/", views.confirm, name="confirm"),
    path("boka/slapp/<int:hold_id>/", views.release, name="release"),
    path("mina-tider/", views.my_bookings, name="my_bookings"),
    path("mina-tider/<int:booking_id>/", views.detail, name="detail"),
    path("mina-tider/<int:booking_id>/kalender.ics", views.booking_ics, name="ics"),
    path("mina-tider/<int:booking_id>/avboka/", views.cancel, name="cancel"),
    path("mina-tider/<int:booking_id>/avboka/villkor/", views.cancel_conditions, name="cancel_conditions"),
    path("mina-tider/<int:booking_id>/omboka/", views.rebook_conditions, name="rebook_conditions"),
    path("mina-tider/<int:booking_id>/omboka/tider/", views.rebook_days, name="rebook_days"),
    path("mina-tider/<int:booking_id>/omboka/tider/<str:day>/", views.rebook_times, name="rebook_times"),
    path("kalender/", calendar_views.calendar_page, name="calendar"),
    path("kalender/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path("mina-koplatser/", waitlist_views.my_waitlist, name="my_waitlist"),
    path("erbjudande/<str:token>/", waitlist_views.offer, name="waitlist_offer"),
    path("fullmakter/", attorney_views.attorneys, name="attorneys"),
    path("fullmakter/<int:power_id>/", attorney_views.attorney_change, name="attorney_change"),
    path("inkorg/", views.inbox, name="inbox"),
    path("inkorg/<int:message_id>/", views.message, name="message"),
]
