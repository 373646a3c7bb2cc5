from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulesConfig(AppConfig):
    name = "schedules"
    verbose_name = _("Schedules")

    def ready(self) -> None:
        # Inside ready(): the receivers import models, which exist only once the apps are loaded.
        from . import receivers  # noqa: F401 - connecting them is the import's effect
