"""Residents' e-identification over the Swedish OpenID Connect profile (R-AUTH-1, R-AUTH-4).

allauth's generic OpenID Connect provider, narrowed to what a resident's login may be:

- it asks only for the profile's scopes (``OIDC_SCOPES``), never ``email``, and ignores the
  scopes and parameters a request tries to add;
- every authorisation request carries a fresh ``nonce`` (kept in allauth's state next to the
  PKCE verifier) and ``prompt=login``, so a shared computer never logs the next person
  straight in;
- the ID token's signature is checked against the provider's JWKS even in the code flow
  (allauth skips that check when it fetched the token itself), its nonce must match, and
  the userinfo must speak of the same subject;
- the personnummer comes from ``personalIdentityNumber``, a samordningsnummer from
  ``coordinationNumber``; anything missing or invalid ends in a page that says so, never a
  500;
- e-mail claims are neither asked for nor stored, and the process is always a login: no
  connecting an e-ID to an account someone is already logged in to.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, NoReturn

import jwt
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp, SocialToken
from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from requests import RequestException

from core.errors import ValidationFailed

from .personnummer import is_coordination_number, normalise_personnummer

logger = logging.getLogger(__name__)

COORDINATION_NUMBER_CLAIM = "https://id.oidc.se/claim/coordinationNumber"
# What Tidbok keeps of a login in SocialAccount.extra_data: the subject, the names and the
# number it identifies the resident by. E-mail, phone and anything else the provider
# volunteers is dropped before it is stored.
_KEPT_CLAIMS = {"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "given_name", "family_name", "name"}
_SIGNING_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
# Where the raw ID token of an e-ID login is kept for RP-initiated logout (id_token_hint).
SESSION_KEY = "tidbok_eid"

# Why a login was refused: what went wrong, and what the resident can do about it.
REFUSALS: dict[str, tuple[Any, Any]] = {
    "no_number": (
        _("The e-identification did not tell us your personal identity number."),
        _("Try again. If it happens again, log in with another e-identification, or call your clinic to book."),
    ),
    "bad_number": (
        _("The personal identity number we got from the e-identification could not be used."),
        _("Call your clinic to book, and tell your e-identification issuer about the problem."),
    ),
    "number_mismatch": (
        _(
            "This e-identification belongs to a different personal identity number than the "
            "account it is linked to, so we stopped the login."
        ),
        _("Nothing has been changed. Call your clinic if you need help."),
    ),
    "staff": (
        _("Staff accounts cannot log in with e-identification."),
        _("Staff log in with e-mail, password and a one-time code on the staff login page."),
    ),
    "unverified": (
        _("The answer from the e-identification could not be verified."),
        _("Start the login again from the beginning."),
    ),
    "cancelled": (
        _("The login was cancelled."),
        _("You can start the login again whenever you want."),
    ),
    "unavailable": (
        _("The e-identification service is not answering right now."),
        _("Try again in a few minutes, or call your clinic to book."),
    ),
    "password": (
        _("Residents log in with e-identification only."),
        _("Use “Log in with e-identification” on the login page."),
    ),
}


def login_refused_response(request: HttpRequest, reason: str, *, detail: Any = "", status: int = 400) -> HttpResponse:
    """The page a refused login ends on, in the resident's language (R-AUTH-1)."""
    problem, remedy = REFUSALS[reason]
    return render(
        request,
        "accounts/login_failed.html",
        {"problem": problem, "detail": detail, "remedy": remedy, "reason": reason},
        status=status,
    )


def refuse(request: HttpRequest, reason: str, *, detail: Any = "", status: int = 400) -> NoReturn:
    """Stop the login flow here; allauth's views answer with the response they are given."""
    raise ImmediateHttpResponse(login_refused_response(request, reason, detail=detail, status=status))


def personnummer_from_claims(claims: dict[str, Any]) -> str:
    """The resident's number, normalised to 12 digits (R-AUTH-4): a personnummer from
    ``personalIdentityNumber``, otherwise a samordningsnummer from ``coordinationNumber``.
    Raises ValidationFailed if neither gives a valid number."""
    personal = claims.get(settings.OIDC_PERSONNUMMER_CLAIM)
    coordination = claims.get(settings.OIDC_COORDINATION_NUMBER_CLAIM)
    if personal:
        return normalise_personnummer(str(personal))
    if coordination:
        number = normalise_personnummer(str(coordination))
        if not is_coordination_number(number):
            raise ValidationFailed(
                {"personnummer": [_("The number sent as a coordination number is not a coordination number.")]}
            )
        return number
    raise ValidationFailed({"personnummer": [_("The identity provider sent no personal identity number.")]})


