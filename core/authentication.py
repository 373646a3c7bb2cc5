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
    for a token then replaces it (:func:`app_token_issue`)."""

    keyword = "Bearer"

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            raise exceptions.AuthenticationFailed(_("The token has expired. Log in again to get a new one."))
        return user, token


def app_token_current(*, user) -> Token | None:
    """The resident's valid app token, if an app holds one."""
    token = Token.objects.filter(user=user).first()
    return None if token is None or token_is_expired(token) else token


def app_token_issue(*, user) -> Token:
    """R-SEC-5: the token a resident's app uses; an expired one is replaced by a fresh one."""
    token, _created = Token.objects.get_or_create(user=user)
    if token_is_expired(token):
        Token.objects.filter(pk=token.pk).delete()
        token, _created = Token.objects.get_or_create(user=user)
    return token


def app_tokens_revoke(*, user) -> int:
    """R-SEC-5: log every app out of the resident's account (the app's own logout, or the resident
    on the web). Returns how many tokens were revoked."""
    deleted, _per_model = Token.objects.filter(user=user).delete()
    return deleted
