"""What the schedule services share: the scheduler check and asking for publishing later."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accounts.models import Role, User
from accounts.selectors import user_has_clinic_role
from core.errors import PermissionDeniedError
from core.outbox.services import outbox_add, outbox_add_many
from core.queue import enqueue_on_commit

from .. import free_times
from ..models import Slot

SCHEDULER_ROLES = (Role.SCHEDULER,)


def _require_scheduler(actor: User, clinic: Any) -> None:
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=SCHEDULER_ROLES):
        raise PermissionDeniedError()


def _publish_later(slot_ids: Iterable[int]) -> None:
    from ..tasks import slots_publish  # the tasks module imports these services

    ids = sorted(set(slot_ids))
    if ids:
        enqueue_on_commit(slots_publish, ids)


def _free_times_changed(slot_ids: list[int]) -> None:
    """These slots came onto or went off the web: their clinics' cached free times are stale."""
    free_times.invalidate_on_commit(Slot.objects.filter(pk__in=slot_ids).values_list("clinic_id", flat=True).distinct())


# The outbox step that refreshes the FHIR bulk files lives in the top-layer fhir app
# (fhir.bulk.REFRESH_ASK): named here, never imported, as schedules sits below it.
BULK_REFRESH_ASK = "fhir.bulk.refresh_ask"


def bulk_refresh_later() -> None:
    """The FHIR bulk publication (``/fhir/r4/$bulk-publish``) follows after the commit, through
    the outbox (R-OPS-1); the step folds asks together (see :mod:`fhir.bulk`)."""
    outbox_add(name=BULK_REFRESH_ASK)


def times_changed_later(clinic_ids: Iterable[int]) -> None:
    """Times of these clinics came onto or went off the web: their cached free times and the FHIR
    bulk files follow after the commit, both asked in one outbox INSERT (every booking and hold
    asks this)."""
    outbox_add_many(messages=[*free_times.invalidation(clinic_ids), (BULK_REFRESH_ASK, [])])
