"""Powers of attorney between residents (R-POA-1): given, accepted, ended, and every action an
attorney takes told to the grantor in their inbox. Whom a resident may act for is decided in
``accounts.acting``; this module only writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.acting import Acting
from accounts.models import ActingAs, PowerOfAttorney, User
from accounts.personnummer import normalise_personnummer
from accounts.services import audit_record, resident_get_or_create, resident_lock
from clinics.models import Clinic
from core.errors import BookingError, ErrorCode, ValidationFailed
from schedules.selectors import LOCAL_TZ

from ..models import Booking, LogStatus, MessageKind, WaitlistEntry
from .inbox import inbox_message_send

# A power of attorney is renewed at least this often, so none outlives what the grantor meant.
LONGEST_VALIDITY_DAYS = 5 * 366


def _name(user: User) -> str:
    # Never the username: a resident's is made of their personnummer.
    return user.get_full_name() or gettext("a resident")


def _tell(*, resident: User, subject: str, body: str, clinic: Clinic | None = None, booking: Booking | None = None):
    inbox_message_send(
        resident=resident,
        clinic=clinic,
        kind=MessageKind.POWER_OF_ATTORNEY,
        subject=subject,
        body=body,
        booking=booking,
        notify=False,
    )


@transaction.atomic
def power_of_attorney_grant(
    *,
    grantor: User,
    personnummer: str,
    valid_until: dt.date | None,
    all_clinics: bool = True,
    clinic_ids: Iterable[int] = (),
    now: dt.datetime | None = None,
) -> PowerOfAttorney:
    """R-POA-1: ``grantor`` lets the resident with ``personnummer`` see, book, cancel and rebook for
    them at every clinic or the chosen ones, until ``valid_until``. It counts once accepted. A
    number that has never used Tidbok gets its resident row here, so that the grant says nothing
    about who uses Tidbok; the grantee finds the offer in their inbox at their first login."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    errors: dict[str, list[Any]] = {}
    normalised = ""
    try:
        normalised = normalise_personnummer(personnummer)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    if normalised and normalised == grantor.personnummer:
        errors["personnummer"] = [_("Enter the personal identity number of someone else.")]
    if valid_until is None:
        errors["valid_until"] = [_("Enter the last day of the power of attorney.")]
    elif valid_until < today:
        errors["valid_until"] = [_("The last day cannot be in the past.")]
    elif valid_until > today + dt.timedelta(days=LONGEST_VALIDITY_DAYS):
        errors["valid_until"] = [_("A power of attorney can last at most five years.")]
    chosen = list(Clinic.objects.filter(pk__in=list(clinic_ids)).order_by("pk"))
    if not all_clinics and not chosen:
        errors["clinics"] = [_("Choose at least one clinic, or every clinic.")]
    if errors:
        raise ValidationFailed(errors)
    grantee, _created = resident_get_or_create(personnummer=normalised)
    resident_lock(resident=grantor)
    if PowerOfAttorney.objects.filter(grantor=grantor, grantee=grantee, ended_at__isnull=True).exists():
        raise ValidationFailed(
            {"personnummer": [_("You have already given this person a power of attorney. End it first to change it.")]}
        )
    assert valid_until is not None
    power = PowerOfAttorney.objects.create(
        grantor=grantor, grantee=grantee, all_clinics=all_clinics, valid_until=valid_until, created_at=now
    )
    if not all_clinics:
        power.clinics.set(chosen)
    audit_record(actor=grantor, action="power_of_attorney.granted", resident=grantor, obj=power)
    with translation.override(settings.LANGUAGE_CODE):
        values = {"name": _name(grantor), "until": f"{valid_until:%Y-%m-%d}"}
        _tell(
            resident=grantee,
            subject=gettext("Power of attorney from %(name)s") % values,
            body=gettext(
                "%(name)s wants to give you a power of attorney: to see, book, cancel and rebook their times "
                "until %(until)s. Accept or decline it under Powers of attorney."
            )
            % values,
        )
    return power


def _locked_power(*, power_id: int, party: User) -> PowerOfAttorney:
    """The power of attorney ``party`` gave or holds, locked after its grantor (the lock every
    booking for the grantor takes first): an action under it and its end run one after the other."""
    found = PowerOfAttorney.objects.filter(pk=power_id).select_related("grantor", "grantee").first()
    if found is None or party.pk not in (found.grantor_id, found.grantee_id):
        raise BookingError(ErrorCode.NOT_FOUND)
    resident_lock(resident=found.grantor)
    power = PowerOfAttorney.objects.select_for_update().select_related("grantor", "grantee").get(pk=power_id)
    return power


