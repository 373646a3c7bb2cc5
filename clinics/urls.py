from django.urls import path

from . import views

app_name = "clinics"

urlpatterns = [
    path("", views.search, name="search"),
    path("mottagning/<int:clinic_id>/", views.detail, name="detail"),
    path("mottagning/<int:clinic_id>/lagg-till/", views.add_to_start_page, name="add"),
    path("mottagning/<int:clinic_id>/ta-bort/", views.remove_from_start_page, name="remove"),
    path("l/<str:token>/", views.direct_link, name="direct_link"),
    path("mottagning/<int:clinic_id>/logga-in/<str:kind>/", views.contact_card_login, name="contact_card_login"),
]
