"""The clinic's two case types: conditions, audience and area, activation (R-CASE-1, R-CASE-2, R-CLINIC-2)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.errors import DomainError, ErrorCode, ValidationFailed

from ..models import Area, Audience, CaseKind, CaseType, Clinic
from ..selectors import action_supported
from .common import ADMIN_ROLES, feed_refresh_later, require_role


def clinic_ensure_case_types(*, clinic: Clinic) -> list[CaseType]:
    """Every clinic has exactly the two case types, inactive until a local admin acts."""
    return [CaseType.objects.get_or_create(clinic=clinic, kind=kind)[0] for kind in CaseKind]


@transaction.atomic
def case_type_update(
    *,
    actor: User,
    case_type: CaseType,
    conditions_text: str,
    audience: str,
    area: str,
    one_booking_at_a_time: bool | None = None,
) -> CaseType:
    """R-CASE-1, R-CASE-2. ``one_booking_at_a_time`` (BOOK only; None leaves it as it is) limits a
    resident to one active booking at the clinic on the web."""
    require_role(actor, case_type.clinic, ADMIN_ROLES)
    errors: dict[str, list[Any]] = {}
    if audience not in Audience.values:
        errors["audience"] = [_("Choose who the case type is for.")]
    if area not in Area.values:
        errors["area"] = [_("Choose the geographic area.")]
    if len(conditions_text) > 4000:
        errors["conditions_text"] = [_("The conditions text can be at most 4000 characters.")]
    if errors:
        raise ValidationFailed(errors)
    case_type.conditions_text = conditions_text.strip()
    case_type.audience = audience
    case_type.area = area
    if one_booking_at_a_time is not None and case_type.kind == CaseKind.BOOK:
        case_type.one_booking_at_a_time = one_booking_at_a_time
    if case_type.is_active and not case_type.conditions_text:
        raise ValidationFailed({"conditions_text": [_("An active case type needs a conditions text.")]})
    case_type.save()
    feed_refresh_later()  # audience and area decide what the feed may offer
    return case_type


@transaction.atomic
def case_type_activate(*, actor: User, case_type: CaseType) -> CaseType:
    require_role(actor, case_type.clinic, ADMIN_ROLES)
    if not action_supported(clinic=case_type.clinic, kind=CaseKind(case_type.kind)):
        raise DomainError(
            ErrorCode.APPOINTMENT_IS_NOT_ALLOWED,
            _("The clinic's timebook does not support this case type, so it cannot be activated."),
        )
    if not case_type.conditions_text.strip():
        raise ValidationFailed(
            {"conditions_text": [_("Write the conditions text residents see before the case type is activated.")]}
        )
    case_type.is_active = True
    case_type.save(update_fields=["is_active", "updated_at"])
    feed_refresh_later()
    return case_type


@transaction.atomic
def case_type_deactivate(*, actor: User, case_type: CaseType) -> CaseType:
    require_role(actor, case_type.clinic, ADMIN_ROLES)
    case_type.is_active = False
    case_type.save(update_fields=["is_active", "updated_at"])
    feed_refresh_later()
    return case_type
