from django.urls import path

from . import info_views

app_name = "info"

urlpatterns = [
    path("kontakt/", info_views.contact, name="contact"),
    path("personuppgifter/", info_views.privacy, name="privacy"),
    path("kakor/", info_views.cookies, name="cookies"),
    path("tillganglighet/", info_views.accessibility, name="accessibility"),
]
