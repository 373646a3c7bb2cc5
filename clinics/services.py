"""Writes for clinics: case types, appointment types, resources, direct links, relations."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.selectors import user_has_clinic_role, user_is_region_it
from accounts.services import audit_record
from core.errors import DomainError, ErrorCode, PermissionDeniedError, ValidationFailed
from core.outbox.services import outbox_add
from core.params import NUL_MESSAGE, has_nul

from .models import (
    FEE_TEXT_MAX_LENGTH,
    MAX_DEADLINE_HOURS,
    MAX_DEADLINE_WORKING_DAYS,
    MAX_NOTICE_HOURS,
    MAX_OFFER_MINUTES,
    MIN_OFFER_MINUTES,
    PROXY_MARKER,
    WEB_INFO_MAX_LENGTH,
    AppointmentType,
    Area,
    Audience,
    CaseKind,
    CaseType,
    Clinic,
    ClinicRelation,
    DeadlineUnit,
    DirectLink,
    FreedTimes,
    RelationSource,
    Resource,
    ResourceKind,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from .selectors import action_supported, case_type_admits, case_type_for
from .signals import appointment_type_web_name_changed
from .video import meeting_url_template_problem

ADMIN_ROLES = (Role.LOCAL_ADMIN, Role.REGION_IT)
_FLAG_FIELDS = ("bookable_on_web", "cancellable_on_web", "reschedulable_on_web")
_TYPE_FIELDS = (
    "internal_name",
    "web_name",
    "web_info",
    *_FLAG_FIELDS,
    "hidden_for_patient",
    "visibility_days",
    "requires_booking_basis",
    "duration_minutes",
    # R-NOTE-2: e-mails, text messages and calendar files name only the clinic.
    "discreet",
    # R-POL-1, R-POL-2: notice for booking, deadline for changes on the web, fee text for late changes.
    "booking_notice_hours",
    "change_deadline",
    "change_deadline_unit",
    "late_fee_text",
    # Its bookings carry a meeting link (clinics.video).
    "is_video_visit",
)


# The FHIR feed (the top-layer fhir app) rebuilds its files when what is offered changes: it is
# asked by the name of its outbox step, never imported (schedules spells the same name).
FEED_REFRESH_ASK = "fhir.bulk.refresh_ask"


def feed_refresh_later() -> None:
    """What a case type, a type or a resource offers changed: the published feed follows after
    the commit (R-PUB), not only at the next periodic sweep."""
    outbox_add(name=FEED_REFRESH_ASK)


def _require_role(actor: User, clinic: Clinic, roles: tuple[Role, ...]) -> None:
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=roles):
        raise PermissionDeniedError()


# --- Case types (R-CASE-1, R-CASE-2, R-CLINIC-2) ----------------------------------------------


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
    _require_role(actor, case_type.clinic, ADMIN_ROLES)
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
    _require_role(actor, case_type.clinic, ADMIN_ROLES)
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
    _require_role(actor, case_type.clinic, ADMIN_ROLES)
    case_type.is_active = False
    case_type.save(update_fields=["is_active", "updated_at"])
    feed_refresh_later()
    return case_type


# --- Appointment types (R-TYPE-1…7) -----------------------------------------------------------


def _validate_type(values: dict[str, Any], *, was_hidden: bool, flags_set: set[str]) -> dict[str, Any]:
    errors: dict[str, list[Any]] = {}
    values["internal_name"] = (values.get("internal_name") or "").strip()
    values["web_name"] = (values.get("web_name") or "").strip()
    values["web_info"] = (values.get("web_info") or "").strip()
    if not values["internal_name"]:
        errors["internal_name"] = [_("Enter the name used in the timebook.")]
    if len(values["web_info"]) > WEB_INFO_MAX_LENGTH:
        errors["web_info"] = [
            _("The information text can be at most %(max)d characters.") % {"max": WEB_INFO_MAX_LENGTH}
        ]
    if re.search(r"<[a-zA-Z/!]", values["web_info"]):
        errors.setdefault("web_info", []).append(_("The information text must be plain text, without HTML."))
    days = values.get("visibility_days")
    if days is not None and not 1 <= int(days) <= 365:
        errors["visibility_days"] = [_("Days shown ahead must be between 1 and 365, or empty for 60 days.")]
    errors.update(_validate_policy(values))
    # R-TYPE-2: turning "hidden" on clears the flags; while it stays on they cannot be set.
    if values.get("hidden_for_patient"):
        if was_hidden and flags_set:
            for field in sorted(flags_set):
                errors[field] = [_("A type hidden for patients cannot be booked, cancelled or rebooked on the web.")]
        for field in _FLAG_FIELDS:
            values[field] = False
    # R-TYPE-5
    if values.get("bookable_on_web") and not values["web_name"]:
        errors["web_name"] = [_("A type that is bookable on the web needs a name for the web.")]
    # R-TYPE-6
    if PROXY_MARKER in values["internal_name"] and not all(values.get(f) for f in _FLAG_FIELDS):
        errors["internal_name"] = [
            _("A proxy (Ombud) type must be bookable, cancellable and reschedulable on the web.")
        ]
    if errors:
        raise ValidationFailed(errors)
    return values


def _validate_policy(values: dict[str, Any]) -> dict[str, list[Any]]:
    """R-POL-1, R-POL-2: the notice, the deadline in its unit, and the fee text. Empty numbers mean 0 (none)."""
    errors: dict[str, list[Any]] = {}
    values["booking_notice_hours"] = values.get("booking_notice_hours") or 0
    values["change_deadline"] = values.get("change_deadline") or 0
    values["change_deadline_unit"] = values.get("change_deadline_unit") or DeadlineUnit.HOURS
    values["late_fee_text"] = " ".join((values.get("late_fee_text") or "").split())
    if not 0 <= values["booking_notice_hours"] <= MAX_NOTICE_HOURS:
        errors["booking_notice_hours"] = [
            _("The notice must be between 0 and %(max)d hours.") % {"max": MAX_NOTICE_HOURS}
        ]
    unit = values["change_deadline_unit"]
    if unit not in DeadlineUnit.values:
        errors["change_deadline_unit"] = [_("Choose hours or working days.")]
    elif unit == DeadlineUnit.HOURS and not 0 <= values["change_deadline"] <= MAX_DEADLINE_HOURS:
        errors["change_deadline"] = [
            _("A deadline in hours must be between 0 and %(max)d.") % {"max": MAX_DEADLINE_HOURS}
        ]
    elif unit == DeadlineUnit.WORKING_DAYS and not (0 <= values["change_deadline"] <= MAX_DEADLINE_WORKING_DAYS):
        errors["change_deadline"] = [
            _("A deadline in working days must be between 0 and %(max)d.") % {"max": MAX_DEADLINE_WORKING_DAYS}
        ]
    if len(values["late_fee_text"]) > FEE_TEXT_MAX_LENGTH:
        errors["late_fee_text"] = [_("The fee text can be at most %(max)d characters.") % {"max": FEE_TEXT_MAX_LENGTH}]
    return errors


@transaction.atomic
def appointment_type_save(
    *, actor: User, clinic: Clinic, instance: AppointmentType | None = None, **fields: Any
) -> AppointmentType:
    """Create or change an appointment type (R-TYPE-1, -2, -5, -6)."""
    _require_role(actor, clinic, ADMIN_ROLES)
    if instance is not None and instance.clinic_id != clinic.pk:
        raise PermissionDeniedError()  # R-ACL-1: the role was checked for `clinic`, not the instance's
    unknown = set(fields) - set(_TYPE_FIELDS)
    if unknown:
        raise ValueError(f"unknown appointment type fields: {sorted(unknown)}")
    current = {f: getattr(instance, f) for f in _TYPE_FIELDS} if instance else {}
    values = {**current, **fields}
    flags_set = {f for f in _FLAG_FIELDS if fields.get(f) and not current.get(f)}
    values = _validate_type(values, was_hidden=bool(current.get("hidden_for_patient")), flags_set=flags_set)

    # R-TYPE-6: proxy types are created, renamed and edited by region IT only.
    is_proxy = PROXY_MARKER in values["internal_name"] or (instance is not None and instance.is_proxy)
    if is_proxy and not user_is_region_it(user=actor, clinic=clinic):
        raise PermissionDeniedError(_("Only a region IT administrator may create or change a proxy (Ombud) type."))

    duplicate = AppointmentType.objects.filter(clinic=clinic, internal_name=values["internal_name"])
    if instance is not None:
        duplicate = duplicate.exclude(pk=instance.pk)
    if duplicate.exists():
        raise ValidationFailed({"internal_name": [_("The clinic already has a type with this name.")]})

    old_web_name = instance.web_name if instance else None
    appointment_type = instance or AppointmentType(clinic=clinic)
    for field, value in values.items():
        setattr(appointment_type, field, value)
    appointment_type.save()
    if instance is not None and old_web_name != appointment_type.web_name:
        # R-PUB-1: a new web name reaches residents through the publisher like any new time
        # (schedules republishes the type's free times, in this transaction).
        appointment_type_web_name_changed.send(sender=AppointmentType, appointment_type=appointment_type)
    feed_refresh_later()  # flags, names and days shown ahead decide what the feed offers
    return appointment_type


@transaction.atomic
def appointment_type_waitlist_update(
    *,
    actor: User,
    appointment_type: AppointmentType,
    freed_times: str,
    waitlist_for_residents: bool,
    offer_minutes: int,
) -> AppointmentType:
    """R-WAIT-1, R-WAIT-2: whether residents may join the type's waitlist on the web, whether a
    freed time is published to everyone at once or offered to the waitlist first, and how long
    an offer is kept (R-WAIT-3). A staff change, on the audit log in the same transaction."""
    clinic = appointment_type.clinic
    _require_role(actor, clinic, ADMIN_ROLES)
    errors: dict[str, list[StrOrPromise]] = {}
    if freed_times not in FreedTimes.values:
        errors["freed_times"] = [_("Choose what happens to a freed time.")]
    if not MIN_OFFER_MINUTES <= offer_minutes <= MAX_OFFER_MINUTES:
        errors["offer_minutes"] = [
            _("The offer must be kept between %(low)s and %(high)s minutes.")
            % {"low": MIN_OFFER_MINUTES, "high": MAX_OFFER_MINUTES}
        ]
    if errors:
        raise ValidationFailed(errors)
    appointment_type.freed_times = freed_times
    appointment_type.waitlist_for_residents = waitlist_for_residents
    appointment_type.offer_minutes = offer_minutes
    appointment_type.save(update_fields=["freed_times", "waitlist_for_residents", "offer_minutes"])
    audit_record(
        actor=actor,
        action="appointment_type.waitlist",
        clinic=clinic,
        obj=appointment_type,
        detail=f"{freed_times}, residents may join: {waitlist_for_residents}, offer minutes: {offer_minutes}",
    )
    return appointment_type


# --- Resources (R-RES-1) ----------------------------------------------------------------------

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
    _require_role(actor, clinic, ADMIN_ROLES)
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


# --- Direct links (R-CLINIC-1) ----------------------------------------------------------------


def direct_link_create(*, actor: User, clinic: Clinic, kind: str, label: str = "") -> DirectLink:
    _require_role(actor, clinic, ADMIN_ROLES)
    if kind not in CaseKind.values:
        raise ValidationFailed({"kind": [_("Choose a case type.")]})
    return DirectLink.objects.create(clinic=clinic, kind=kind, label=label.strip()[:100])


# --- Clinic settings (R-TYPE-7) -----------------------------------------------------------------


def clinic_patient_comment_update(*, actor: User, clinic: Clinic, enabled: bool) -> Clinic:
    """R-TYPE-7: a local admin (or region IT) turns "patient comment on web" on or off; when on,
    the booking form asks for a phone number and a short reason."""
    _require_role(actor, clinic, ADMIN_ROLES)
    clinic.patient_comment_on_web = bool(enabled)
    clinic.save(update_fields=["patient_comment_on_web"])
    return clinic


@transaction.atomic
def clinic_meeting_template_update(*, actor: User, clinic: Clinic, template: str) -> Clinic:
    """A local admin (or region IT) sets the address video visits' meeting links are made from:
    https only, with {room} where each booking's own room id goes; empty means staff give each
    video booking its link by hand. Bookings already made keep the link they have. The change is
    on the audit log (R-LOG-4) with the new address, which holds no room and so no secret."""
    _require_role(actor, clinic, ADMIN_ROLES)
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


# --- Clinic relations (R-REL-1…3) ---------------------------------------------------------------


def relation_add(*, resident: User, clinic: Clinic, source: RelationSource) -> ClinicRelation:
    """R-REL-1: every way of creating a relation also puts the clinic on the start page.

    One statement (every booking asks this): an insert that, where the relation is there, puts
    it back on the start page instead; its source and approval stay, and ``updated_at`` moves
    only when it was off. PostgreSQL and SQLite both take ``ON CONFLICT … DO UPDATE … RETURNING``."""
    now = timezone.now()
    table = ClinicRelation._meta.db_table
    (relation,) = ClinicRelation.objects.raw(
        f"""
        INSERT INTO {table} (resident_id, clinic_id, on_start_page, approved_for_communication, source,
                             created_at, updated_at)
        VALUES (%s, %s, true, false, %s, %s, %s)
        ON CONFLICT (resident_id, clinic_id) DO UPDATE SET
            on_start_page = true,
            updated_at = CASE WHEN {table}.on_start_page THEN {table}.updated_at ELSE excluded.updated_at END
        RETURNING *
        """,
        [resident.pk, clinic.pk, source, now, now],
    )
    relation.resident, relation.clinic = resident, clinic
    return relation


def relation_add_through_contact_card(*, resident: User, clinic: Clinic, kind: CaseKind) -> ClinicRelation | None:
    """R-REL-1 (guide 001): logging in through an e-service link on the clinic's contact card
    creates the relation and puts the clinic on the start page, as a direct link does. Only
    when the case type admits the resident (R-CASE-3): the card is no back door into a case
    type for residents with a relation only."""
    if not case_type_admits(case_type=case_type_for(clinic=clinic, kind=kind), resident=resident):
        return None
    return relation_add(resident=resident, clinic=clinic, source=RelationSource.CONTACT_CARD)


def relation_remove(*, resident: User, clinic: Clinic) -> ClinicRelation | None:
    """R-REL-2: off the start page; the relation stays while approved for communication."""
    relation = ClinicRelation.objects.filter(resident=resident, clinic=clinic).first()
    if relation is not None:
        relation.on_start_page = False
        relation.save(update_fields=["on_start_page", "updated_at"])
    return relation


COMMUNICATION_ROLES = (Role.LOCAL_ADMIN, Role.SCHEDULER, Role.REGION_IT)


@transaction.atomic
def communication_approve(*, actor: User, resident: User, clinic: Clinic) -> ClinicRelation:
    """R-REL-1: approved for communication, the resident has the clinic on the start page; on the
    audit log in the same transaction (R-LOG-4)."""
    _require_role(actor, clinic, COMMUNICATION_ROLES)
    relation = relation_add(resident=resident, clinic=clinic, source=RelationSource.COMMUNICATION)
    relation.approved_for_communication = True
    relation.save(update_fields=["approved_for_communication", "updated_at"])
    audit_record(actor=actor, action="communication.approve", clinic=clinic, resident=resident, obj=relation)
    return relation


@transaction.atomic
def communication_withdraw(*, actor: User, resident: User, clinic: Clinic) -> ClinicRelation | None:
    """R-REL-3: withdrawing the approval ends the relation and takes the clinic off the start page;
    on the audit log in the same transaction (R-LOG-4)."""
    _require_role(actor, clinic, COMMUNICATION_ROLES)
    relation = ClinicRelation.objects.select_for_update().filter(resident=resident, clinic=clinic).first()
    if relation is not None:
        relation.approved_for_communication = False
        relation.on_start_page = False
        relation.save(update_fields=["approved_for_communication", "on_start_page", "updated_at"])
    audit_record(actor=actor, action="communication.withdraw", clinic=clinic, resident=resident, obj=relation)
    return relation
