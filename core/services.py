"""Writes of core's own rows: the record that makes an API POST idempotent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import IdempotencyRecord

if TYPE_CHECKING:
    # Annotations only: core sits below accounts.
    from accounts.models import User


def idempotency_record_start(*, user: User, key: str, fingerprint: str) -> IdempotencyRecord:
    """Claim ``key`` for the user's request. Raises IntegrityError if it was used before, or is
    in use by a request that commits meanwhile (the insert waits for it on the unique index)."""
    return IdempotencyRecord.objects.create(user=user, key=key, fingerprint=fingerprint)


def idempotency_record_finish(*, record: IdempotencyRecord, status_code: int, body: Any) -> None:
    """Keep the first answer, which every retry with the same key gets."""
    record.status_code, record.body = status_code, body
    record.save(update_fields=["status_code", "body"])
