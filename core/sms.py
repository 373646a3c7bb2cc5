"""Text messages (R-NOTE-4): a small backend interface, like Django's e-mail backends.

``SMS_BACKEND`` names the class. Three ship with Tidbok:

- ``core.sms.HttpGatewayBackend`` — production: one HTTP POST per message to a gateway, the way
  the Swedish SMS APIs take them (``SMS_GATEWAY_URL``, ``SMS_GATEWAY_USER`` and
  ``SMS_GATEWAY_PASSWORD`` as HTTP basic auth, ``SMS_SENDER``; ``SMS_GATEWAY_FORMAT`` ``json`` or
  ``form``). The message's idempotency key goes along as a client reference and an
  ``Idempotency-Key`` header, so a gateway that deduplicates never sends a retry twice.
- ``core.sms.ConsoleBackend`` — ``make run``: the message is written to the worker's log.
- ``core.sms.LocmemBackend`` — tests: messages are kept in ``core.sms.outbox``.

A failed send raises :class:`SmsError` (an ``OSError``, so Celery's retry on ``OSError`` covers it
as it covers a mail server that does not answer).
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(OSError):
    """The gateway did not take the message (refused, answered an error, or did not answer)."""


@dataclass(frozen=True)
class Sms:
    to: str  # E.164, e.g. +46701234567
    body: str
    # The same for every attempt at one message: a gateway that knows it sends once.
    reference: str = ""


class BaseSmsBackend:
    def send(self, message: Sms) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    """Writes the message to standard output: what ``make run``'s worker would have sent."""

    def send(self, message: Sms) -> None:
        sys.stdout.write(f"--- SMS to {message.to} (ref {message.reference}) ---\n{message.body}\n---\n")
        sys.stdout.flush()


class LocmemBackend(BaseSmsBackend):
    outbox: ClassVar[list[Sms]] = []

    def send(self, message: Sms) -> None:
        LocmemBackend.outbox.append(message)


class HttpGatewayBackend(BaseSmsBackend):
    def send(self, message: Sms) -> None:
        url = settings.SMS_GATEWAY_URL
        if not url:
            raise SmsError("SMS_GATEWAY_URL is not set")
        fields = {"from": settings.SMS_SENDER, "to": message.to, "message": message.body}
        if message.reference:
            fields["reference"] = message.reference
        if settings.SMS_GATEWAY_FORMAT == "form":
            data = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(fields).encode()
            content_type = "application/json"
        request = urllib.request.Request(url, data=data, method="POST")
        request.add_header("Content-Type", content_type)
        if message.reference:
            request.add_header("Idempotency-Key", message.reference)
        if settings.SMS_GATEWAY_USER:
            credentials = f"{settings.SMS_GATEWAY_USER}:{settings.SMS_GATEWAY_PASSWORD}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_GATEWAY_TIMEOUT) as answer:
                answer.read()
        except urllib.error.HTTPError as error:
            # Never the body or the number in the log: the error names only the status.
            raise SmsError(f"SMS gateway answered {error.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise SmsError(f"SMS gateway not reached: {type(reason).__name__}") from None


def get_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(message: Sms) -> None:
    get_backend().send(message)
