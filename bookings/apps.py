from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = _("Bookings")

    def ready(self) -> None:
        # Inside ready(): the receivers import models, which exist only once the apps are loaded.
        from . import receivers  # noqa: F401 - connecting them is the import's effect
