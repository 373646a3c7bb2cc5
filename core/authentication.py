"""Kept apart from core.api: DRF imports authentication classes while its views load."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_expires_at(token: Token) -> dt.datetime:
    """R-SEC-5: an app token is valid ``TIDBOK_API_TOKEN_SECONDS`` after it was issued."""
    return token.created + dt.timedelta(seconds=settings.TIDBOK_API_TOKEN_SECONDS)


def token_is_expired(token: Token) -> bool:
    return timezone.now() >= token_expires_at(token)


class BearerTokenAuthentication(TokenAuthentication):
    """``Authorization: Bearer <token>`` for residents' apps (DRF's token, the usual scheme name).
    An expired token is refused (R-SEC-5): the app asks the resident to log in again, and asking
    for a token then replaces it (:func:`accounts.services.app_token_issue`)."""

    keyword = "Bearer"

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            raise exceptions.AuthenticationFailed(_("The token has expired. Log in again to get a new one."))
        return user, token
