"""Resources residents see by name (R-RES-1)."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.errors import PermissionDeniedError, ValidationFailed

from ..models import Clinic, Resource, ResourceKind
from .common import ADMIN_ROLES, feed_refresh_later, require_role

_BANNED_RESOURCE_WORDS = ("rumsnamn", "stafettläkare", "bemanningspersonal")
# Staff type the common title abbreviations in any case ("ssk", "Dsk"), and a resident reads them no better in
# lower case: these are refused whatever their case. Other abbreviations are caught by being all capitals.
_KNOWN_ABBREVIATIONS = frozenset({"dsk", "ssk", "usk", "spsk", "bmm", "läk", "öl", "kur", "sjg", "arbt", "bvc", "mvc"})


def validate_resource_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed({"name": [_("Enter the name residents will see.")]})
    lowered = name.lower()
    for word in _BANNED_RESOURCE_WORDS:
        if word in lowered:
            raise ValidationFailed(
                {
                    "name": [
                        _("Residents see this name. Do not use “%(word)s”: name the position or person.")
                        % {"word": word}
                    ]
                }
            )
    for token in re.findall(r"[^\W\d_]+", name):
        if (len(token) >= 2 and token.isupper()) or token.lower() in _KNOWN_ABBREVIATIONS:
            raise ValidationFailed(
                {
                    "name": [
                        _(
                            "Write the name out in full: residents may not understand the abbreviation “%(abbr)s” "
                            "(for example “Distriktssköterska”, not “DSK”)."
                        )
                        % {"abbr": token}
                    ]
                }
            )
    return name


@transaction.atomic
def resource_save(
    *, actor: User, clinic: Clinic, name: str, kind: str = ResourceKind.POSITION, instance: Resource | None = None
) -> Resource:
    require_role(actor, clinic, ADMIN_ROLES)
    if instance is not None and instance.clinic_id != clinic.pk:
        raise PermissionDeniedError()
    name = validate_resource_name(name)
    if kind not in ResourceKind.values:
        raise ValidationFailed({"kind": [_("Choose a kind of resource.")]})
    duplicate = Resource.objects.filter(clinic=clinic, name=name)
    if instance is not None:
        duplicate = duplicate.exclude(pk=instance.pk)
    if duplicate.exists():
        raise ValidationFailed({"name": [_("The clinic already has a resource with this name.")]})
    resource = instance or Resource(clinic=clinic)
    resource.name = name
    resource.kind = kind
    resource.save()
    feed_refresh_later()  # the feed names the resource on its schedules
    return resource
