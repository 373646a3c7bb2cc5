"""The resident's contact details and what they want to be told (R-NOTE-1): services and selectors.

An e-mail address is proved by a signed link (``django.core.signing``), a mobile number by a
six-digit code sent to it; both are made from a nonce stored with the pending address, so nothing
secret is stored and a new request voids the old link or code. The link and the code are sent by
a worker through the outbox (R-OPS-1): a mail server or SMS gateway that is down never fails the
resident's request, and the message goes when it is back.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import EmailValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed
from core.outbox.services import outbox_add
from core.public_url import public_url
from core.sms import Sms, send_sms

from .models import ContactDetails, User

EMAIL_LINK_MAX_AGE = dt.timedelta(days=2)
MOBILE_CODE_VALID = dt.timedelta(minutes=10)
MOBILE_CODE_MAX_ATTEMPTS = 5
# A new code at most this often: every code is a text message someone pays for.
MOBILE_CODE_RESEND_AFTER = dt.timedelta(seconds=60)
LANGUAGES = ("sv", "en")
_EMAIL_SALT = "tidbok.contact.email"
_MOBILE_SALT = "tidbok.contact.mobile"
# Swedish mobile numbers (07x…) in any usual spelling, or any number in E.164 form.
_SWEDISH_MOBILE = re.compile(r"^(?:\+46|0046|0)(7[02369][0-9]{7})$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


def contact_for(*, user: User) -> ContactDetails:
    """The resident's contact details (an empty row the first time)."""
    contact, _created = ContactDetails.objects.get_or_create(user=user)
    return contact


def _locked(user: User) -> ContactDetails:
    contact_for(user=user)
    return ContactDetails.objects.select_for_update().get(user=user)


def normalise_mobile(raw: str) -> str:
    """``070-123 45 67`` → ``+46701234567``; raises ValidationFailed when it is no mobile number."""
    compact = re.sub(r"[\s\-()]", "", raw)
    swedish = _SWEDISH_MOBILE.match(compact)
    if swedish:
        return f"+46{swedish.group(1)}"
    if _E164.match(compact) and not compact.startswith("+46"):
        return compact
    raise ValidationFailed({"mobile": [_("Enter a mobile number, for example 070-123 45 67.")]})


# --- E-mail --------------------------------------------------------------------------------------


@transaction.atomic
def contact_email_start(*, user: User, email: str, now: dt.datetime | None = None) -> ContactDetails:
    """Keep ``email`` as pending and send it a link that proves it is the resident's."""
    email = email.strip()
    try:
        EmailValidator()(email)
    except ValidationError:
        raise ValidationFailed({"email": [_("Enter an e-mail address, for example namn@exempel.se.")]}) from None
    contact = _locked(user)
    contact.email_pending = email
    contact.email_nonce = secrets.token_hex(16)
    contact.save(update_fields=["email_pending", "email_nonce"])
    outbox_add(name="accounts.tasks.contact_email_link_send", args=[user.pk, contact.email_nonce])
    return contact


def email_link_token(contact: ContactDetails) -> str:
    # The user and the nonce only: the address itself stays out of the URL.
    return signing.dumps({"u": contact.user_id, "n": contact.email_nonce}, salt=_EMAIL_SALT)


@transaction.atomic
def contact_email_confirm(*, user: User, token: str, now: dt.datetime | None = None) -> ContactDetails:
    """The resident followed the link: the pending address becomes their verified one."""
    now = now or timezone.now()
    refused = ValidationFailed({"token": [_("The link has expired or has already been used. Ask for a new one.")]})
    try:
        data = signing.loads(token, salt=_EMAIL_SALT, max_age=EMAIL_LINK_MAX_AGE)
    except signing.BadSignature:
        raise refused from None
    contact = _locked(user)
    if (
        not isinstance(data, dict)
        or data.get("u") != user.pk
        or not contact.email_pending
        or not contact.email_nonce
        or not constant_time_compare(str(data.get("n", "")), contact.email_nonce)
    ):
        raise refused
    contact.email, contact.email_verified_at = contact.email_pending, now
    contact.email_pending, contact.email_nonce = "", ""
    contact.save(update_fields=["email", "email_verified_at", "email_pending", "email_nonce"])
    return contact


@transaction.atomic
def contact_email_remove(*, user: User) -> ContactDetails:
    contact = _locked(user)
    contact.email, contact.email_verified_at, contact.email_pending, contact.email_nonce = "", None, "", ""
    contact.save(update_fields=["email", "email_verified_at", "email_pending", "email_nonce"])
    return contact


# --- Mobile --------------------------------------------------------------------------------------


def mobile_code(contact: ContactDetails) -> str:
    """The six-digit code for the pending number, made from its nonce (never stored)."""
    digest = salted_hmac(_MOBILE_SALT, f"{contact.user_id}:{contact.mobile_pending}:{contact.mobile_nonce}")
    return f"{int(digest.hexdigest(), 16) % 1_000_000:06d}"


