"""Has this session passed its second factor? (R-AUTH-2, R-SEC-1, R-SEC-2)

allauth keeps a list of the authentication steps a session went through (password, mfa, …).
A staff member counts as logged in only when that list, for this very user, holds a second
factor: an enrolled TOTP app on the account is not enough, the session must have used one.
"""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.core import context
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.http import HttpRequest

# Recovery codes are a second factor too (the way back in when the phone is lost).
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN, Authenticator.Type.RECOVERY_CODES)
ENROLLABLE_TYPES = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


def session_passed_second_factor(request: HttpRequest, user: Any = None) -> bool:
    """R-SEC-2: the session's own authentication records show a second factor for ``user``
    (default: the logged-in user). A session opened any other way (``login()`` without allauth,
    a password-only record, records of another user) does not count."""
    user = user if user is not None else getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return any(
        record.get("method") == "mfa" and record.get("type") in SECOND_FACTOR_TYPES
        for record in get_authentication_records(request, user)
    )


def user_has_second_factor(user: Any) -> bool:
    return is_mfa_enabled(user, ENROLLABLE_TYPES)


def record_enrolment_as_second_factor(*, request: HttpRequest | None, authenticator: Authenticator) -> None:
    """R-SEC-2: setting up the account's *first* TOTP app or security key proves the factor
    (allauth checks a code or a signature from it), so the new staff member who did it is not
    asked for a code again at once. A factor added next to an existing one proves nothing about
    this session: it counts only after the session has used a factor the account already had."""
    if request is None or authenticator.type not in ENROLLABLE_TYPES:
        return
    if getattr(request, "user", None) is None or request.user.pk != authenticator.user_id:
        return
    others = Authenticator.objects.filter(user_id=authenticator.user_id, type__in=ENROLLABLE_TYPES)
    if others.exclude(pk=authenticator.pk).exists():
        return
    record_authentication(request, request.user, "mfa", id=authenticator.pk, type=authenticator.type, enrolled=True)


def on_authenticator_saved(sender: type, instance: Authenticator, created: bool, **kwargs: Any) -> None:
    """post_save receiver: runs inside the request that set the factor up (allauth's own
    ``authenticator_added`` signal waits for the commit, when the session may be written)."""
    if created:
        record_enrolment_as_second_factor(request=context.request, authenticator=instance)
