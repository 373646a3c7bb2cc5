"""Demo data for `make run`: one region, three clinics with different settings, residents,
bookings, inbox messages, a waitlist and a staff user for every role. Safe to run again:
everything is found by its natural key, and schedules are extended to the coming 60 days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import ContactDetails, Membership, PowerOfAttorney, Role, User
from accounts.population_register import DemoPopulationRegister
from accounts.services import custody_refresh, resident_get_or_create
from bookings.models import (
    Attendance,
    AttendanceState,
    Booking,
    BookingBasis,
    BookingStatus,
    Channel,
    InboxMessage,
    MessageKind,
    PartOfDay,
    WaitlistEntry,
    WaitlistStatus,
)
from bookings.services import (
    booking_basis_issue,
    booking_create,
    booking_create_by_proxy,
    booking_create_for_resident,
    inbox_message_send,
    open_summons_send,
    power_of_attorney_accept,
    power_of_attorney_grant,
    waitlist_add,
    waitlist_join,
)
from clinics.models import (
    AppointmentType,
    Area,
    Audience,
    CaseKind,
    CaseType,
    Clinic,
    DeadlineUnit,
    FreedTimes,
    Region,
    RelationSource,
    Resource,
    ResourceKind,
)
from clinics.services import communication_approve, relation_add
from core.errors import ValidationFailed
from schedules.models import Schedule, Slot, SlotStatus
from schedules.services import schedule_publish, slot_add, slots_publish

DEMO_PASSWORD = "tidbok-demo-2026"
LAKARBESOK_POLICY: dict[str, Any] = {
    "booking_notice_hours": 2,
    "change_deadline": 1,
    "change_deadline_unit": DeadlineUnit.WORKING_DAYS,
    "late_fee_text": "Avbokning eller ombokning senare än 24 timmar före besöket debiteras med 200 kr.",
}
# Demo only: a fixed TOTP secret so the README can say how to get a code (`manage.py demo_totp`).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

STAFF = [
    ("lokal.admin@tidbok.test", "Lena", "Lokaladmin", Role.LOCAL_ADMIN, ""),
    ("schemalaggare@tidbok.test", "Sara", "Schemaläggare", Role.SCHEDULER, ""),
    ("support@tidbok.test", "Sune", "Support", Role.SUPPORT, ""),
    ("region.it@tidbok.test", "Rita", "Regionit", Role.REGION_IT, ""),
    ("ombud@tidbok.test", "Olle", "Ombud", Role.PROXY_BOOKER, "1177 Vårdguiden på telefon"),
]
# Invited by region IT, password not chosen yet.
INVITED_STAFF = "ingrid.inbjuden@tidbok.test"
RESIDENTS = [
    ("198503142385", "Anna", "Andersson", "01", "anna@example.se"),
    ("199207081143", "Bertil", "Berg", "01", "bertil@example.se"),
    ("194701015127", "Cecilia", "Carlsson", "03", ""),
]
# Anna's children in the demo register: Alva (born 2018) is under the guardians' age limit, Vidar (2011) over it.
DEMO_CHILD_UNDER_LIMIT = "201806122386"
DEMO_CHILD_OVER_LIMIT = "201103042436"
# Not in the demo population register (accounts/demo_population.json): her home region is unknown.
UNKNOWN_REGION_RESIDENT = "199003742484"
CONDITIONS_BOOK = (
    "Boka bara en tid åt gången\nAvboka senast 24 timmar innan, annars kan besöket debiteras\nTa med legitimation"
)
# Where the web cannot cancel, the conditions say how to cancel instead of promising the web can.
CONDITIONS_BOOK_CALL_TO_CANCEL = (
    "Boka bara en tid åt gången\nAvbokning görs per telefon till mottagningen senast 24 timmar innan, "
    "annars kan besöket debiteras\nTa med legitimation"
)
CONDITIONS_BOOK_REBOOK_ONLY = (
    "Boka bara en tid åt gången\nDu kan omboka tiden här; avbokning görs per telefon till mottagningen senast "
    "24 timmar innan\nTa med barnets vaccinationskort"
)
CONDITIONS_MANAGE_REBOOK_ONLY = (
    "Ombokning senare än 24 timmar innan besöket kan debiteras\nRing mottagningen för att avboka"
)
CONDITIONS_MANAGE = (
    "Av- och ombokning senare än 24 timmar innan besöket kan debiteras\nKontakta mottagningen om du har frågor"
)


DEMO_MEETING_TEMPLATE = "https://mote.regionstockholm.example/{room}"
VIDEO: dict[str, object] = {"is_video_visit": True}
VIDEO_LENGTH = dt.timedelta(minutes=20)


class Command(BaseCommand):
    help = "Load demo data (safe to run more than once)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        now = timezone.now()
        region, _ = Region.objects.get_or_create(code="01", defaults={"name": "Region Stockholm"})
        Region.objects.get_or_create(code="03", defaults={"name": "Region Uppsala"})
        self._staff()
        solna, bagarmossen, kista = self._clinics(region)
        self._memberships(region, [solna, bagarmossen, kista])
        self._invited_staff(kista)
        scheduler = User.objects.get(email="schemalaggare@tidbok.test")

        types = self._types(solna, bagarmossen, kista)
        resources = self._resources(solna, bagarmossen, kista)
        # (resource, type, first hour, last hour): types share a resource at different hours.
        plan = [
            (resources["solna_dsk"], types["solna_besok"], 8, 11),
            (resources["solna_dsk"], types["solna_ombud"], 11, 12),
            (resources["solna_dsk"], types["solna_hidden"], 13, 15),
            (resources["solna_lakare"], types["solna_lakarbesok"], 8, 12),
            (resources["solna_lakare"], types["solna_remiss"], 13, 16),
            (resources["solna_dsk"], types["solna_halsosamtal"], 15, 17),
            (resources["solna_video"], types["solna_video"], 13, 16),
            (resources["solna_prov"], types["solna_prov"], 7, 10),
            (resources["bagarmossen_dsk"], types["bagarmossen_vacc"], 8, 16),
            (resources["kista_bvc"], types["kista_bvc"], 9, 15),
        ]
        for resource, appointment_type, first_hour, last_hour in plan:
            self._schedule(scheduler, resource, appointment_type, first_hour, last_hour, now)
        # The demo should show times at once, before the worker has had a chance to run.
        slots_publish(slot_ids=Slot.objects.filter(status=SlotStatus.FREE).values_list("pk", flat=True), now=now)

        residents = self._residents()
        self._acting_for_others(residents, kista, types, now)
        self._relations_and_bookings(residents, solna, bagarmossen, kista, types, scheduler, now)
        self._attendance_history(residents, solna, types, resources, scheduler, now)
        self._video_visit_soon(residents[0], types["solna_video"], resources["solna_video"], scheduler, now)
        self._resident_without_home_region(kista)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {Slot.objects.count()} slots."))

    # --- People ---------------------------------------------------------------------------------

    def _staff(self) -> None:
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"email": "admin@tidbok.test", "is_staff": True, "is_superuser": True}
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        self._mfa(admin)
        for email, first, last, _role, _unit in STAFF:
            user, created = User.objects.get_or_create(
                username=email.split("@")[0], defaults={"email": email, "first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            self._mfa(user)

    def _mfa(self, user: User) -> None:
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, DEMO_TOTP_SECRET)
            RecoveryCodes.activate(user)

    def _memberships(self, region: Region, clinics: list[Clinic]) -> None:
        for email, _first, _last, role, unit in STAFF:
            user = User.objects.get(email=email)
            if role in (Role.REGION_IT, Role.PROXY_BOOKER):
                Membership.objects.get_or_create(user=user, role=role, region=region, defaults={"unit_name": unit})
            else:
                for clinic in clinics:
                    Membership.objects.get_or_create(user=user, role=role, clinic=clinic)

    def _invited_staff(self, kista: Clinic) -> None:
        """Invited by region IT and not yet in: no password, no second factor (the staff pages show
        her as invited, and region IT can send the invitation again)."""
        user, created = User.objects.get_or_create(
            username=INVITED_STAFF,
            defaults={"email": INVITED_STAFF, "first_name": "Ingrid", "last_name": "Inbjuden"},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, role=Role.SUPPORT, clinic=kista)

    def _residents(self) -> list[User]:
        residents = []
        for pnr, first, last, region_code, email in RESIDENTS:
            user, _ = resident_get_or_create(
                personnummer=pnr, first_name=first, last_name=last, home_region_code=region_code, email=email
            )
            residents.append(user)
        return residents

    def _acting_for_others(self, residents: list[User], kista: Clinic, types, now: dt.datetime) -> None:
        """R-GUARD-1…4: Anna's custody of Alva (8) and Vidar (15) from the demo register, as her
        login reads it — Alva under the age limit, Vidar over it — and a time Anna booked for Alva
        at the child health centre. R-POA-1: Cecilia has given Bertil a power of attorney for every
        clinic, and he has accepted it."""
        anna, bertil, cecilia = residents
        record = DemoPopulationRegister().lookup(personnummer=anna.personnummer or "")
        assert record is not None, "Anna is in the demo register"
        custody_refresh(guardian=anna, record=record, now=now)
        alva = User.objects.get(personnummer=DEMO_CHILD_UNDER_LIMIT)
        relation_add(resident=alva, clinic=kista, source=RelationSource.START_PAGE)
        has_booking = Booking.objects.filter(resident=alva, status=BookingStatus.ACTIVE).exists()
        slot = (
            Slot.objects.filter(
                appointment_type=types["kista_bvc"],
                status=SlotStatus.FREE,
                is_published=True,
                start__gte=now + dt.timedelta(days=6),
            )
            .order_by("start")
            .first()
        )
        if not has_booking and slot is not None:
            booking_create(resident=alva, actor=anna, slot_id=slot.pk, now=now)
        if not PowerOfAttorney.objects.filter(grantor=cecilia, grantee=bertil, ended_at__isnull=True).exists():
            power = power_of_attorney_grant(
                grantor=cecilia,
                personnummer=bertil.personnummer or "",
                valid_until=timezone.localdate(now) + dt.timedelta(days=365),
                now=now,
            )
            power_of_attorney_accept(grantee=bertil, power_id=power.pk, now=now)

    def _resident_without_home_region(self, kista: Clinic) -> None:
        """A samordningsnummer the population register does not know: no region, so Kista's
        region-only e-services tell her why they are not offered and whom to call (R-CASE-3)."""
        dagny, _ = resident_get_or_create(personnummer=UNKNOWN_REGION_RESIDENT, first_name="Dagny", last_name="Dahl")
        relation_add(resident=dagny, clinic=kista, source=RelationSource.START_PAGE)

    def _attendance_history(self, residents, solna, types, resources, scheduler, now) -> None:
        """Three months of Solna's past visits with reception's marks (R-ATT-1), so that the attendance
        figures (R-ATT-2) show something and Bertil's resident page lists his no-shows. Written as
        the timebook would hold them: the booking services only book times that have not passed."""
        if Attendance.objects.filter(booking__clinic=solna).exists():
            return
        anna, bertil, cecilia = residents
        # (who, type, how it went) per visit; None: not marked; "late_cancel": cancelled 3 hours before.
        months: dict[int, list[tuple[User, str, str | None]]] = {
            3: [
                (anna, "solna_prov", "arrived"),
                (bertil, "solna_lakarbesok", "no_show"),
                (cecilia, "solna_prov", "late"),
            ],
            2: [
                (anna, "solna_lakarbesok", "arrived"),
                (bertil, "solna_prov", "no_show"),
                (cecilia, "solna_lakarbesok", "late_cancel"),
                (anna, "solna_prov", "arrived"),
            ],
            1: [(anna, "solna_prov", "late"), (bertil, "solna_lakarbesok", "arrived"), (cecilia, "solna_prov", None)],
        }
        where = {"solna_prov": resources["solna_prov"], "solna_lakarbesok": resources["solna_lakare"]}
        this_month = timezone.localtime(now).date().replace(day=1)
        for back, visits in months.items():
            month = this_month
            for _step in range(back):
                month = (month - dt.timedelta(days=1)).replace(day=1)
            day = month + dt.timedelta(days=(1 - month.weekday()) % 7 + 7)  # the second Tuesday
            for n, (resident, key, outcome) in enumerate(visits):
                start = timezone.make_aware(dt.datetime.combine(day, dt.time(7 + n, 0)))
                self._past_visit(resident, types[key], where[key], start, outcome, scheduler)

    def _past_visit(self, resident, appointment_type, resource, start, outcome, scheduler) -> None:
        slot = Slot.objects.create(
            clinic=resource.clinic,
            resource=resource,
            appointment_type=appointment_type,
            start=start,
            end=start + dt.timedelta(minutes=20),
            status=SlotStatus.FREE if outcome == "late_cancel" else SlotStatus.BOOKED,
        )
        cancelled = outcome == "late_cancel"
        booking = Booking.objects.create(
            slot=slot,
            resident=resident,
            clinic=resource.clinic,
            appointment_type=appointment_type,
            resource=resource,
            start=start,
            end=slot.end,
            channel=Channel.WEB,
            created_by=resident,
            status=BookingStatus.CANCELLED if cancelled else BookingStatus.ACTIVE,
            ended_at=start - dt.timedelta(hours=3) if cancelled else None,
            ended_by=resident if cancelled else None,
        )
        if outcome in AttendanceState.values:
            Attendance.objects.create(
                booking=booking, state=outcome, marked_at=start + dt.timedelta(minutes=10), marked_by=scheduler
            )

    # --- Clinics and their settings ----------------------------------------------------------------

    def _clinics(self, region: Region) -> tuple[Clinic, Clinic, Clinic]:
        hours = "Måndag–fredag 08.00–17.00\nLunchstängt 12.00–13.00"
        solna, _ = Clinic.objects.update_or_create(
            hsa_id="SE2321000016-DEMO1",
            defaults={
                "name": "Vårdcentralen Solna",
                "region": region,
                "street_address": "Solnavägen 3",
                "postal_code": "171 64",
                "town": "Solna",
                "phone": "08-123 450 00",
                "latitude": Decimal("59.360500"),
                "longitude": Decimal("18.000900"),
                "opening_hours": hours,
                "patient_comment_on_web": True,
                # Video visits get a meeting room of their own from the region's (made-up) meeting service.
                "meeting_url_template": DEMO_MEETING_TEMPLATE,
            },
        )
        bagarmossen, _ = Clinic.objects.update_or_create(
            hsa_id="SE2321000016-DEMO2",
            defaults={
                "name": "Vårdcentralen Bagarmossen",
                "region": region,
                "street_address": "Lagaplan 2",
                "postal_code": "128 41",
                "town": "Bagarmossen",
                "phone": "08-123 460 00",
                "latitude": Decimal("59.274800"),
                "longitude": Decimal("18.133200"),
                "opening_hours": hours,
                "supports_rebooking": False,
                "supports_cancellation": False,
            },
        )
        kista, _ = Clinic.objects.update_or_create(
            hsa_id="SE2321000016-DEMO3",
            defaults={
                "name": "Barnavårdscentralen Kista",
                "region": region,
                "street_address": "Kista torg 7",
                "postal_code": "164 53",
                "town": "Kista",
                "phone": "08-123 470 00",
                "latitude": Decimal("59.403000"),
                "longitude": Decimal("17.944700"),
                "opening_hours": "Måndag–torsdag 08.00–16.00",
            },
        )
        # Every demo clinic's conditions say "Boka bara en tid åt gången", and the BOOK case type keeps it.
        self._case_type(solna, CaseKind.BOOK, CONDITIONS_BOOK, active=True, one_at_a_time=True)
        self._case_type(solna, CaseKind.MANAGE, CONDITIONS_MANAGE, active=True)
        # Booking only: the timebook cannot cancel or rebook, so MANAGE stays off.
        self._case_type(bagarmossen, CaseKind.BOOK, CONDITIONS_BOOK_CALL_TO_CANCEL, active=True, one_at_a_time=True)
        self._case_type(bagarmossen, CaseKind.MANAGE, CONDITIONS_MANAGE, active=False)
        # Only for families with a relation, and only residents of the region.
        self._case_type(
            kista,
            CaseKind.BOOK,
            CONDITIONS_BOOK_REBOOK_ONLY,
            active=True,
            audience=Audience.RELATED,
            area=Area.REGION,
            one_at_a_time=True,
        )
        self._case_type(kista, CaseKind.MANAGE, CONDITIONS_MANAGE_REBOOK_ONLY, active=True, area=Area.REGION)
        return solna, bagarmossen, kista

    def _case_type(
        self,
        clinic: Clinic,
        kind: CaseKind,
        text: str,
        *,
        active: bool,
        audience=Audience.ALL,
        area=Area.COUNTRY,
        one_at_a_time: bool = False,
    ) -> None:
        CaseType.objects.update_or_create(
            clinic=clinic,
            kind=kind,
            defaults={
                "conditions_text": text,
                "is_active": active,
                "audience": audience,
                "area": area,
                "one_booking_at_a_time": one_at_a_time,
            },
        )

    def _types(self, solna: Clinic, bagarmossen: Clinic, kista: Clinic) -> dict[str, AppointmentType]:
        full = {"bookable_on_web": True, "cancellable_on_web": True, "reschedulable_on_web": True}
        specs: dict[str, tuple[Clinic, str, str, int | None, dict[str, bool], dict[str, object]]] = {
            # R-WAIT-1, R-WAIT-2: residents may join its waitlist; a freed time goes to the waitlist first.
            "solna_besok": (
                solna,
                "Uppföljning 30 min",
                "Besök hos distriktssköterska",
                15,
                full,
                {"freed_times": FreedTimes.WAITLIST, "waitlist_for_residents": True},
            ),
            # R-POL-1, R-POL-2: book at least 2 hours ahead, change on the web until the end of the working day
            # before, and a fee text shown before a change less than 24 hours ahead.
            "solna_lakarbesok": (solna, "Läkarbesök 20 min", "Läkarbesök", None, full, LAKARBESOK_POLICY),
            "solna_prov": (solna, "Provtagning lab", "Provtagning", 1, full, {}),
            "solna_remiss": (
                solna,
                "Specialistbesök remiss",
                "Bedömning efter remiss",
                None,
                full,
                {"requires_booking_basis": True},
            ),
            "solna_ombud": (solna, "Ombud 1177 akut", "Besök bokat av 1177", 2, full, {}),
            "solna_video": (solna, "Videobesök läkare 20 min", "Videobesök med läkare", None, full, VIDEO),
            # Not offered on the web: residents book it only through an open summons.
            "solna_halsosamtal": (solna, "Hälsosamtal 50 år", "Hälsosamtal", None, {}, {}),
            "solna_hidden": (solna, "Mottagningsbesök intern", "", None, {}, {"hidden_for_patient": True}),
            "bagarmossen_vacc": (
                bagarmossen,
                "Vaccination influensa",
                "Vaccination mot influensa",
                None,
                {"bookable_on_web": True},
                {},
            ),
            # R-TYPE-3: bookable and reschedulable, not cancellable: residents call to cancel.
            "kista_bvc": (
                kista,
                "BVC-besök 45 min",
                "Besök på BVC",
                15,
                {"bookable_on_web": True, "reschedulable_on_web": True},
                {},
            ),
        }
        types = {}
        for key, (clinic, internal, web, days, flags, extra) in specs.items():
            types[key], _ = AppointmentType.objects.update_or_create(
                clinic=clinic,
                internal_name=internal,
                defaults={
                    "web_name": web,
                    "web_info": "Kom gärna tio minuter före besöket och anmäl dig i receptionen." if web else "",
                    "visibility_days": days,
                    **{"bookable_on_web": False, "cancellable_on_web": False, "reschedulable_on_web": False},
                    **flags,
                    **extra,
                },
            )
        return types

    def _resources(self, solna: Clinic, bagarmossen: Clinic, kista: Clinic) -> dict[str, Resource]:
        specs = {
            "solna_dsk": (solna, "Distriktssköterska", ResourceKind.POSITION),
            "solna_lakare": (solna, "Anna Lindqvist, läkare", ResourceKind.PRACTITIONER),
            "solna_prov": (solna, "Biomedicinsk analytiker", ResourceKind.POSITION),
            "solna_video": (solna, "Erik Holm, läkare", ResourceKind.PRACTITIONER),
            "bagarmossen_dsk": (bagarmossen, "Distriktssköterska", ResourceKind.POSITION),
            "kista_bvc": (kista, "Barnsjuksköterska", ResourceKind.POSITION),
        }
        return {
            key: Resource.objects.get_or_create(clinic=clinic, name=name, defaults={"kind": kind})[0]
            for key, (clinic, name, kind) in specs.items()
        }

    def _schedule(
        self,
        actor: User,
        resource: Resource,
        appointment_type: AppointmentType,
        first_hour: int,
        last_hour: int,
        now: dt.datetime,
    ) -> None:
        today = timezone.localdate(now)
        schedule, _ = Schedule.objects.update_or_create(
            resource=resource,
            appointment_type=appointment_type,
            defaults={
                "clinic": resource.clinic,
                "weekdays": [1, 2, 3, 4, 5],
                "start_date": today,
                "end_date": today + dt.timedelta(days=60),
                "day_start": dt.time(first_hour, 0),
                "day_end": dt.time(last_hour, 0),
                "slot_minutes": 20,
                "created_by": actor,
            },
        )
        if schedule.removed_at is None:  # a type a scheduler took off stays off
            schedule_publish(actor=actor, schedule=schedule, now=now)

    # --- Residents' relations, bookings and messages ---------------------------------------------

    def _video_visit_soon(
        self, anna: User, video: AppointmentType, resource: Resource, scheduler: User, now: dt.datetime
    ) -> None:
        """Solna booked Anna a video visit that starts about ten minutes after `make run`, so her
        booking page offers "Anslut till videomötet" almost at once. A new one on each run once the
        last has left her pages (R-BOOK-5: 2 hours after its start)."""
        if Booking.objects.filter(
            resident=anna, appointment_type=video, status=BookingStatus.ACTIVE, start__gt=now - dt.timedelta(hours=2)
        ).exists():
            return
        soon = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=10)
        slot = (
            Slot.objects.filter(
                appointment_type=video, status=SlotStatus.FREE, start__gte=now + dt.timedelta(minutes=5)
            )
            .filter(start__lte=now + dt.timedelta(minutes=25))
            .first()
        )
        if slot is None:
            try:
                slot = slot_add(
                    actor=scheduler, resource=resource, appointment_type=video, start=soon, end=soon + VIDEO_LENGTH
                )
            except ValidationFailed:  # the afternoon's video times overlap: the next free one then
                slot = Slot.objects.filter(appointment_type=video, status=SlotStatus.FREE, start__gt=now).first()
        if slot is not None:
            booking_create_for_resident(actor=scheduler, resident=anna, slot_id=slot.pk, now=now)

    def _relations_and_bookings(self, residents, solna, bagarmossen, kista, types, scheduler, now) -> None:
        anna, bertil, cecilia = residents
        # R-NOTE-1: Anna has confirmed an e-mail address and a mobile number, Bertil an e-mail
        # address and English; Cecilia has given none, so she is told nothing outside the portal.
        for resident, email, mobile, language in (
            (anna, "anna@example.se", "+46701234567", "sv"),
            (bertil, "bertil@example.se", "", "en"),
        ):
            ContactDetails.objects.get_or_create(
                user=resident,
                defaults={
                    "email": email,
                    "email_verified_at": now,
                    "mobile": mobile,
                    "mobile_verified_at": now if mobile else None,
                    "language": language,
                },
            )
        Clinic.objects.filter(pk=kista.pk).update(reminder_hours=240)
        Clinic.objects.filter(pk=solna.pk).update(second_reminder_hours=2)
        relation_add(resident=anna, clinic=solna, source=RelationSource.START_PAGE)
        relation_add(resident=anna, clinic=kista, source=RelationSource.START_PAGE)
        relation_add(resident=bertil, clinic=solna, source=RelationSource.START_PAGE)
        communication_approve(actor=scheduler, resident=bertil, clinic=bagarmossen)
        relation_add(resident=cecilia, clinic=bagarmossen, source=RelationSource.START_PAGE)

        today = timezone.localdate(now)
        if not BookingBasis.objects.filter(resident=anna, appointment_type=types["solna_remiss"]).exists():
            booking_basis_issue(
                actor=scheduler,
                resident=anna,
                appointment_type=types["solna_remiss"],
                valid_until=today + dt.timedelta(days=60),
                max_bookings=2,
                note="Remiss från ortopeden",
            )
        # An open summons: Bertil may book a type Solna does not offer on the web, once.
        if not BookingBasis.objects.filter(resident=bertil, appointment_type=types["solna_halsosamtal"]).exists():
            open_summons_send(
                actor=scheduler,
                clinic=solna,
                resident=bertil,
                appointment_type=types["solna_halsosamtal"],
                valid_from=today + dt.timedelta(days=1),
                valid_until=today + dt.timedelta(days=30),
                note="Kallas enligt hälsoprogrammet",
            )

        def first_free(appointment_type: AppointmentType, days_ahead: int) -> Slot | None:
            return (
                Slot.objects.filter(
                    appointment_type=appointment_type,
                    status=SlotStatus.FREE,
                    is_published=True,
                    start__gte=now + dt.timedelta(days=days_ahead),
                )
                .order_by("start")
                .first()
            )

        def has_active(resident: User, appointment_type: AppointmentType) -> bool:
            return Booking.objects.filter(
                resident=resident, appointment_type=appointment_type, status=BookingStatus.ACTIVE
            ).exists()

        if not has_active(anna, types["solna_besok"]) and (slot := first_free(types["solna_besok"], 3)):
            booking_create(
                resident=anna, slot_id=slot.pk, phone="070-123 45 67", reason="Uppföljning av blodtryck", now=now
            )
        if not has_active(anna, types["kista_bvc"]) and (slot := first_free(types["kista_bvc"], 5)):
            bvc = booking_create(resident=anna, slot_id=slot.pk, now=now)
            # Booked two weeks ago, and Kista reminds ten days ahead (R-NOTE-2): the worker of
            # `make run` sends Anna a reminder within a minute, by e-mail and SMS to its console.
            Booking.objects.filter(pk=bvc.pk).update(created_at=now - dt.timedelta(days=14))
        # A summons from the clinic (R-BOOK-9), and a booking of a hidden type Bertil never sees.
        for key, days in (("solna_lakarbesok", 2), ("solna_hidden", 4)):
            if not has_active(bertil, types[key]) and (slot := first_free(types[key], days)):
                booking_create_for_resident(actor=scheduler, resident=bertil, slot_id=slot.pk, now=now)
        # 1177's telephone service booked Bertil a proxy time (R-TYPE-6): ombud@tidbok.test finds it.
        ombud = User.objects.get(email="ombud@tidbok.test")
        if not has_active(bertil, types["solna_ombud"]) and (slot := first_free(types["solna_ombud"], 1)):
            booking_create_by_proxy(
                actor=ombud,
                resident=bertil,
                slot_id=slot.pk,
                phone="070-987 65 43",
                reason="Halsont och feber i tre dagar",
                now=now,
            )
        if not InboxMessage.objects.filter(resident=anna, kind=MessageKind.INFO).exists():
            inbox_message_send(
                resident=anna,
                clinic=solna,
                kind=MessageKind.INFO,
                subject="Influensavaccination i höst",
                body="Vårdcentralen Solna vaccinerar mot influensa från 1 november. Boka tid direkt här i Tidbok.",
            )
        if not WaitlistEntry.objects.filter(resident=bertil, clinic=solna, status=WaitlistStatus.WAITING).exists():
            # R-WAIT-1: Bertil joined Solna's waitlist for a nurse's visit on the web, mornings only.
            waitlist_join(
                resident=bertil, appointment_type=types["solna_besok"], part_of_day=PartOfDay.MORNING, now=now
            )
        if not WaitlistEntry.objects.filter(
            resident=cecilia, clinic=bagarmossen, status=WaitlistStatus.WAITING
        ).exists():
            waitlist_add(
                actor=scheduler,
                clinic=bagarmossen,
                resident=cecilia,
                appointment_type=types["bagarmossen_vacc"],
                note="Vill komma tidigare om en tid blir ledig",
            )
