"""Acting for someone else (R-GUARD-2, R-GUARD-3, R-POA-1): whom a resident may act for now, and as what.

One place decides it, and it is asked again on every request and inside every change a resident
makes for someone else: custody ends when the register says so or the child reaches the region's
age limit, a power of attorney when either party ends it or its last day has passed. Nothing here
is kept between requests except the patient the resident chose (in the session), which means
nothing until it is resolved here once more."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import BookingError, ErrorCode

from .models import ActingAs, Custody, PowerOfAttorney, User

# The session key holding the id of the patient the resident chose in "Boka för".
ACTING_SESSION_KEY = "acting_for"
NO_LONGER_ALLOWED = _("You can no longer act for this person. Nothing was changed.")


@dataclass(frozen=True)
class Acting:
    """``actor`` (who is logged in) acts for ``patient`` as ``acting_as``; ``clinic_ids`` is the
    scope of a power of attorney (None: every clinic)."""

    actor: User
    patient: User
    acting_as: str = ActingAs.SELF
    clinic_ids: frozenset[int] | None = None

    @property
    def is_self(self) -> bool:
        return self.acting_as == ActingAs.SELF

    def covers(self, clinic_id: int) -> bool:
        return self.clinic_ids is None or clinic_id in self.clinic_ids


def guardian_age_limit(*, region_code: str) -> int:
    """R-GUARD-3: the age from which guardians no longer act for a child, by the child's region."""
    return settings.TIDBOK_GUARDIAN_AGE_LIMIT_BY_REGION.get(region_code, settings.TIDBOK_GUARDIAN_AGE_LIMIT)


def _birthday(birth_date: dt.date, age: int) -> dt.date:
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:  # born on 29 February: the birthday of a common year is 1 March
        return dt.date(birth_date.year + age, 3, 1)


def guardian_access_ends(*, birth_date: dt.date, region_code: str) -> dt.datetime:
    """R-GUARD-3: local midnight (Europe/Stockholm) at the start of the birthday at the limit."""
    day = _birthday(birth_date, guardian_age_limit(region_code=region_code))
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def custody_allows(*, custody: Custody, now: dt.datetime | None = None) -> bool:
    ends = guardian_access_ends(birth_date=custody.child_birth_date, region_code=custody.child.home_region_code)
    return (now or timezone.now()) < ends


def custodies_of(*, guardian: User) -> list[Custody]:
    """Every child in the guardian's custody, allowed now or not (the chooser says why not)."""
    return list(
        Custody.objects.filter(guardian=guardian).select_related("child").order_by("child_birth_date", "child_id")
    )


@dataclass(frozen=True)
class ChildAccess:
    """A child in the guardian's custody and whether the guardian may act for them now (R-GUARD-3)."""

    child: User
    allowed: bool
    age_limit: int
    last_day: dt.date


def children_of(*, guardian: User, now: dt.datetime | None = None) -> list[ChildAccess]:
    """The guardian's children with the regional age limit, for the start page."""
    children = []
    for custody in custodies_of(guardian=guardian):
        region = custody.child.home_region_code
        ends = guardian_access_ends(birth_date=custody.child_birth_date, region_code=region)
        children.append(
            ChildAccess(
                child=custody.child,
                allowed=custody_allows(custody=custody, now=now),
                age_limit=guardian_age_limit(region_code=region),
                last_day=ends.date() - dt.timedelta(days=1),
            )
        )
    return children


def powers_in_force(*, now: dt.datetime | None = None) -> QuerySet[PowerOfAttorney]:
    """Accepted, not ended, last day not passed (R-POA-1)."""
    today = timezone.localdate(now or timezone.now())
    return PowerOfAttorney.objects.filter(accepted_at__isnull=False, ended_at__isnull=True, valid_until__gte=today)


