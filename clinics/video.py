"""Video visits' meeting links: what a clinic's link template and a link set by hand must look
like, and how a booking's own link is made from the template.

A meeting link is a secret of the resident's (whoever has it can join the visit), so a link made
from the template carries a room id nobody can guess, drawn anew for each booking.
"""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

MEETING_ROOM_PLACEHOLDER = "{room}"
MEETING_URL_MAX_LENGTH = 500
# Room for the room id the placeholder becomes, inside a booking's link.
MEETING_TEMPLATE_MAX_LENGTH = 450
# 128 random bits, URL-safe: as hard to guess as a session key.
_ROOM_BYTES = 16

_https_url = URLValidator(schemes=["https"])


def _is_https_url(value: str) -> bool:
    try:
        _https_url(value)
    except ValidationError:
        return False
    return True


def new_meeting_room() -> str:
    return secrets.token_urlsafe(_ROOM_BYTES)


def meeting_url_template_problem(template: str) -> str | None:
    """Why ``template`` cannot be a clinic's meeting link template, or None. Empty is allowed: the
    clinic then gives each video booking its link by hand."""
    if not template:
        return None
    if len(template) > MEETING_TEMPLATE_MAX_LENGTH:
        return str(_("The address can be at most %(max)d characters.") % {"max": MEETING_TEMPLATE_MAX_LENGTH})
    if not template.lower().startswith("https://"):
        return str(_("The address must begin with https:// so the meeting is encrypted."))
    if MEETING_ROOM_PLACEHOLDER not in template:
        return str(
            _("Put {room} in the address where each booking's own meeting room goes, for example %(example)s.")
            % {"example": "https://mote.region.se/{room}"}
        )
    sample = template.replace(MEETING_ROOM_PLACEHOLDER, new_meeting_room())
    if "{" in sample or "}" in sample or not _is_https_url(sample):
        return str(_("Enter a web address, for example %(example)s.") % {"example": "https://mote.region.se/{room}"})
    return None


def validate_meeting_url_template(value: str) -> None:
    """The model field's validator: the Django admin refuses what the workspace page refuses."""
    problem = meeting_url_template_problem(value)
    if problem is not None:
        raise ValidationError(problem)


def meeting_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a booking's meeting link, or None. Empty removes the link."""
    if not url:
        return None
    if len(url) > MEETING_URL_MAX_LENGTH:
        return str(_("The link can be at most %(max)d characters.") % {"max": MEETING_URL_MAX_LENGTH})
    if not url.lower().startswith("https://"):
        return str(_("The link must begin with https:// so the meeting is encrypted."))
    if not _is_https_url(url):
        return str(_("Enter a web address, for example %(example)s.") % {"example": "https://mote.region.se/abc123"})
    return None


def meeting_url_from_template(template: str) -> str:
    """A new link to a room of its own, or "" when the clinic has no template."""
    if not template:
        return ""
    return template.replace(MEETING_ROOM_PLACEHOLDER, new_meeting_room())
