"""What the clinic services share: the admin roles, the role check and the feed's refresh ask."""

from __future__ import annotations

from accounts.models import Role, User
from accounts.selectors import user_has_clinic_role
from core.errors import PermissionDeniedError
from core.outbox.services import outbox_add

from ..models import Clinic

ADMIN_ROLES = (Role.LOCAL_ADMIN, Role.REGION_IT)

# The FHIR feed (the top-layer fhir app) rebuilds its files when what is offered changes: it is
# asked by the name of its outbox step, never imported (schedules spells the same name).
FEED_REFRESH_ASK = "fhir.bulk.refresh_ask"


def feed_refresh_later() -> None:
    """What a case type, a type or a resource offers changed: the published feed follows after
    the commit (R-PUB), not only at the next periodic sweep."""
    outbox_add(name=FEED_REFRESH_ASK)


def require_role(actor: User, clinic: Clinic, roles: tuple[Role, ...]) -> None:
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=roles):
        raise PermissionDeniedError()
