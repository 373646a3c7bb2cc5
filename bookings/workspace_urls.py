from django.urls import path  # noqa: F401 - pages are added by the workspace for this app's role

urlpatterns: list = []
