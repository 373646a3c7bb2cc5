from django.urls import path

from . import views

urlpatterns = [
    path("logga-in/", views.resident_login, name="resident_login"),
    path("logga-in/test/", views.dev_login, name="dev_login"),
    path("utloggad/", views.logged_out, name="resident_logged_out"),
    path("appar/", views.app_tokens, name="app_tokens"),
]
