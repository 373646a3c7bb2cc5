"""E-mail backends for worker processes of the fault tests."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

from core.sms import BaseSmsBackend, Sms


class HangingEmailBackend(BaseEmailBackend):
    """Announces that a send has begun (the file named by ``TIDBOK_TEST_MAIL_STARTED``), then never
    returns: a worker stuck mid-delivery, for the test to SIGKILL. Nothing is ever sent."""

    def send_messages(self, email_messages):
        Path(os.environ["TIDBOK_TEST_MAIL_STARTED"]).write_text("sending\n")
        threading.Event().wait()  # until the test kills the process
        return 0


class FileSmsBackend(BaseSmsBackend):
    """Appends each text message's reference to the file named by ``TIDBOK_TEST_SMS_FILE``: what a
    worker process sent, for the test to count."""

    def send(self, message: Sms) -> None:
        with open(os.environ["TIDBOK_TEST_SMS_FILE"], "a") as sent:
            sent.write(f"{message.reference}\n")
