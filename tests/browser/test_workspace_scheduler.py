"""The scheduler's workspace in headless Chromium: publish a schedule (R-SCHED-1), block a morning
(R-PUB-2), book for a resident and cancel for them (R-BOOK-9, R-REL-1). Every page visited is
checked with axe-core (WCAG 2.1 A/AA) and photographed at 360 and 1280 px. Elements are found by
name, id or address rather than by text, so the tests read the same in Swedish and English."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from accounts.models import Role
from bookings.models import Booking, BookingStatus, Channel, InboxMessage, MessageKind
from bookings.services import booking_create
from clinics.models import ClinicRelation
from schedules.models import Block, PublishState, Schedule, Slot
from schedules.selectors import LOCAL_TZ, iso_week
from schedules.services import block_create, hold_create

from ..factories import AppointmentTypeFactory, ClinicFactory, ResidentFactory, ResourceFactory, SlotFactory, staff
from .conftest import check_page, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sv(msgid: str) -> str:
    with translation.override("sv"):
        return gettext(msgid)


@pytest.fixture
def solna(db):
    return ClinicFactory(name="Vårdcentralen Solna")


@pytest.fixture
def visit_type(solna):
    return AppointmentTypeFactory(clinic=solna, internal_name="Uppföljning 30 min", web_name="Besök")


@pytest.fixture
def nurse(solna):
    return ResourceFactory(clinic=solna, name="Distriktssköterska")


@pytest.fixture
def sara(solna):
    user = staff(Role.SCHEDULER, solna)
    make_staff_login_ready(user)
    return user


@pytest.fixture
def anna(db):
    return ResidentFactory(first_name="Anna", last_name="Andersson")


def base(solna) -> str:
    return f"/personal/{solna.pk}"


def in_two_days_at(hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=2)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_TZ)


def test_publish_a_schedule(page: Page, solna, visit_type, nurse, sara):
    staff_login(page, sara, next_url=f"{base(solna)}/scheman/")
    check_page(page, "scheduler-schedules")

    page.locator(f"a[href='{base(solna)}/scheman/nytt/']").first.click()
    page.wait_for_url(f"**{base(solna)}/scheman/nytt/")
    check_page(page, "scheduler-schedule-new")

    first = timezone.localdate() + dt.timedelta(days=1)
    page.locator("#id_resource").select_option(str(nurse.pk))
    page.locator("#id_appointment_type").select_option(str(visit_type.pk))
    for weekday in range(1, 8):
        page.locator(f"input[name=weekdays][value='{weekday}']").check()
    page.locator("#id_start_date").fill(first.isoformat())
    page.locator("#id_end_date").fill((first + dt.timedelta(days=6)).isoformat())
    page.locator("#id_day_start").fill("08:00")
    page.locator("#id_day_end").fill("07:00")
    page.locator("#id_slot_minutes").fill("30")

    # An end before the start: the error sits next to the field, and nothing is saved.
    page.locator("button[name=action][value=preview]").click()
    expect(page.locator("#id_day_end")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_day_end_error")).to_contain_text(sv("Error:"))
    check_page(page, "scheduler-schedule-error")
    assert not Schedule.objects.exists()

    page.locator("#id_day_end").fill("10:00")
    page.locator("button[name=action][value=preview]").click()
    expect(page.locator("#preview")).to_contain_text("28")  # 7 days × four 30-minute slots
    check_page(page, "scheduler-schedule-preview")
    assert not Schedule.objects.exists()

    page.locator("button[name=action][value=publish]").click()
    schedule = Schedule.objects.get()
    page.wait_for_url(f"**{base(solna)}/scheman/{schedule.pk}/")
    check_page(page, "scheduler-schedule-detail")
    schedule.refresh_from_db()
    assert schedule.publish_state == PublishState.DONE
    assert Slot.objects.filter(schedule=schedule, is_published=True).count() == 28

    page.locator(f"a[href^='{base(solna)}/tidbok/?resurs={nurse.pk}']").click()
    expect(page.locator("table.data-table").first).to_be_visible()
    expect(page.locator(".tag", has_text=sv("Free")).first).to_be_visible()
    check_page(page, "scheduler-timebook")


def test_block_a_morning(page: Page, solna, visit_type, nurse, sara, anna):
    morning = [SlotFactory(appointment_type=visit_type, resource=nurse, start=in_two_days_at(h)) for h in (8, 9, 10)]
    afternoon = SlotFactory(appointment_type=visit_type, resource=nurse, start=in_two_days_at(14))
    booked = booking_create(resident=anna, slot_id=morning[1].pk)
    day = in_two_days_at(0).date()

    staff_login(page, sara, next_url=f"{base(solna)}/sparr/ny/")
    check_page(page, "scheduler-block-new")
    # A day that has passed is refused with a Swedish message beside the first day, and nothing is blocked.
    page.locator("#id_resource").select_option(str(nurse.pk))
    page.locator("#id_date").fill((day - dt.timedelta(days=3)).isoformat())
    page.locator("#id_date").press("Enter")
    expect(page.locator("#id_date_error")).to_contain_text("Första dagen har redan varit")
    expect(page.locator("#id_date")).to_have_attribute("aria-invalid", "true")
    assert not Block.objects.exists()
    check_page(page, "scheduler-block-past-error")
    # Fill the fields and submit with Enter from the last one.
    page.locator("#id_resource").select_option(str(nurse.pk))
    page.locator("#id_date").fill(day.isoformat())
    page.locator("#id_start_time").fill("07:00")
    page.locator("#id_end_time").fill("12:00")
    page.locator("#id_reason").fill("Arbetsplatsträff")
    page.locator("#id_reason").press("Enter")

    page.wait_for_url(f"**{base(solna)}/tidbok/?resurs={nurse.pk}&vecka={iso_week(day)}")
    check_page(page, "scheduler-timebook-blocked")
    for slot in (morning[0], morning[2]):
        expect(page.locator(f"#tb-slot-{slot.pk} .tag")).to_have_text(sv("Blocked"))
    expect(page.locator(f"#tb-slot-{afternoon.pk} .tag")).to_have_text(sv("Free"))
    expect(page.locator(f"a[href='{base(solna)}/tidbok/bokning/{booked.pk}/']")).to_be_visible()
    assert Booking.objects.get(pk=booked.pk).status == BookingStatus.ACTIVE
    assert list(Slot.objects.filter(is_published=True).order_by("start")) == [afternoon]

    # The block can be taken away again, and its times come back.
    block = Block.objects.get()
    page.locator(f"form[action='{base(solna)}/sparr/{block.pk}/ta-bort/'] button").click()
    page.wait_for_url(f"**{base(solna)}/tidbok/**")
    expect(page.locator(f"#tb-slot-{morning[0].pk} .tag")).to_have_text(sv("Free"))
    assert not Block.objects.exists()


def test_timebook_week_grid_navigates_by_date_and_by_week(page: Page, solna, visit_type, nurse, sara, anna):
    """The timebook is a grid (resources as columns, times as rows), each time's state readable as
    text beside its colour; a date input and previous/next links move it, a toggle shows one day."""
    doctor = ResourceFactory(clinic=solna, name="Läkare Lisa Lund")
    free = SlotFactory(appointment_type=visit_type, resource=nurse, start=in_two_days_at(8))
    booked = SlotFactory(appointment_type=visit_type, resource=doctor, start=in_two_days_at(8))
    held = SlotFactory(appointment_type=visit_type, resource=nurse, start=in_two_days_at(9))
    blocked = SlotFactory(appointment_type=visit_type, resource=doctor, start=in_two_days_at(10))
    booking_create(resident=anna, slot_id=booked.pk)
    hold_create(resident=ResidentFactory(), slot_id=held.pk)
    block_create(actor=sara, resource=doctor, start=blocked.start, end=blocked.end, reason="Utbildning")
    day = in_two_days_at(0).date()
    monday = day - dt.timedelta(days=day.weekday())
    timebook = f"{base(solna)}/tidbok/"

    page.set_viewport_size({"width": 1280, "height": 900})
    staff_login(page, sara, next_url=timebook)
    grid = page.locator("table.timebook-grid")
    expect(grid.locator("thead th")).to_have_text([sv("Time"), nurse.name, doctor.name])
    # Both 08.00 times share a row, one per resource column.
    eight = grid.locator("tr", has=page.locator(f"#tb-slot-{free.pk}"))
    expect(eight.locator("th[scope=row]")).to_have_text("08.00")
    expect(eight.locator(f"#tb-slot-{booked.pk}")).to_be_visible()
    for slot, label in ((free, "Free"), (booked, "Booked"), (held, "Held"), (blocked, "Blocked")):
        expect(page.locator(f"#tb-slot-{slot.pk} .tag")).to_have_text(sv(label))
        expect(page.locator(f"#tb-slot-{slot.pk}")).to_contain_text(sv(label))
    # The grid fits the desktop width: no resource column is hidden off-screen.
    assert page.evaluate("document.querySelector('.timebook-scroll').scrollWidth <= innerWidth")
    check_page(page, "scheduler-timebook-grid")

    # At 360 px the grid scrolls inside its own captioned container, not the page.
    page.set_viewport_size({"width": 360, "height": 800})
    expect(page.locator("#timebook-caption")).to_be_visible()
    assert page.evaluate("(e => e.scrollWidth > e.clientWidth)(document.querySelector('.timebook-scroll'))")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    page.set_viewport_size({"width": 1280, "height": 900})

    # A date three weeks ahead, submitted from the date input.
    later = day + dt.timedelta(days=21)
    page.locator("#id_datum").fill(later.isoformat())
    page.locator("#id_datum").press("Enter")
    page.wait_for_url(f"**/tidbok/?*datum={later.isoformat()}*")
    expect(page.locator("#id_datum")).to_have_value(later.isoformat())
    expect(page.locator(f"#tb-slot-{free.pk}")).to_have_count(0)
    check_page(page, "scheduler-timebook-empty-week")

    # Previous week three times brings the times back; next week leaves again.
    for _step in range(3):
        page.locator("a[rel=prev]").click()
    page.wait_for_url(f"**/tidbok/?vecka={iso_week(monday)}")
    expect(page.locator(f"#tb-slot-{free.pk} .tag")).to_have_text(sv("Free"))
    page.locator("a[rel=next]").click()
    page.wait_for_url(f"**/tidbok/?vecka={iso_week(monday + dt.timedelta(days=7))}")
    expect(page.locator(f"#tb-slot-{free.pk}")).to_have_count(0)

    # One day at a time: the toggle keeps the date, the day links step a day.
    page.locator("#id_datum").fill(day.isoformat())
    page.locator("form.search button[type=submit]").click()
    page.wait_for_url(f"**datum={day.isoformat()}*")
    page.locator(f"a[href$='visa=dag&datum={day.isoformat()}']").click()
    page.wait_for_url(f"**visa=dag&datum={day.isoformat()}")
    expect(page.locator("table.timebook-grid th[scope=rowgroup]")).to_have_count(1)
    expect(page.locator(f"#tb-slot-{held.pk} .tag")).to_have_text(sv("Held"))
    check_page(page, "scheduler-timebook-day")
    page.locator("a[rel=next]").click()
    page.wait_for_url(f"**visa=dag&datum={(day + dt.timedelta(days=1)).isoformat()}")
    expect(page.locator("#id_datum")).to_have_value((day + dt.timedelta(days=1)).isoformat())


def test_book_for_a_resident(page: Page, solna, visit_type, nurse, sara, anna):
    times = [SlotFactory(appointment_type=visit_type, resource=nurse, start=in_two_days_at(h)) for h in (9, 10)]

    staff_login(page, sara, next_url=f"{base(solna)}/boka-at-invanare/")
    check_page(page, "scheduler-book-find")

    page.locator("#id_personnummer").fill("19850314-0000")
    page.locator("#id_personnummer").press("Enter")
    expect(page.locator("#id_personnummer")).to_have_attribute("aria-invalid", "true")
    check_page(page, "scheduler-book-bad-personnummer")

    page.locator("#id_personnummer").fill(anna.personnummer_display)
    page.locator("#id_personnummer").press("Enter")
    expect(page.locator(f"#free-{times[1].pk}")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Anna Andersson")
    check_page(page, "scheduler-book-times")

    # Choose the time with the keyboard and book it.
    page.locator(f"#free-{times[1].pk}").focus()
    page.keyboard.press("Space")
    expect(page.locator(f"#free-{times[1].pk}")).to_be_checked()
    page.locator("main form[method=post] button[type=submit]").last.click()

    booking = Booking.objects.get()
    page.wait_for_url(f"**{base(solna)}/tidbok/bokning/{booking.pk}/")
    check_page(page, "scheduler-booking-detail")
    expect(page.locator("main")).to_contain_text(f"Sara Schema (id {sara.pk})")
    assert (booking.slot_id, booking.resident, booking.channel) == (times[1].pk, anna, Channel.STAFF)
    assert InboxMessage.objects.filter(resident=anna, kind=MessageKind.SUMMONS, booking=booking).exists()
    assert ClinicRelation.objects.get(resident=anna, clinic=solna).on_start_page

    # Cancel it again for the resident, with a reason: asked first, and nothing happens until confirmed.
    page.locator("#id_reason").fill("Doktorn är sjuk i dag.")
    page.locator(f"form[action='{base(solna)}/tidbok/bokning/{booking.pk}/avboka/'] button").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vill du avboka tiden?")
    expect(page.locator("#cancel-reason")).to_have_text("Doktorn är sjuk i dag.")
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    check_page(page, "scheduler-booking-cancel-confirm")
    page.get_by_role("button", name="Ja, avboka tiden").click()
    page.wait_for_url(f"**{base(solna)}/tidbok/bokning/{booking.pk}/")
    expect(page.locator(".message--success")).to_be_visible()
    check_page(page, "scheduler-booking-cancelled")
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    message = InboxMessage.objects.get(resident=anna, kind=MessageKind.CANCELLATION)
    assert "Doktorn är sjuk i dag." in message.body


def test_waitlist_page_is_accessible(page: Page, solna, visit_type, nurse, sara, anna):
    SlotFactory(appointment_type=visit_type, resource=nurse, start=in_two_days_at(9))
    staff_login(page, sara, next_url=f"{base(solna)}/vantelista/")
    page.locator("#id_personnummer").fill(anna.personnummer_display)
    page.locator("#id_appointment_type").select_option(str(visit_type.pk))
    page.locator("#id_note").fill("Helst förmiddag")
    page.locator("main form[method=post] button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("Helst förmiddag")
    check_page(page, "scheduler-waitlist")
    page.locator(f"a[href^='{base(solna)}/boka-at-invanare/?waitlist=']").click()
    expect(page.locator("input[type=radio][name=slot]")).to_have_count(1)
    check_page(page, "scheduler-book-from-waitlist")


def test_preview_shows_the_times_in_the_way_and_a_stalled_publish_can_be_resumed(
    page: Page, solna, visit_type, nurse, sara
):
    """R-OPS-6: the preview lists the existing times a pattern runs into, and publishing skips
    them. R-OPS-3: a background publish whose worker died shows as stalled, with a button."""
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    single = dt.datetime.combine(tomorrow, dt.time(8, 15), tzinfo=LOCAL_TZ)
    SlotFactory(appointment_type=visit_type, resource=nurse, start=single, end=single + dt.timedelta(minutes=30))
    staff_login(page, sara, next_url=f"{base(solna)}/scheman/nytt/")
    page.locator("#id_resource").select_option(str(nurse.pk))
    page.locator("#id_appointment_type").select_option(str(visit_type.pk))
    for weekday in range(1, 8):
        page.locator(f"input[name=weekdays][value='{weekday}']").check()
    page.locator("#id_start_date").fill(tomorrow.isoformat())
    page.locator("#id_end_date").fill(tomorrow.isoformat())
    page.locator("#id_day_start").fill("08:00")
    page.locator("#id_day_end").fill("10:00")
    page.locator("#id_slot_minutes").fill("30")
    page.locator("button[name=action][value=preview]").click()
    expect(page.locator("#collisions")).to_contain_text(f"{tomorrow:%Y-%m-%d} 08.15–08.45")
    check_page(page, "scheduler-schedule-collisions")

    page.locator("button[name=action][value=publish]").click()
    expect(page.locator("#publish-skipped")).to_be_visible()
    assert Slot.objects.filter(schedule__isnull=False).count() == 2

    # A large publish whose worker was killed a while ago, part-way.
    doctor = ResourceFactory(clinic=solna, name="Läkare")
    stalled = Schedule.objects.create(
        clinic=solna,
        resource=doctor,
        appointment_type=visit_type,
        weekdays=list(range(1, 8)),
        start_date=tomorrow,
        end_date=tomorrow + dt.timedelta(days=13),
        day_start=dt.time(8),
        day_end=dt.time(16),
        slot_minutes=10,
        created_by=sara,
        publish_state=PublishState.RUNNING,
        publish_total=672,
        publish_done=300,
        publish_heartbeat_at=timezone.now() - dt.timedelta(hours=1),
        publish_actor=sara,
    )
    page.goto(f"{base(solna)}/scheman/{stalled.pk}/")
    resume = page.locator("button[name=action][value=resume]")
    expect(resume).to_be_visible()
    check_page(page, "scheduler-schedule-stalled")
    resume.click()
    page.wait_for_url(f"**{base(solna)}/scheman/{stalled.pk}/")
    expect(resume).to_have_count(0)
    check_page(page, "scheduler-schedule-resumed")
    stalled.refresh_from_db()
    assert (stalled.publish_state, stalled.publish_done) == (PublishState.DONE, 672)
    assert Slot.objects.filter(schedule=stalled, is_published=True).count() == 672
