from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "core.outbox"
    label = "outbox"
    verbose_name = "Outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import metrics  # both need the app registry ready (models, settings)

        from .selectors import outbox_lag_seconds

        metrics.gauge_register(
            "tidbok_outbox_lag_seconds",
            "How long the oldest due outbox message has waited unsent",
            outbox_lag_seconds,
        )
