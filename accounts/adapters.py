"""allauth adapters: staff never sign themselves up; residents arrive through eID (R-AUTH-1)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render

from tidbok.client_address import client_address
from tidbok.errors import ValidationFailed

from .lockout import PerAddressLockoutMixin
from .models import User
from .personnummer import normalise_personnummer


class AccountAdapter(PerAddressLockoutMixin, DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # Login limits key on the same client address as the API's throttles (R-SEC-4).
        return client_address(request) or super().get_client_ip(request)

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Staff accounts are created by a region IT admin; residents arrive through eID.
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Residents land on their start page, staff in the clinic workspace.
        return "/start/" if request.user.is_resident else "/personal/"


def personnummer_from_claims(extra_data: dict[str, Any]) -> str:
    """The resident's personnummer from the identity provider's claims, normalised (R-AUTH-4)."""
    claim = settings.OIDC_PERSONNUMMER_CLAIM
    for source in (extra_data.get("userinfo") or {}, extra_data.get("id_token") or {}, extra_data):
        if isinstance(source, dict) and source.get(claim):
            return normalise_personnummer(str(source[claim]))
    raise ValidationFailed({"personnummer": ["The identity provider sent no personal identity number."]})


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Maps an e-identification login to the resident with that personnummer, creating the
    resident on first login."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        try:
            personnummer = personnummer_from_claims(sociallogin.account.extra_data)
        except ValidationFailed as exc:
            raise ImmediateHttpResponse(
                render(request, "accounts/login_failed.html", {"errors": exc.field_errors}, status=400)
            ) from exc
        sociallogin.user.personnummer = personnummer
        if sociallogin.is_existing:
            return
        existing = User.objects.filter(personnummer=personnummer).first()
        if existing is not None:
            sociallogin.connect(request, existing)

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]) -> User:
        user = super().populate_user(request, sociallogin, data)
        user.personnummer = personnummer_from_claims(sociallogin.account.extra_data)
        user.username = f"pnr-{user.personnummer}"
        user.email = ""  # residents' e-mail is not taken from the eID; they may add one later
        return user
