"""Direct links and the clinic's own settings (R-CLINIC-1, R-TYPE-7, video visits' meeting links)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import audit_record
from core.errors import ValidationFailed
from core.params import NUL_MESSAGE, has_nul

from ..models import CaseKind, Clinic, DirectLink
from ..video import meeting_url_template_problem
from .common import ADMIN_ROLES, require_role

# --- Direct links (R-CLINIC-1) ----------------------------------------------------------------


def direct_link_create(*, actor: User, clinic: Clinic, kind: str, label: str = "") -> DirectLink:
    require_role(actor, clinic, ADMIN_ROLES)
    if kind not in CaseKind.values:
        raise ValidationFailed({"kind": [_("Choose a case type.")]})
    return DirectLink.objects.create(clinic=clinic, kind=kind, label=label.strip()[:100])


# --- Clinic settings (R-TYPE-7) -----------------------------------------------------------------


def clinic_patient_comment_update(*, actor: User, clinic: Clinic, enabled: bool) -> Clinic:
    """R-TYPE-7: a local admin (or region IT) turns "patient comment on web" on or off; when on,
    the booking form asks for a phone number and a short reason."""
    require_role(actor, clinic, ADMIN_ROLES)
    clinic.patient_comment_on_web = bool(enabled)
    clinic.save(update_fields=["patient_comment_on_web"])
    return clinic


@transaction.atomic
def clinic_meeting_template_update(*, actor: User, clinic: Clinic, template: str) -> Clinic:
    """A local admin (or region IT) sets the address video visits' meeting links are made from:
    https only, with {room} where each booking's own room id goes; empty means staff give each
    video booking its link by hand. Bookings already made keep the link they have. The change is
    on the audit log (R-LOG-4) with the new address, which holds no room and so no secret."""
    require_role(actor, clinic, ADMIN_ROLES)
    template = (template or "").strip()
    # R-SEC-6: PostgreSQL cannot store a NUL byte: refused beside the field.
    problem = NUL_MESSAGE if has_nul(template) else meeting_url_template_problem(template)
    if problem is not None:
        raise ValidationFailed({"meeting_url_template": [problem]})
    if template == clinic.meeting_url_template:
        return clinic
    clinic.meeting_url_template = template
    clinic.save(update_fields=["meeting_url_template"])
    audit_record(actor=actor, action="clinic.meeting_template_update", clinic=clinic, obj=clinic, detail=template)
    return clinic