def claims_of(extra_data: dict[str, Any]) -> dict[str, Any]:
    """The ID token's claims with the userinfo's on top (both were verified to be about the
    same subject before they were stored)."""
    merged: dict[str, Any] = {}
    for source in (extra_data.get("id_token"), extra_data.get("userinfo")):
        if isinstance(source, dict):
            merged.update(source)
    return merged


def home_region_from_claims(claims: dict[str, Any]) -> object:
    """The raw home region claim (``TIDBOK_EID_HOME_REGION_CLAIM``), None when off or not sent;
    :func:`accounts.services.resident_register_refresh` checks it."""
    name = settings.TIDBOK_EID_HOME_REGION_CLAIM
    return claims.get(name) if name else None


def personnummer_or_refuse(request: HttpRequest, claims: dict[str, Any]) -> str:
    try:
        return personnummer_from_claims(claims)
    except ValidationFailed as exc:
        has_number = claims.get(settings.OIDC_PERSONNUMMER_CLAIM) or claims.get(settings.OIDC_COORDINATION_NUMBER_CLAIM)
        # The log says which case it was, never the number itself.
        logger.warning("e-ID login refused: %s", "invalid number" if has_number else "no number claim")
        if not has_number:
            refuse(request, "no_number")
        refuse(request, "bad_number", detail=(exc.field_errors.get("personnummer") or [""])[0])


class EidOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    """The token leg of the login: verify the ID token fully, then read the claims."""

    # allauth's state of this login (nonce, PKCE verifier), handed over by the callback view.
    state: dict[str, Any] | None = None

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        # Always check the signature: the token endpoint's TLS tells us who answered, not
        # that the token was not replaced on the way through a misconfigured proxy. Only
        # asymmetric algorithms: "none" or an HMAC keyed with the public key prove nothing.
        if jwt.get_unverified_header(id_token).get("alg") not in _SIGNING_ALGORITHMS:
            raise OAuth2Error("ID token not signed with an accepted algorithm")
        return jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )

    def complete_login(self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any):
        id_token_str = kwargs["response"].get("id_token")
        if not id_token_str:
            logger.warning("e-ID login refused: no ID token")
            refuse(request, "unverified")
        try:
            id_token = self._decode_id_token(app, id_token_str)
        except (OAuth2Error, RequestException, KeyError, ValueError, jwt.PyJWTError) as exc:
            logger.warning("e-ID login refused: ID token not valid (%s)", exc)
            refuse(request, "unverified")
        expected_nonce = (self.state or {}).get("nonce") or ""
        if not expected_nonce or not constant_time_compare(str(id_token.get("nonce", "")), expected_nonce):
            logger.warning("e-ID login refused: nonce missing or not the one sent")
            refuse(request, "unverified")
        data: dict[str, Any] = {"id_token": id_token}
        if app.settings.get("fetch_userinfo", True):
            userinfo = self._fetch_user_info(token.token)
            if not isinstance(userinfo, dict) or userinfo.get("sub") != id_token.get("sub"):
                logger.warning("e-ID login refused: userinfo is about another subject")
                refuse(request, "unverified")
            data["userinfo"] = userinfo
        personnummer = personnummer_or_refuse(request, claims_of(data))
        login = self.get_provider().sociallogin_from_response(request, data)
        # Kept on the login object for this request only: the adapter stores the token in
        # the session once the resident is logged in (for logout at the provider).
        login.eid_id_token = id_token_str
        login.eid_personnummer = personnummer
        return login


class EidProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider as the Swedish profile and R-AUTH-1 want it."""

    # URLs and templates stay allauth's own (``openid_connect_login`` etc.).
    package = "allauth.socialaccount.providers.openid_connect"
    oauth2_adapter_class = EidOAuth2Adapter

    def get_default_scope(self) -> list[str]:
        return list(settings.OIDC_SCOPES)

    def get_scope(self) -> list[str]:
        # Never e-mail: contact details come from the resident, not from the login.
        scope = [s for s in super().get_scope() if s and s not in ("email", "phone", "address")]
        return scope if "openid" in scope else ["openid", *scope]

    def get_scope_from_request(self, request: HttpRequest) -> list[str]:
        return self.get_scope()  # a ?scope= in the URL adds nothing

    def get_auth_params(self) -> dict:
        # prompt=login: the provider must authenticate again, even with a session of its own.
        return {**super().get_auth_params(), "prompt": "login"}

    def get_auth_params_from_request(self, request: HttpRequest, action) -> dict:
        return self.get_auth_params()  # ?auth_params= could otherwise set prompt=none or a nonce

    def redirect(self, request: HttpRequest, process, next_url=None, data=None, **kwargs):
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None) or self.get_auth_params()
        auth_params.update({"nonce": nonce, "prompt": "login"})
        # Always a login: connecting this e-ID to whoever is logged in is how an account was
        # taken over (the connections page), so that process does not exist here.
        return super().redirect(
            request, AuthProcess.LOGIN, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
        )

    def extract_extra_data(self, data: dict) -> dict:
        kept = _KEPT_CLAIMS | {settings.OIDC_PERSONNUMMER_CLAIM, settings.OIDC_COORDINATION_NUMBER_CLAIM}
        if settings.TIDBOK_EID_HOME_REGION_CLAIM:
            kept.add(settings.TIDBOK_EID_HOME_REGION_CLAIM)
        return {
            part: {k: v for k, v in claims.items() if k in kept}
            for part, claims in data.items()
            if part in ("id_token", "userinfo") and isinstance(claims, dict)
        }

    def extract_common_fields(self, data: dict) -> dict:
        claims = claims_of(data)
        return {
            "first_name": str(claims.get("given_name") or "")[:150],
            "last_name": str(claims.get("family_name") or "")[:150],
        }

    def extract_email_addresses(self, data: dict) -> list:
        return []

    def extract_uid(self, data: dict) -> str:
        # The ID token's subject: it was verified, and the userinfo was checked against it.
        id_token = data.get("id_token") or {}
        return str(id_token.get("sub") or super().extract_uid(data))


class EidCallbackView(OAuth2CallbackView):
    def _get_state(self, request: HttpRequest, provider):
        state, response = super()._get_state(request, provider)
        # The adapter checks the ID token's nonce against the one this state was sent with.
        self.adapter.state = state
        return state, response


def _adapter(request: HttpRequest, provider_id: str) -> EidOAuth2Adapter:
    adapter = EidOAuth2Adapter(request, provider_id)
    try:
        provider = adapter.get_provider()
    except SocialApp.DoesNotExist:
        raise Http404 from None
    if not isinstance(provider, EidProvider):
        # Misconfigured: the generic provider would skip the checks above.
        raise Http404
    return adapter


def eid_login(request: HttpRequest, provider_id: str) -> HttpResponse:
    """Start an e-ID login: redirect to the provider with state, PKCE, nonce and prompt=login."""
    try:
        return OAuth2LoginView.adapter_view(_adapter(request, provider_id))(request)
    except (RequestException, ValueError) as exc:
        # The provider's discovery document could not be fetched or read.
        logger.warning("e-ID provider unavailable: %s", type(exc).__name__)
        return login_refused_response(request, "unavailable", status=503)


def eid_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    """The provider's answer: code for tokens, verify, then allauth's login with our adapter."""
    return EidCallbackView.adapter_view(_adapter(request, provider_id))(request)


def end_session_form(request: HttpRequest, *, provider_id: str, id_token: str, return_to: str) -> dict | None:
    """What the browser posts to the provider's end_session_endpoint (RP-initiated logout),
    or None when the provider offers none. Posted, not linked: an ID token may carry the
    personnummer and must not end up in a URL."""
    try:
        adapter = _adapter(request, provider_id)
        endpoint = adapter.openid_config.get("end_session_endpoint")
        client_id = adapter.get_provider().app.client_id
    except (Http404, RequestException, ValueError) as exc:
        logger.warning("e-ID logout at the provider skipped: %s", type(exc).__name__)
        return None
    if not endpoint:
        return None
    return {
        "action": endpoint,
        "fields": {"id_token_hint": id_token, "client_id": client_id, "post_logout_redirect_uri": return_to},
    }
