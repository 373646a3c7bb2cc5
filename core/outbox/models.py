from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """A side effect of a change (a task to run, a cache version to bump), written in the change's
    own transaction, so it exists exactly when the change does (R-OPS-1). The relay sends it on
    and marks it sent; until then the beat sweep keeps trying."""

    # A Celery task's name, or the name of a step the relay runs itself (core.outbox.services).
    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    # Not tried again before this (a back-off after a failed attempt).
    available_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweep's question, "what is due and unsent", reads only the unsent rows.
            models.Index(fields=["available_at", "id"], condition=Q(sent_at__isnull=True), name="outbox_unsent"),
            models.Index(fields=["sent_at"], condition=Q(sent_at__isnull=False), name="outbox_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.name}{tuple(self.args)}"
