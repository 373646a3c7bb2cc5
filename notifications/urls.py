from django.urls import path

from . import views

urlpatterns = [
    path("utveckling/utskick/", views.dev_outbox, name="dev_outbox"),
]