@transaction.atomic
def contact_mobile_start(*, user: User, mobile: str, now: dt.datetime | None = None) -> ContactDetails:
    """Keep ``mobile`` as pending and text it a one-time code."""
    now = now or timezone.now()
    number = normalise_mobile(mobile)
    contact = _locked(user)
    if contact.mobile_code_sent_at and now - contact.mobile_code_sent_at < MOBILE_CODE_RESEND_AFTER:
        raise ValidationFailed({"mobile": [_("A code was sent less than a minute ago. Wait a moment and try again.")]})
    contact.mobile_pending = number
    contact.mobile_nonce = secrets.token_hex(16)
    contact.mobile_code_sent_at = now
    contact.mobile_code_attempts = 0
    contact.save(update_fields=["mobile_pending", "mobile_nonce", "mobile_code_sent_at", "mobile_code_attempts"])
    outbox_add(name="accounts.tasks.contact_mobile_code_send", args=[user.pk, contact.mobile_nonce])
    return contact


def contact_mobile_confirm(*, user: User, code: str, now: dt.datetime | None = None) -> ContactDetails:
    """The resident typed the code. A wrong code counts (it is committed even though the answer
    is a refusal); after ``MOBILE_CODE_MAX_ATTEMPTS`` the code is void and a new one is needed."""
    now = now or timezone.now()
    code = re.sub(r"\s", "", code)
    with transaction.atomic():
        contact = _locked(user)
        if not contact.mobile_pending or contact.mobile_code_sent_at is None:
            error = _("Ask for a new code.")
        elif contact.mobile_code_attempts >= MOBILE_CODE_MAX_ATTEMPTS:
            error = _("You have entered the wrong code too many times. Ask for a new code.")
        elif now - contact.mobile_code_sent_at > MOBILE_CODE_VALID:
            error = _("The code has expired. Ask for a new code.")
        elif not constant_time_compare(code, mobile_code(contact)):
            contact.mobile_code_attempts += 1
            contact.save(update_fields=["mobile_code_attempts"])
            error = _("The code is wrong. Check the text message and try again.")
        else:
            contact.mobile, contact.mobile_verified_at = contact.mobile_pending, now
            contact.mobile_pending, contact.mobile_nonce = "", ""
            contact.mobile_code_sent_at, contact.mobile_code_attempts = None, 0
            contact.save()
            return contact
    raise ValidationFailed({"code": [error]})


@transaction.atomic
def contact_mobile_remove(*, user: User) -> ContactDetails:
    contact = _locked(user)
    contact.mobile, contact.mobile_verified_at, contact.mobile_pending, contact.mobile_nonce = "", None, "", ""
    contact.mobile_code_sent_at, contact.mobile_code_attempts = None, 0
    contact.save()
    return contact


# --- Preferences ---------------------------------------------------------------------------------


@transaction.atomic
def contact_preferences_set(
    *, user: User, reminders_by_email: bool, reminders_by_sms: bool, language: str
) -> ContactDetails:
    if language not in LANGUAGES:
        raise ValidationFailed({"language": [_("Choose Swedish or English.")]})
    contact = _locked(user)
    contact.reminders_by_email, contact.reminders_by_sms = reminders_by_email, reminders_by_sms
    contact.language = language
    contact.save(update_fields=["reminders_by_email", "reminders_by_sms", "language"])
    return contact


def email_link_url(contact: ContactDetails) -> str:
    # The worker has no request to take the host from: the public address.
    return public_url(reverse("contact_email_confirm", args=[email_link_token(contact)]))


# --- Sending the link and the code (run by a worker) ----------------------------------------------


def contact_email_link_send(*, user_id: int, nonce: str) -> bool:
    """Send the verification link, in the resident's language. At least once: a second delivery
    sends the same link again (harmless); a request that was replaced meanwhile sends nothing."""
    contact = ContactDetails.objects.filter(user_id=user_id, email_nonce=nonce).exclude(email_pending="").first()
    if contact is None:
        return False
    with translation.override(contact.language):
        message = EmailMessage(
            gettext("Confirm your e-mail address for Tidbok"),
            gettext(
                "Follow the link to confirm that Tidbok may send messages about your bookings to this address:\n\n"
                "%(link)s\n\nThe link is valid for two days. If you did not ask for this, ignore this e-mail."
            )
            % {"link": email_link_url(contact)},
            to=[contact.email_pending],
        )
    message.send()
    return True


def contact_mobile_code_send(*, user_id: int, nonce: str) -> bool:
    """Text the one-time code. The code is made from the nonce, so a second delivery sends the
    same code (harmless)."""
    contact = ContactDetails.objects.filter(user_id=user_id, mobile_nonce=nonce).exclude(mobile_pending="").first()
    if contact is None:
        return False
    with translation.override(contact.language):
        body = gettext("Your code for Tidbok is %(code)s. It is valid for 10 minutes.") % {"code": mobile_code(contact)}
    send_sms(Sms(to=contact.mobile_pending, body=body, reference=f"tidbok-verify-{user_id}-{nonce}"))
    return True
