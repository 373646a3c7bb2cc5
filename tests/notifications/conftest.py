from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import ContactDetails

from .servers import GatewayServer, SmtpServer


@pytest.fixture
def smtp(settings):
    """A real SMTP server in the test process; Django's SMTP backend sends to it."""
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.stop()


@pytest.fixture
def gateway(settings):
    """A local SMS gateway the HTTP backend posts to."""
    server = GatewayServer().start()
    settings.SMS_BACKEND = "core.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = server.url
    settings.SMS_GATEWAY_USER, settings.SMS_GATEWAY_PASSWORD = "tidbok", "gateway-secret"
    settings.SMS_SENDER = "Tidbok"
    settings.SMS_GATEWAY_FORMAT = "json"
    settings.SMS_GATEWAY_TIMEOUT = 2
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.TIDBOK_PUBLIC_URL = "https://tidbok.example.se"


@pytest.fixture
def verified(resident):
    """The resident has confirmed an e-mail address and a mobile number."""
    now = timezone.now()
    return ContactDetails.objects.create(
        user=resident,
        email="anna@exempel.se",
        email_verified_at=now,
        mobile="+46701234567",
        mobile_verified_at=now,
    )
