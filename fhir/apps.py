from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "fhir"
    verbose_name = "FHIR"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the outbox step the lower apps name (they never import this package), also
        # under its old name for rows queued before the move.
        from . import bulk  # noqa: F401
