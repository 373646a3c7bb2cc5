"""``Idempotency-Key`` for API POSTs that create or change a booking: a retried request returns
the first answer instead of doing the work twice."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.models import IdempotencyRecord

from .api import problem
from .services import idempotency_record_finish, idempotency_record_start

if TYPE_CHECKING:
    from rest_framework.views import APIView

    # Annotations only: the views that use the mixin refuse anonymous callers (IsResident, IsStaff).
    from accounts.http import AuthenticatedRequest

    _ViewBase = APIView
else:
    _ViewBase = object

HEADER = "Idempotency-Key"


def _fingerprint(request: Request) -> str:
    payload = json.dumps({"path": request.path, "data": request.data}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


class IdempotentPostMixin(_ViewBase):
    """For DRF views whose POST books, rebooks or cancels: the view implements ``post_once``.
    Runs after DRF has authenticated the caller, so session and token clients are alike."""

    def post_once(self, request: AuthenticatedRequest, *args, **kwargs) -> Response:
        raise NotImplementedError

    def post(self, request: AuthenticatedRequest, *args, **kwargs) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return self.post_once(request, *args, **kwargs)
        if len(key) > 255:
            return problem(status.HTTP_400_BAD_REQUEST, "INVALID_INPUT", "The Idempotency-Key is too long.")
        fingerprint = _fingerprint(request)
        record: IdempotencyRecord | None
        try:
            with transaction.atomic():
                record = idempotency_record_start(user=request.user, key=key, fingerprint=fingerprint)
                try:
                    response = self.post_once(request, *args, **kwargs)
                except Exception as exc:  # a refusal is an answer too: the retry gets the same one
                    response = self.handle_exception(exc)
                    if response.status_code >= 500:
                        raise
                idempotency_record_finish(record=record, status_code=response.status_code, body=response.data)
                return response
        except IntegrityError:
            # The key was used before, or at this very moment by a request that has now
            # committed (the insert above waited for it on the unique index).
            record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
        if record is None or record.status_code is None:
            return problem(status.HTTP_409_CONFLICT, "REQUEST_IN_PROGRESS", "The first request is still running.")
        if record.fingerprint != fingerprint:
            return problem(422, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used for a different request.")
        replay = Response(
            record.body,
            status=record.status_code,
            content_type="application/problem+json" if record.status_code >= 400 else None,
        )
        replay["Idempotent-Replayed"] = "true"
        return replay