def _attorney(*, actor: User, grantor_id: int, now: dt.datetime | None) -> Acting | None:
    powers = list(powers_in_force(now=now).filter(grantee=actor, grantor_id=grantor_id).select_related("grantor"))
    if not powers:
        return None
    clinic_ids: frozenset[int] | None = None
    if not any(power.all_clinics for power in powers):
        clinic_ids = frozenset(
            PowerOfAttorney.clinics.through.objects.filter(powerofattorney_id__in=[p.pk for p in powers]).values_list(
                "clinic_id", flat=True
            )
        )
    return Acting(actor=actor, patient=powers[0].grantor, acting_as=ActingAs.ATTORNEY, clinic_ids=clinic_ids)


def acting_resolve(*, actor: User, patient_id: int | None, now: dt.datetime | None = None) -> Acting | None:
    """Whether ``actor`` may act for the resident ``patient_id`` now, and how; None when not.
    No patient, or the actor themself, is acting for oneself."""
    if patient_id is None or patient_id == actor.pk:
        return Acting(actor=actor, patient=actor)
    custody = Custody.objects.filter(guardian=actor, child_id=patient_id).select_related("child").first()
    if custody is not None and custody_allows(custody=custody, now=now):
        return Acting(actor=actor, patient=custody.child, acting_as=ActingAs.GUARDIAN)
    return _attorney(actor=actor, grantor_id=patient_id, now=now)


def acting_options(*, actor: User, now: dt.datetime | None = None) -> list[Acting]:
    """ "Boka för": the resident themself first, then the children they may act for, then those who
    gave them a power of attorney."""
    options = [Acting(actor=actor, patient=actor)]
    options += [
        Acting(actor=actor, patient=c.child, acting_as=ActingAs.GUARDIAN)
        for c in custodies_of(guardian=actor)
        if custody_allows(custody=c, now=now)
    ]
    grantor_ids = (
        powers_in_force(now=now).filter(grantee=actor).order_by("grantor_id").values_list("grantor_id", flat=True)
    )
    for grantor_id in dict.fromkeys(grantor_ids):
        acting = _attorney(actor=actor, grantor_id=grantor_id, now=now)
        if acting is not None:
            options.append(acting)
    return options


def acting_check(*, actor: User, patient: User, clinic_id: int, now: dt.datetime | None = None) -> Acting:
    """Inside a change: ``actor`` may act for ``patient`` at this clinic now, or nothing is changed
    (R-GUARD-2, R-GUARD-3, R-POA-1). Refused like a booking that does not exist (404)."""
    acting = acting_resolve(actor=actor, patient_id=patient.pk, now=now)
    if acting is None or not acting.covers(clinic_id):
        # Someone who had a right hears that it ended; anyone else learns nothing (R-ACL-2).
        had_right = (
            Custody.objects.filter(guardian=actor, child=patient).exists()
            or PowerOfAttorney.objects.filter(grantee=actor, grantor=patient).exists()
        )
        raise BookingError(ErrorCode.NOT_FOUND, NO_LONGER_ALLOWED if had_right else None)
    return acting


@dataclass(frozen=True)
class Representative:
    """Someone who may act for a resident now, as staff see it (R-POA-2)."""

    person: User
    acting_as: str
    until: dt.date | None = None
    clinic_names: tuple[str, ...] = ()


def representatives_of(*, patient: User, now: dt.datetime | None = None) -> list[Representative]:
    """R-POA-2: the guardians who may act for ``patient`` now (within the age limit) and the
    attorneys whose power of attorney is in force, with its scope and last day."""
    people = [
        Representative(
            person=c.guardian,
            acting_as=ActingAs.GUARDIAN,
            until=timezone.localdate(
                guardian_access_ends(birth_date=c.child_birth_date, region_code=patient.home_region_code)
            )
            - dt.timedelta(days=1),
        )
        for c in Custody.objects.filter(child=patient).select_related("guardian", "child").order_by("guardian_id")
        if custody_allows(custody=c, now=now)
    ]
    for power in powers_in_force(now=now).filter(grantor=patient).select_related("grantee").order_by("pk"):
        people.append(
            Representative(
                person=power.grantee,
                acting_as=ActingAs.ATTORNEY,
                until=power.valid_until,
                clinic_names=()
                if power.all_clinics
                else tuple(power.clinics.order_by("name").values_list("name", flat=True)),
            )
        )
    return people
