"""The invitation e-mail of a new staff account: a link to set a password through allauth's
password reset pages (the second factor is set up at the first login, R-AUTH-2)."""

from __future__ import annotations

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from core.public_url import public_url

from .models import User


def staff_invitation_url(user: User) -> str:
    """allauth's set-password link. The token is made from the account's password hash and last
    login, so it stops working once the password is set; it expires after PASSWORD_RESET_TIMEOUT."""
    key = default_token_generator.make_token(user)
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": key})
    return public_url(path)


def staff_invitation_send(*, user_id: int, region_name: str) -> bool:
    """Send the invitation (at least once: a second delivery sends a link that works as well). An
    account that has set its password meanwhile, or was deactivated, gets nothing."""
    user = User.objects.filter(pk=user_id, is_active=True, personnummer__isnull=True).exclude(email="").first()
    if user is None or user.has_usable_password():
        return False
    days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
    with translation.override(settings.LANGUAGE_CODE):
        message = EmailMessage(
            gettext("You have been given an account in Tidbok"),
            gettext(
                "Hello %(name)s,\n\n%(region)s has given you an account in Tidbok, the clinics' web booking "
                "workspace. Choose your password here:\n\n%(link)s\n\nThe link works once and for %(days)s days. "
                "When you then log in with your e-mail address and password, you set up a second factor "
                "(an authenticator app or a security key).\n\nIf you did not expect this e-mail, "
                "ignore it and tell your region's IT support."
            )
            % {
                "name": user.get_full_name() or user.email,
                "region": region_name,
                "link": staff_invitation_url(user),
                "days": days,
            },
            to=[user.email],
        )
    message.send()
    return True
