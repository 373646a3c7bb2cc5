"""The proxy bookers' pages, under /personal/ombud/ (namespace "workspace")."""

from django.urls import path

from . import proxy_views

urlpatterns = [
    path("", proxy_views.home, name="proxy_home"),
    path("invanare/", proxy_views.resident, name="proxy_resident"),
    path("tider/", proxy_views.times, name="proxy_times"),
    path("tider/<int:slot_id>/boka/", proxy_views.book, name="proxy_book"),
    path("bokning/<int:booking_id>/avboka/", proxy_views.cancel, name="proxy_cancel"),
]