@transaction.atomic
def power_of_attorney_accept(*, grantee: User, power_id: int, now: dt.datetime | None = None) -> PowerOfAttorney:
    """R-POA-1: the grantee accepts; from now on they may act for the grantor, who is told."""
    now = now or timezone.now()
    power = _locked_power(power_id=power_id, party=grantee)
    if power.grantee_id != grantee.pk:
        raise BookingError(ErrorCode.NOT_FOUND)
    if power.ended_at is not None or power.valid_until < timezone.localdate(now):
        raise BookingError(ErrorCode.APPOINTMENT_IS_NOT_ALLOWED, _("This power of attorney has ended."))
    if power.accepted_at is None:
        power.accepted_at = now
        power.save(update_fields=["accepted_at"])
        audit_record(actor=grantee, action="power_of_attorney.accepted", resident=power.grantor, obj=power)
        with translation.override(settings.LANGUAGE_CODE):
            values = {"name": _name(grantee)}
            _tell(
                resident=power.grantor,
                subject=gettext("%(name)s accepted your power of attorney") % values,
                body=gettext(
                    "%(name)s can now see, book, cancel and rebook your times. You can end the power of "
                    "attorney at any time under Powers of attorney."
                )
                % values,
            )
    return power


@transaction.atomic
def power_of_attorney_end(*, actor: User, power_id: int, now: dt.datetime | None = None) -> PowerOfAttorney:
    """R-POA-1: either party ends it (or the grantee declines it) at once; the other is told. A page
    opened before cannot act under it afterwards: every action checks it again under the same lock."""
    now = now or timezone.now()
    power = _locked_power(power_id=power_id, party=actor)
    if power.ended_at is None:
        power.ended_at, power.ended_by = now, actor
        power.save(update_fields=["ended_at", "ended_by"])
        audit_record(actor=actor, action="power_of_attorney.ended", resident=power.grantor, obj=power)
        other = power.grantee if actor.pk == power.grantor_id else power.grantor
        with translation.override(settings.LANGUAGE_CODE):
            values = {"name": _name(actor)}
            _tell(
                resident=other,
                subject=gettext("Power of attorney ended"),
                body=gettext("%(name)s has ended the power of attorney between you.") % values,
            )
    return power


_ACTION_SUBJECTS = {
    LogStatus.BOOKED: _("%(name)s booked a time for you"),
    LogStatus.REBOOKED: _("%(name)s rebooked a time for you"),
    LogStatus.CANCELLED: _("%(name)s cancelled a time for you"),
}


def attorney_action_message(*, acting: Acting, booking: Booking, status: LogStatus) -> None:
    """R-POA-1: every booking, rebooking and cancellation an attorney makes shows in the grantor's
    inbox, with who did it (by name)."""
    if acting.acting_as != ActingAs.ATTORNEY:
        return
    when = timezone.localtime(booking.start, LOCAL_TZ)
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "name": _name(acting.actor),
            "what": booking.appointment_type.web_name or gettext("Visit"),
            "clinic": booking.clinic.name,
            "date": f"{when:%Y-%m-%d}",
            "time": f"{when:%H:%M}",
        }
        _tell(
            resident=acting.patient,
            clinic=booking.clinic,
            booking=booking,
            subject=str(_ACTION_SUBJECTS[status]) % values,
            body=gettext("With your power of attorney: %(what)s at %(clinic)s on %(date)s at %(time)s.") % values,
        )


def attorney_waitlist_message(*, acting: Acting, entry: WaitlistEntry, joined: bool | None) -> None:
    """R-POA-1: an attorney putting the grantor in a waitlist (``joined``), taking them out of it
    (not ``joined``) or saying no to a time it offered (None) shows in the grantor's inbox as
    their bookings do."""
    if acting.acting_as != ActingAs.ATTORNEY:
        return
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "name": _name(acting.actor),
            "what": (entry.appointment_type.web_name if entry.appointment_type else "") or gettext("Visit"),
            "clinic": entry.clinic.name,
        }
        if joined is None:
            subject = gettext("%(name)s said no to a time offered to you")
        elif joined:
            subject = gettext("%(name)s put you on a waitlist")
        else:
            subject = gettext("%(name)s took you off a waitlist")
        _tell(
            resident=acting.patient,
            clinic=entry.clinic,
            subject=subject % values,
            body=gettext("With your power of attorney: the waitlist for %(what)s at %(clinic)s.") % values,
        )
