from django.urls import path

from . import contact_views, views

urlpatterns = [
    path("logga-in/", views.resident_login, name="resident_login"),
    path("logga-in/test/", views.dev_login, name="dev_login"),
    path("utloggad/", views.logged_out, name="resident_logged_out"),
    path("appar/", views.app_tokens, name="app_tokens"),
    path("boka-for/", views.acting_choose, name="acting_choose"),
    path("mina-uppgifter/", contact_views.contact_details, name="contact_details"),
    path("mina-uppgifter/e-post/", contact_views.contact_email, name="contact_email"),
    path(
        "mina-uppgifter/e-post/bekrafta/<str:token>/",
        contact_views.contact_email_confirm,
        name="contact_email_confirm",
    ),
    path("mina-uppgifter/mobil/", contact_views.contact_mobile, name="contact_mobile"),
    path("mina-uppgifter/mobil/kod/", contact_views.contact_mobile_code, name="contact_mobile_code"),
    path("mina-uppgifter/ta-bort/", contact_views.contact_remove, name="contact_remove"),
]
