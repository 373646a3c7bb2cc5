"""Kept apart from tidbok.api: DRF imports authentication classes while its views load."""

from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    """``Authorization: Bearer <token>`` for residents' apps (DRF's token, the usual scheme name)."""

    keyword = "Bearer"
