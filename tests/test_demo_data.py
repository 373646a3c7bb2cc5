import datetime as dt

from django.core.management import call_command
from django.utils import timezone

from accounts.acting import acting_resolve, children_of
from accounts.models import ActingAs, Membership, Role, User
from bookings.basis_selectors import bases_for_resident
from bookings.models import (
    Attendance,
    AttendanceState,
    BasisKind,
    Booking,
    BookingStatus,
    Channel,
    InboxMessage,
    WaitlistEntry,
)
from bookings.video import meeting_join_for_resident
from clinics.models import AppointmentType, CaseKind, CaseType, Clinic, DeadlineUnit
from notifications.models import NotificationEvent
from notifications.services import reminders_due
from schedules.models import Slot


def counts() -> dict[str, int]:
    return {
        "clinics": Clinic.objects.count(),
        "slots": Slot.objects.count(),
        "bookings": Booking.objects.filter(status=BookingStatus.ACTIVE).count(),
        "messages": InboxMessage.objects.count(),
        "waitlist": WaitlistEntry.objects.count(),
        "users": User.objects.count(),
    }


def test_demo_data_covers_the_settings_and_is_safe_to_load_twice(db):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")

    assert counts() == first
    assert first["clinics"] >= 3 and first["bookings"] >= 3 and first["messages"] >= 1 and first["waitlist"] >= 1
    types = AppointmentType.objects.all()
    assert types.filter(hidden_for_patient=True).exists()
    assert types.filter(internal_name__contains="Ombud").exists()
    assert types.filter(requires_booking_basis=True).exists()
    assert {1, 15, None} <= set(types.values_list("visibility_days", flat=True))
    # One clinic with everything active, one with booking only.
    active = {(c.clinic.name, c.kind) for c in CaseType.objects.filter(is_active=True).select_related("clinic")}
    assert ("Vårdcentralen Solna", CaseKind.MANAGE) in active
    assert ("Vårdcentralen Bagarmossen", CaseKind.BOOK) in active
    assert ("Vårdcentralen Bagarmossen", CaseKind.MANAGE) not in active
    # A clinic whose conditions promise one time at a time has the BOOK option that keeps the promise.
    for book in CaseType.objects.filter(kind=CaseKind.BOOK, conditions_text__contains="en tid åt gången"):
        assert book.one_booking_at_a_time, book.clinic.name
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    assert Slot.objects.filter(is_published=True).count() > 1000
    # ombud@tidbok.test finds a proxy booking (R-TYPE-6) and free proxy times to book.
    proxy = Booking.objects.get(channel=Channel.PROXY, status=BookingStatus.ACTIVE)
    assert proxy.created_by == User.objects.get(email="ombud@tidbok.test") and proxy.proxy_unit
    assert Slot.objects.filter(appointment_type__internal_name__contains="Ombud", status="free").exists()


def test_demo_shows_a_guardian_either_side_of_the_age_limit_and_a_power_of_attorney(db):
    """R-GUARD-1…4, R-POA-1 in the demo: Anna may book for Alva (8), not for Vidar (15), and has
    booked Alva a time at the child health centre; Cecilia has given Bertil a power of attorney."""
    call_command("seed_demo")

    anna, bertil, cecilia = (User.objects.get(first_name=name) for name in ("Anna", "Bertil", "Cecilia"))
    allowed = {access.child.first_name: access.allowed for access in children_of(guardian=anna)}
    assert allowed == {"Alva": True, "Vidar": False}
    alva_booking = Booking.objects.get(resident__first_name="Alva", status=BookingStatus.ACTIVE)
    assert (alva_booking.created_by, alva_booking.acting_as) == (anna, ActingAs.GUARDIAN)
    assert alva_booking.clinic.name == "Barnavårdscentralen Kista"
    attorney = acting_resolve(actor=bertil, patient_id=cecilia.pk)
    assert attorney is not None and attorney.acting_as == ActingAs.ATTORNEY


