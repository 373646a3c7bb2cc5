from django.urls import path

from . import (
    attorney_views,
    book_views,
    calendar_views,
    my_booking_views,
    relation_views,
    start_views,
    waitlist_views,
)

app_name = "bookings"

urlpatterns = [
    path("start/", start_views.start, name="start"),
    path("start/ta-bort/<int:clinic_id>/", relation_views.remove_clinic, name="remove_clinic"),
    path("mottagning/<int:clinic_id>/boka/", book_views.book_conditions, name="book_conditions"),
    path("boka/underlag/<int:basis_id>/", book_views.basis_book, name="basis_book"),
    path("mottagning/<int:clinic_id>/boka/tidstyp/", book_views.book_types, name="book_types"),
    path("mottagning/<int:clinic_id>/boka/<int:type_id>/", book_views.book_days, name="book_days"),
    path("mottagning/<int:clinic_id>/boka/<int:type_id>/tid/<int:slot_id>/", book_views.book_slot, name="book_slot"),
    # R-WAIT-1: before book_times, whose <str:day> would take "ko".
    path("mottagning/<int:clinic_id>/boka/<int:type_id>/ko/", waitlist_views.join, name="waitlist_join"),
    path("mottagning/<int:clinic_id>/boka/<int:type_id>/<str:day>/", book_views.book_times, name="book_times"),
    path("boka/reservera/", book_views.hold, name="hold"),
    path("boka/bekrafta/<int:hold_id>/", book_views.confirm, name="confirm"),
    path("boka/slapp/<int:hold_id>/", book_views.release, name="release"),
    path("mina-tider/", my_booking_views.my_bookings, name="my_bookings"),
    path("mina-tider/<int:booking_id>/", my_booking_views.detail, name="detail"),
    path("mina-tider/<int:booking_id>/kalender.ics", my_booking_views.booking_ics, name="ics"),
    path("mina-tider/<int:booking_id>/avboka/", my_booking_views.cancel, name="cancel"),
    path("mina-tider/<int:booking_id>/avboka/villkor/", my_booking_views.cancel_conditions, name="cancel_conditions"),
    path("mina-tider/<int:booking_id>/omboka/", my_booking_views.rebook_conditions, name="rebook_conditions"),
    path("mina-tider/<int:booking_id>/omboka/tider/", my_booking_views.rebook_days, name="rebook_days"),
    path("mina-tider/<int:booking_id>/omboka/tider/<str:day>/", my_booking_views.rebook_times, name="rebook_times"),
    path("kalender/", calendar_views.calendar_page, name="calendar"),
    path("kalender/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path("mina-koplatser/", waitlist_views.my_waitlist, name="my_waitlist"),
    path("erbjudande/<str:token>/", waitlist_views.offer, name="waitlist_offer"),
    path("fullmakter/", attorney_views.attorneys, name="attorneys"),
    path("fullmakter/<int:power_id>/", attorney_views.attorney_change, name="attorney_change"),
    path("inkorg/", start_views.inbox, name="inbox"),
    path("inkorg/<int:message_id>/", start_views.message, name="message"),
]
