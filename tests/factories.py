"""factory_boy factories for the domain. Slots default to free, published times tomorrow."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.db import models
from django.utils import timezone

from accounts.models import Membership, Role, User
from accounts.personnummer import luhn_check_digit
from bookings.models import BookingBasis, WaitlistEntry
from clinics.models import AppointmentType, Audience, CaseKind, CaseType, Clinic, Region, Resource
from schedules.models import Slot
from schedules.selectors import LOCAL_TZ
from schedules.services import SchedulePattern

_serials = itertools.count(100)
_M = TypeVar("_M", bound=models.Model)


class ModelFactory(factory.django.DjangoModelFactory[_M]):
    """A factory typed as the model it makes: ``SlotFactory()`` is a Slot to the type checker,
    as it is at run time (factory_boy's own annotations cover only ``create()`` and ``build()``)."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # mypy insists __new__ returns the class itself; factory_boy's returns the model instance.
        def __new__(cls, *args: Any, **kwargs: Any) -> _M: ...  # type: ignore[misc]


def reloaded(obj: _M) -> _M:
    """``obj`` read again from the database, for ``slot = reloaded(slot)``: the assignment tells the
    type checker the fields may have changed, which a bare ``refresh_from_db()`` does not (a field an
    earlier assert narrowed would stay narrowed, and what follows would look unreachable)."""
    obj.refresh_from_db()
    return obj


def make_personnummer(birth: dt.date = dt.date(1985, 3, 14)) -> str:
    """A valid 12-digit personnummer, unique per call."""
    serial = f"{next(_serials) % 1000:03d}"
    nine = f"{birth:%y%m%d}{serial}"
    return f"{birth:%Y%m%d}{serial}{luhn_check_digit(nine)}"


class RegionFactory(ModelFactory[Region]):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    name = "Region Stockholm"
    code = "01"


def _case_types(clinic: Clinic, create: bool, extracted: Iterable[CaseKind] | None, **kwargs: Any) -> None:
    """Both case types active "for all residents" unless told otherwise."""
    if not create:
        return
    active = extracted if extracted is not None else (CaseKind.BOOK, CaseKind.MANAGE)
    for kind in CaseKind:
        CaseType.objects.update_or_create(
            clinic=clinic,
            kind=kind,
            defaults={
                "is_active": kind in active,
                "conditions_text": "• Avboka senast 24 timmar innan\n• Ta med legitimation",
                "audience": Audience.ALL,
            },
        )


class ClinicFactory(ModelFactory[Clinic]):
    class Meta:
        model = Clinic
        skip_postgeneration_save = True

    hsa_id = factory.Sequence(lambda n: f"SE2321000016-{n:04d}")
    name = factory.Sequence(lambda n: f"Vårdcentral {n}")
    region = factory.SubFactory(RegionFactory)
    town = "Stockholm"
    phone = "08-123 456 00"

    # Called with the clinic made (not the factory), like any post-generation hook.
    case_types = factory.PostGeneration(_case_types)


class AppointmentTypeFactory(ModelFactory[AppointmentType]):
    class Meta:
        model = AppointmentType

    clinic = factory.SubFactory(ClinicFactory)
    internal_name = factory.Sequence(lambda n: f"Uppföljning 30 min {n}")
    web_name = "Besök"
    web_info = "Kom tio minuter innan."
    bookable_on_web = True
    cancellable_on_web = True
    reschedulable_on_web = True


class ResourceFactory(ModelFactory[Resource]):
    class Meta:
        model = Resource

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Distriktssköterska {n}")


def tomorrow_at(hour: int, minute: int = 0, days: int = 1) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_TZ)


def schedule_pattern(
    resource: Resource,
    appointment_type: AppointmentType,
    *,
    days: int = 1,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    weekdays: Iterable[int] = range(1, 8),
    day_start: dt.time = dt.time(8),
    day_end: dt.time = dt.time(10),
    slot_minutes: int = 30,
) -> SchedulePattern:
    """A schedule's pattern for a test: every weekday for ``days`` days from ``start_date``
    (tomorrow), 08:00–10:00 in 30-minute times, unless told otherwise."""
    first = start_date if start_date is not None else timezone.localdate() + dt.timedelta(days=1)
    return SchedulePattern(
        resource=resource,
        appointment_type=appointment_type,
        weekdays=weekdays,
        start_date=first,
        end_date=end_date if end_date is not None else first + dt.timedelta(days=days - 1),
        day_start=day_start,
        day_end=day_end,
        slot_minutes=slot_minutes,
    )


class SlotFactory(ModelFactory[Slot]):
    class Meta:
        model = Slot

    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    clinic = factory.LazyAttribute(lambda o: o.appointment_type.clinic)
    resource = factory.LazyAttribute(lambda o: ResourceFactory(clinic=o.clinic))
    start = factory.Sequence(lambda n: tomorrow_at(8) + dt.timedelta(minutes=30 * n))
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(minutes=20))
    is_published = True


class UserFactory(ModelFactory[User]):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.se")


class ResidentFactory(UserFactory):
    username = factory.Sequence(lambda n: f"resident{n}")
    personnummer = factory.LazyFunction(make_personnummer)
    first_name = "Anna"
    last_name = "Andersson"
    home_region_code = "01"


class MembershipFactory(ModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.SCHEDULER
    clinic = factory.SubFactory(ClinicFactory)


def staff(role: Role, clinic: Clinic | None = None, region: Region | None = None, **kwargs) -> User:
    user = UserFactory(first_name="Sara", last_name="Schema")
    if role in (Role.REGION_IT, Role.PROXY_BOOKER):
        if region is None:
            assert clinic is not None, "a region role needs a region or a clinic"
            region = clinic.region
        Membership.objects.create(user=user, role=role, region=region, **kwargs)
    else:
        Membership.objects.create(user=user, role=role, clinic=clinic, **kwargs)
    return user


class BookingBasisFactory(ModelFactory[BookingBasis]):
    class Meta:
        model = BookingBasis

    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    clinic = factory.LazyAttribute(lambda o: o.appointment_type.clinic)
    resident = factory.SubFactory(ResidentFactory)


class WaitlistEntryFactory(ModelFactory[WaitlistEntry]):
    class Meta:
        model = WaitlistEntry

    clinic = factory.SubFactory(ClinicFactory)
    resident = factory.SubFactory(ResidentFactory)


STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def login_with_second_factor(client, user: User):
    """Log ``user`` in as allauth would after password and TOTP (R-SEC-2): a TOTP authenticator
    on the account and, in this client's session, the record that the session used it."""
    import time

    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        authenticator = TOTP.activate(user, STAFF_TOTP_SECRET).instance
    client.force_login(user)
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "id": authenticator.pk, "type": Authenticator.Type.TOTP},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client