def test_demo_conditions_promise_web_cancellation_only_where_the_web_can_cancel(db):
    """The conditions text is what residents accept: it must not tell them to cancel on the web at a clinic
    whose timebook cannot cancel or whose types are not cancellable on the web."""
    call_command("seed_demo")

    for clinic in Clinic.objects.all():
        web_can_cancel = (
            clinic.supports_cancellation
            and clinic.appointment_types.filter(cancellable_on_web=True, bookable_on_web=True).exists()
        )
        for case_type in CaseType.objects.filter(clinic=clinic, is_active=True):
            text = case_type.conditions_text.lower()
            if web_can_cancel:
                continue
            promises_web = "avboka senast" in text or "av- och ombokning" in text
            assert not promises_web, f"{clinic.name} {case_type.kind}: {case_type.conditions_text!r}"
            if "avbok" in text:
                assert "telefon" in text or "ring" in text, f"{clinic.name}: say how to cancel instead"


def test_demo_residents_see_a_booking_basis_and_an_open_summons_on_their_start_page(db):
    """The README's demo table: Anna may book Solna's referral visit on a basis, Bertil holds an
    open summons for a type Solna does not offer on the web."""
    call_command("seed_demo")

    anna = User.objects.get(first_name="Anna", last_name="Andersson")
    bertil = User.objects.get(first_name="Bertil", last_name="Berg")
    [basis] = bases_for_resident(resident=anna)
    assert basis.kind == BasisKind.BASIS and basis.appointment_type.requires_booking_basis
    [summons] = bases_for_resident(resident=bertil)
    assert summons.kind == BasisKind.OPEN_SUMMONS and not summons.appointment_type.bookable_on_web
    assert InboxMessage.objects.filter(resident=bertil, booking_basis=summons).exists()


def test_the_demo_shows_a_reminder_on_make_run(db, django_capture_on_commit_callbacks):
    """R-NOTE-2: the first reminder sweep of `make run` sends Anna a reminder by e-mail and SMS."""
    call_command("seed_demo")
    anna = User.objects.get(personnummer="198503142385")
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_due() >= 1
    reminder = NotificationEvent.objects.get(kind="reminder", resident=anna)
    assert set(reminder.notifications.values_list("channel", "state")) == {("email", "sent"), ("sms", "sent")}


def test_demo_shows_notice_deadlines_fee_text_and_attendance(db):
    """R-POL-1, R-POL-2: a type with a working-day deadline, a notice and a fee text; R-ATT-1, R-ATT-2: past
    visits marked by reception, so the figures page has something to show and Bertil has no-shows."""
    call_command("seed_demo")
    call_command("seed_demo")

    policy = AppointmentType.objects.get(clinic__name="Vårdcentralen Solna", web_name="Läkarbesök")
    assert policy.change_deadline_unit == DeadlineUnit.WORKING_DAYS and policy.change_deadline == 1
    assert policy.booking_notice_hours and policy.late_fee_text
    marks = Attendance.objects.filter(booking__clinic__name="Vårdcentralen Solna")
    assert marks.count() == 8
    assert marks.filter(state=AttendanceState.NO_SHOW, booking__resident__personnummer="199207081143").count() == 2


def test_anna_has_a_video_visit_she_can_join_soon_after_make_run(db):
    """The README's demo: a video type at Solna, and Anna's video visit starting about ten minutes
    after seeding, with a meeting link of its own, so "Anslut till videomötet" shows almost at once."""
    call_command("seed_demo")

    anna = User.objects.get(email="anna@example.se")
    [video] = Booking.objects.filter(
        resident=anna, status=BookingStatus.ACTIVE, appointment_type__is_video_visit=True
    ).select_related("clinic")
    assert video.clinic.name == "Vårdcentralen Solna"
    assert video.meeting_url.startswith("https://mote.regionstockholm.example/")
    minutes = (video.start - timezone.now()).total_seconds() / 60
    assert 0 < minutes <= 25
    join = meeting_join_for_resident(booking=video, now=video.start - dt.timedelta(minutes=15))
    assert join is not None and join.is_open
