"""allauth adapters: staff never sign themselves up and never use e-ID; residents arrive only
through e-ID and never log in with a password (R-AUTH-1, R-AUTH-2)."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthError, AuthProcess
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from core.client_address import client_address

from . import eid
from .http import AuthenticatedHttpRequest
from .lockout import PerAddressLockoutMixin
from .models import User
from .selectors import user_is_staff_member
from .services import audit_record, resident_password_remove, resident_personnummer_replace, resident_register_refresh

logger = logging.getLogger(__name__)


def personnummer_from_claims(extra_data: dict[str, Any]) -> str:
    """The resident's number from a login's claims (userinfo over the ID token; top-level for
    logins stored by older allauth versions), normalised (R-AUTH-4). Raises ValidationFailed."""
    return eid.personnummer_from_claims(eid.claims_of(extra_data) or extra_data)


class AccountAdapter(PerAddressLockoutMixin, DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # Login limits key on the same client address as the API's throttles (R-SEC-4).
        return client_address(request) or super().get_client_ip(request)

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Staff accounts are created by a region IT admin; residents arrive through eID.
        return False

    def get_login_redirect_url(self, request: AuthenticatedHttpRequest) -> str:
        # Residents land on their start page, staff in the clinic workspace.
        return "/start/" if request.user.is_resident else "/personal/"

    def authenticate(self, request: HttpRequest, **credentials: Any) -> User | None:
        """R-AUTH-1: a resident never logs in with a password, even one set before this rule
        held; to the staff login page such an account looks like a wrong password."""
        user = super().authenticate(request, **credentials)
        if user is not None and user.is_resident:
            logger.warning("password login refused for a resident account (user id %s)", user.pk)
            self.authentication_failed(request, **credentials)
            return None
        return user

    def pre_login(self, request: HttpRequest, user: User, **kwargs: Any) -> HttpResponse | None:
        """Residents only through e-ID, staff never through e-ID (R-AUTH-1, R-AUTH-2)."""
        via_eid = bool((kwargs.get("signal_kwargs") or {}).get("sociallogin"))
        if user.is_resident != via_eid or (via_eid and user_is_staff_member(user)):
            clear_login(request)
            return eid.login_refused_response(request, "password" if user.is_resident else "staff", status=403)
        return super().pre_login(request, user, **kwargs)

    def post_login(self, request: HttpRequest, user: User, **kwargs: Any) -> HttpResponse:
        response = super().post_login(request, user, **kwargs)
        sociallogin = (kwargs.get("signal_kwargs") or {}).get("sociallogin")
        id_token = getattr(sociallogin, "eid_id_token", "")
        if sociallogin is not None and id_token:
            # For logout at the provider (id_token_hint). The session lives on the server.
            request.session[eid.SESSION_KEY] = {"provider_id": sociallogin.account.provider, "id_token": id_token}
        if sociallogin is not None and user.is_resident:
            claims = eid.claims_of(sociallogin.account.extra_data)
            resident_register_refresh(resident=user, claimed_region=eid.home_region_from_claims(claims))
        return response

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        if message_template == "account/messages/logged_in.txt":
            # allauth's text names the username ("pnr-1912…"); greet by name instead and
            # never show the personnummer where it is not needed.
            user = (message_context or {}).get("user")
            name = user.get_full_name() if user is not None else ""
            text = gettext("Welcome, %(name)s.") % {"name": name} if name else gettext("You are logged in.")
            messages.add_message(request, level, text, extra_tags=extra_tags)
            return
        super().add_message(request, level, message_template, message_context, extra_tags, message)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Maps an e-identification login to the resident with that personnummer, creating the
    resident on first login (R-AUTH-1, R-AUTH-4)."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # Never allauth's "complete your account" form: a resident is their number, nothing to fill in.
        return True

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]) -> User:
        user = sociallogin.user
        user.first_name = str(data.get("first_name") or "")[:150]
        user.last_name = str(data.get("last_name") or "")[:150]
        # allauth calls this before pre_social_login: a bad claim ends here in a page, not a 500.
        user.personnummer = eid.personnummer_or_refuse(request, eid.claims_of(sociallogin.account.extra_data))
        user.username = f"pnr-{user.personnummer}"
        user.email = ""  # contact details come from the resident's own entry, never from the login
        user.set_unusable_password()
        return user

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """One resident, one personnummer, taken from e-ID at every login (R-AUTH-4). A login
        whose number differs from the linked account's is refused and audited, except a
        samordningsnummer replaced by a personnummer, which moves the resident to it."""
        if (sociallogin.state or {}).get("process", AuthProcess.LOGIN) != AuthProcess.LOGIN:
            eid.refuse(request, "unverified")
        personnummer = eid.personnummer_or_refuse(request, eid.claims_of(sociallogin.account.extra_data))
        if sociallogin.is_existing:
            user = sociallogin.user
            if not user.is_resident or user_is_staff_member(user):
                logger.warning("e-ID login refused: linked to a staff account (user id %s)", user.pk)
                eid.refuse(request, "staff", status=403)
            if user.personnummer != personnummer:
                self._number_changed(request, user, personnummer)
            self._first_login_hygiene(user)
            return
        existing = User.objects.filter(personnummer=personnummer).first()
        if existing is not None:
            if user_is_staff_member(existing):
                eid.refuse(request, "staff", status=403)
            self._first_login_hygiene(existing)
            sociallogin.connect(request, existing)

    def _number_changed(self, request: HttpRequest, user: User, personnummer: str) -> None:
        if resident_personnummer_replace(resident=user, personnummer=personnummer):
            return
        audit_record(
            actor=user,
            action="eid_login_refused",
            resident=user,
            detail="e-ID sent another personnummer than the linked account's",
        )
        logger.warning("e-ID login refused: number differs from the linked account (user id %s)", user.pk)
        eid.refuse(request, "number_mismatch", status=403)

    @staticmethod
    def _first_login_hygiene(user: User) -> None:
        resident_password_remove(resident=user)

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider,
        error=None,
        exception=None,
        extra_context=None,
    ) -> None:
        """Errors before the login is complete (state, token endpoint, provider's error):
        Tidbok's page in the resident's language instead of allauth's."""
        logger.warning("e-ID login failed: %s %s", error, type(exception).__name__ if exception else "")
        eid.refuse(request, "cancelled" if error == AuthError.CANCELLED else "unverified")
