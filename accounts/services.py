"""Writes for accounts: residents, serialising a resident's own changes, the audit log."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.authentication import token_is_expired

from .models import REGION_ROLES, AuditEvent, Custody, Membership, User, UserSession
from .personnummer import is_coordination_number, normalise_personnummer
from .population_register import COUNTY_CODES, PersonRecord, population_register

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # accounts sits below clinics: the clinic is only named in annotations here
    from clinics.models import Clinic


def resident_get_or_create(*, personnummer: str, **defaults: Any) -> tuple[User, bool]:
    """Find or create the resident for a personnummer in any accepted form (R-AUTH-4)."""
    normalised = normalise_personnummer(personnummer)
    return User.objects.get_or_create(personnummer=normalised, defaults={"username": f"pnr-{normalised}", **defaults})


def resident_personnummer_replace(*, resident: User, personnummer: str) -> bool:
    """e-ID sent a new number for a known subject (R-AUTH-4). Only the profile's one legitimate
    case moves the resident: a samordningsnummer replaced by a personnummer that no other
    account has. Anything else changes nothing and returns False, for the caller to refuse:
    a link that says one person and a number that says another is how a takeover looks."""
    new = normalise_personnummer(personnummer)
    if not resident.personnummer or not is_coordination_number(resident.personnummer) or is_coordination_number(new):
        return False
    try:
        with transaction.atomic():
            if User.objects.filter(personnummer=new).exclude(pk=resident.pk).exists():
                return False
            resident.personnummer = new
            resident.username = f"pnr-{new}"
            resident.save(update_fields=["personnummer", "username"])
            audit_record(
                actor=resident,
                action="resident_personnummer_replaced",
                resident=resident,
                detail="e-ID replaced the samordningsnummer with a personnummer",
            )
    except IntegrityError:
        return False  # another account took the number at the same moment
    return True


def resident_register_refresh(*, resident: User, claimed_region: object = None) -> PersonRecord | None:
    """At each login: the resident's home region (R-CASE-2) from the population register, else from
    the e-ID provider's claim (``TIDBOK_EID_HOME_REGION_CLAIM``); names the login did not give are
    filled from the register. The register is the authority on where a person is registered; the
    claim stands in when it has no answer. A register that fails, or neither source knowing, keeps
    the last known values: a login is never refused or slowed into an error for it, and the log line
    names the account, never the personnummer. Returns the register's record (None if none)."""
    if not resident.personnummer:
        return None
    record = _register_lookup(personnummer=resident.personnummer, user_id=resident.pk)
    claim = str(claimed_region).strip() if isinstance(claimed_region, str | int) else ""
    if claim.isdigit() and len(claim) == 1:
        claim = f"0{claim}"  # a provider sending the county code as a number
    if claim and claim not in COUNTY_CODES:
        logger.warning("e-ID home region claim ignored, not a county code (user id %s)", resident.pk)
        claim = ""
    region = record.home_region_code if record is not None and record.home_region_code in COUNTY_CODES else claim
    changed = []
    if region and region != resident.home_region_code:
        resident.home_region_code = region
        changed.append("home_region_code")
    if record is not None:
        for name in ("first_name", "last_name"):
            if not getattr(resident, name) and getattr(record, name):
                setattr(resident, name, getattr(record, name)[:150])
                changed.append(name)
    if changed:
        resident.save(update_fields=changed)
    if record is not None:
        custody_refresh(guardian=resident, record=record)
    return record


def custody_refresh(*, guardian: User, record: PersonRecord, now: dt.datetime | None = None) -> list[Custody]:
    """R-GUARD-1: the guardian's children as the register lists them now, replacing what it said
    before (a custody that ended is gone at once). A child who has never used Tidbok gets a
    resident row from the register — name and home region, never anything the guardian typed — so
    that bookings can name the child as the patient. Audited when custody appears or ends."""
    now = now or timezone.now()
    kept = []
    with transaction.atomic():
        for entry in record.children_in_custody:
            child, _created = resident_get_or_create(
                personnummer=entry.personnummer, first_name=entry.first_name[:150], last_name=entry.last_name[:150]
            )
            if not child.home_region_code:
                child_record = _register_lookup(personnummer=child.personnummer or "", user_id=child.pk)
                region = child_record.home_region_code if child_record is not None else record.home_region_code
                if region in COUNTY_CODES:
                    child.home_region_code = region
                    child.save(update_fields=["home_region_code"])
            custody, created = Custody.objects.update_or_create(
                guardian=guardian, child=child, defaults={"child_birth_date": entry.birth_date, "refreshed_at": now}
            )
            if created:
                audit_record(actor=guardian, action="custody.registered", resident=child, obj=custody)
            kept.append(custody)
        for ended in Custody.objects.filter(guardian=guardian).exclude(pk__in=[c.pk for c in kept]):
            audit_record(actor=guardian, action="custody.ended", resident=ended.child, detail="not in the register")
            ended.delete()
    return kept


