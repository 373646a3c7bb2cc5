"""The phone number and reason a clinic asks for when a time is booked (R-TYPE-7)."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic
from core.errors import ValidationFailed

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")
REASON_MAX_LENGTH = 200


def validate_patient_comment(clinic: Clinic, phone: str, reason: str, *, on_behalf: bool = False) -> tuple[str, str]:
    """R-TYPE-7: when the clinic asks, phone and a short reason are required. A resident's own
    booking drops them otherwise; one made on the resident's behalf (a proxy booker on the phone
    with them) keeps what was given, checked the same way, for the clinic to read."""
    phone, reason = phone.strip(), " ".join(reason.split())
    required = clinic.patient_comment_on_web
    if not required and not on_behalf:
        return "", ""
    errors: dict[str, list[Any]] = {}
    if (required or phone) and not _PHONE.match(phone):
        errors["phone"] = [
            _("Enter a phone number the clinic can reach the resident on, for example 070-123 45 67.")
            if on_behalf
            else _("Enter a phone number the clinic can reach you on, for example 070-123 45 67.")
        ]
    if required and not reason:
        if on_behalf:
            errors["reason"] = [_("Write briefly why the resident needs the time.")]
        else:
            errors["reason"] = [_("Write briefly why you are booking.")]
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = [_("Keep the reason to at most %(max)d characters.") % {"max": REASON_MAX_LENGTH}]
    if errors:
        raise ValidationFailed(errors)
    return phone, reason
