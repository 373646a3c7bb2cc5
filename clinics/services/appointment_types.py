"""Appointment types: names, web flags, policy and the waitlist settings (R-TYPE-1…6, R-POL-1, R-POL-2, R-WAIT-1…3)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import user_is_region_it
from accounts.services import audit_record
from core.errors import PermissionDeniedError, ValidationFailed

from ..models import (
    FEE_TEXT_MAX_LENGTH,
    MAX_DEADLINE_HOURS,
    MAX_DEADLINE_WORKING_DAYS,
    MAX_NOTICE_HOURS,
    MAX_OFFER_MINUTES,
    MIN_OFFER_MINUTES,
    PROXY_MARKER,
    WEB_INFO_MAX_LENGTH,
    AppointmentType,
    Clinic,
    DeadlineUnit,
    FreedTimes,
)
from ..signals import appointment_type_web_name_changed
from .common import ADMIN_ROLES, feed_refresh_later, require_role

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

_FLAG_FIELDS = ("bookable_on_web", "cancellable_on_web", "reschedulable_on_web")
# What a local admin may change on a type; the admin API's serializer lists the same fields.
TYPE_FIELDS = (
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
    require_role(actor, clinic, ADMIN_ROLES)
    if instance is not None and instance.clinic_id != clinic.pk:
        raise PermissionDeniedError()  # R-ACL-1: the role was checked for `clinic`, not the instance's
    unknown = set(fields) - set(TYPE_FIELDS)
    if unknown:
        raise ValueError(f"unknown appointment type fields: {sorted(unknown)}")
    current = {f: getattr(instance, f) for f in TYPE_FIELDS} if instance else {}
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
    require_role(actor, clinic, ADMIN_ROLES)
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