def _register_lookup(*, personnummer: str, user_id: int) -> PersonRecord | None:
    try:
        return population_register().lookup(personnummer=personnummer)
    except Exception as exc:  # an outside register failing must not stop the guardian's login
        logger.warning("population register unavailable (user id %s): %s", user_id, type(exc).__name__)
        return None


def resident_password_remove(*, resident: User) -> None:
    """A password set through the old account pages is a way around e-ID: remove it."""
    if resident.has_usable_password():
        resident.set_unusable_password()
        resident.save(update_fields=["password"])


def resident_lock(*, resident: User) -> None:
    """Row-lock the resident for the rest of the transaction. Every booking change a resident
    makes takes this lock first, so a double-submit or two tabs run one after the other and
    the overlap rule (R-BOOK-2) sees the first one's result. Lock order is always resident,
    then slots by id, so two such transactions cannot deadlock."""
    User.objects.select_for_update().filter(pk=resident.pk).values_list("pk", flat=True).get()


def audit_role(*, actor: User, clinic: Clinic | None) -> str:
    """The roles ``actor`` holds where they act (at ``clinic``, or anywhere without one), as
    stored on each audit event (R-SEC-7): memberships change, the record of who acted as what
    must not."""
    memberships = Membership.objects.filter(user=actor)
    if clinic is not None:
        memberships = memberships.filter(
            models.Q(clinic=clinic) | models.Q(role__in=[r.value for r in REGION_ROLES], region_id=clinic.region_id)
        )
    roles = sorted(set(memberships.values_list("role", flat=True)))
    if actor.is_superuser:
        roles.append("superuser")
    elif actor.is_staff and not roles:
        roles.append("staff")
    return ",".join(roles)[:100]


def audit_record(
    *,
    actor: User,
    action: str,
    clinic: Clinic | None = None,
    resident: User | None = None,
    obj: models.Model | None = None,
    detail: str = "",
    unit_name: str = "",
    role: str | None = None,
    region_id: int | None = None,
) -> AuditEvent:
    """R-LOG-4: staff looked at or changed a resident's data (or, for region IT, a staff account).
    ``role`` defaults to the actor's roles at the clinic (pass it when recording many events of one
    read); ``region_id`` places an event at no clinic in a region's audit log."""
    return AuditEvent.objects.create(
        actor=actor,
        role=audit_role(actor=actor, clinic=clinic) if role is None else role,
        action=action,
        clinic=clinic,
        region_id=region_id,
        unit_name=unit_name or (clinic.name if clinic else ""),
        resident=resident,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail[:500],
    )


def user_sessions_end(*, user: User) -> int:
    """Log ``user`` out everywhere: delete every session that belongs to them (the session rows
    carry their user, accounts.sessions). Returns how many were ended."""
    return UserSession.objects.filter(user=user, expire_date__gt=timezone.now()).delete()[0]


def audit_events_purge(*, now: dt.datetime | None = None, batch_size: int = 2000) -> int:
    """R-SEC-7: delete audit events older than ``TIDBOK_AUDIT_RETENTION_DAYS`` (default five
    years, HSLF-FS 2016:40), oldest first, in batches of short transactions so the log stays
    writable while a large backlog goes. Nothing younger than the period is touched."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TIDBOK_AUDIT_RETENTION_DAYS)
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(
                AuditEvent.objects.filter(created_at__lt=cutoff)
                .order_by("created_at", "pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return purged
            purged += AuditEvent.objects.filter(pk__in=ids).delete()[0]


# --- Residents' app tokens (R-SEC-5) ---------------------------------------------------------


def app_token_current(*, user) -> Token | None:
    """The resident's valid app token, if an app holds one."""
    token = Token.objects.filter(user=user).first()
    return None if token is None or token_is_expired(token) else token


def app_token_issue(*, user) -> Token:
    """R-SEC-5: the token a resident's app uses; an expired one is replaced by a fresh one."""
    token, _created = Token.objects.get_or_create(user=user)
    if token_is_expired(token):
        Token.objects.filter(pk=token.pk).delete()
        token, _created = Token.objects.get_or_create(user=user)
    return token


def app_tokens_revoke(*, user) -> int:
    """R-SEC-5: log every app out of the resident's account (the app's own logout, or the resident
    on the web). Returns how many tokens were revoked."""
    deleted, _per_model = Token.objects.filter(user=user).delete()
    return deleted
