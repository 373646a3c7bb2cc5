"""The scheduler's workspace pages through the Django test client: the timebook (R-BOOK-4),
schedules (R-SCHED-1) with preview, publish and background progress, single slots, blocks
(R-PUB-2), type changes and removing a type (R-SCHED-2), the audit log (R-LOG-4) and who may do it (R-ACL-1).
The staff booking pages are tested in tests/bookings/test_staff_pages.py."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone, translation
from django.utils.translation import ngettext

from accounts.models import AuditEvent, Role
from bookings.models import (
    Booking,
    BookingStatus,
    InboxMessage,
)
from bookings.services import booking_create, booking_create_for_resident
from core.errors import ValidationFailed
from schedules import services as schedule_services
from schedules.models import Block, PublishState, Schedule, Slot, SlotStatus
from schedules.selectors import LOCAL_TZ, iso_week, offered_slots
from schedules.services import block_create, hold_create, schedule_create, schedule_publish

from ..factories import (
    AppointmentTypeFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    schedule_pattern,
    staff,
    tomorrow_at,
)
from ..workspace import flashed, login, schedule_form, sv, text, week_of, ws_url

# --- R-ACL-1 ------------------------------------------------------------------------------------

PAGES = ["timebook", "schedules", "schedule_new", "slot_new", "block_new", "book_for_resident", "waitlist"]


@pytest.mark.parametrize("role", [Role.LOCAL_ADMIN, Role.SUPPORT])
def test_other_roles_at_the_same_clinic_are_forbidden(client, clinic, slot, role):
    login(client, staff(role, clinic))
    booking = booking_create(resident=ResidentFactory(), slot_id=slot.pk)
    for name in PAGES:
        assert client.get(ws_url(clinic, name)).status_code == 403, name
    assert client.get(ws_url(clinic, "booking_detail", booking_id=booking.pk)).status_code == 403
    assert client.post(ws_url(clinic, "booking_cancel", booking_id=booking.pk)).status_code == 403
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    assert not AuditEvent.objects.filter(action="booking.read").exists()


def test_scheduler_of_another_clinic_gets_not_found(client, clinic, other_scheduler, slot):
    login(client, other_scheduler)
    booking = booking_create(resident=ResidentFactory(), slot_id=slot.pk)
    for name in PAGES:
        assert client.get(ws_url(clinic, name)).status_code == 404, name
    assert client.get(ws_url(clinic, "booking_detail", booking_id=booking.pk)).status_code == 404
    assert client.post(ws_url(clinic, "booking_cancel", booking_id=booking.pk)).status_code == 404
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE


def test_residents_are_forbidden_and_anonymous_visitors_sent_to_log_in(client, clinic, resident):
    for name in PAGES:
        anonymous = client.get(ws_url(clinic, name))
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url, name
    client.force_login(resident)
    for name in PAGES:
        assert client.get(ws_url(clinic, name)).status_code == 403, name


def test_objects_of_another_clinic_are_not_found_in_this_clinics_urls(sched, clinic, scheduler, other_clinic):
    other_type = AppointmentTypeFactory(clinic=other_clinic)
    other_slot = SlotFactory(appointment_type=other_type, resource=ResourceFactory(clinic=other_clinic))
    booking = booking_create(resident=ResidentFactory(), slot_id=other_slot.pk)
    block = Block.objects.create(
        clinic=other_clinic, resource=other_slot.resource, start=other_slot.start, end=other_slot.end
    )
    schedule = Schedule.objects.create(
        clinic=other_clinic,
        resource=other_slot.resource,
        appointment_type=other_type,
        weekdays=[1],
        start_date=timezone.localdate(),
        end_date=timezone.localdate(),
        day_start=dt.time(8),
        day_end=dt.time(9),
        slot_minutes=20,
    )
    assert sched.get(ws_url(clinic, "booking_detail", booking_id=booking.pk)).status_code == 404
    assert sched.post(ws_url(clinic, "booking_cancel", booking_id=booking.pk)).status_code == 404
    assert sched.post(ws_url(clinic, "block_delete", block_id=block.pk)).status_code == 404
    assert sched.get(ws_url(clinic, "schedule_detail", schedule_id=schedule.pk)).status_code == 404
    assert (
        sched.post(ws_url(clinic, "schedule_remove_type", schedule_id=schedule.pk), {"confirm": "on"}).status_code
        == 404
    )
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    assert Block.objects.filter(pk=block.pk).exists()
    assert Schedule.objects.get(pk=schedule.pk).removed_at is None
    assert not AuditEvent.objects.exists()


def test_actions_answer_only_post(sched, clinic, slot):
    booking = booking_create(resident=ResidentFactory(), slot_id=slot.pk)
    block = Block.objects.create(
        clinic=clinic, resource=slot.resource, start=slot.end, end=slot.end + dt.timedelta(hours=1)
    )
    assert sched.get(ws_url(clinic, "booking_cancel", booking_id=booking.pk)).status_code == 405
    assert sched.get(ws_url(clinic, "block_delete", block_id=block.pk)).status_code == 405
    assert sched.get(ws_url(clinic, "slots_change_type")).status_code == 405
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE


# --- Timebook (R-BOOK-4, R-LOG-4) -----------------------------------------------------------------


def test_timebook_week_shows_free_held_booked_and_blocked_times_as_text(
    sched, clinic, appointment_type, resource, scheduler, resident, other_resident
):
    clinic.patient_comment_on_web = True
    clinic.save()
    free = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    held = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9))
    web = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10))
    by_staff = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(11))
    blocked = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(13))
    hold_create(resident=other_resident, slot_id=held.pk)
    booking_create(resident=resident, slot_id=web.pk, phone="070-123 45 67", reason="Ont i ryggen")
    other = ResidentFactory(first_name="Cecilia", last_name="Ceder")
    booking_create_for_resident(actor=scheduler, resident=other, slot_id=by_staff.pk)
    block_create(actor=scheduler, resource=resource, start=blocked.start, end=blocked.end, reason="Utbildning")

    response = sched.get(ws_url(clinic, "timebook", f"vecka={week_of(free.start)}"))

    assert response.status_code == 200
    page = text(response)
    for label in ("Free", "Held", "Booked", "Blocked"):
        assert f'<span class="tag">{sv(label)}</span>' in page, label
    assert "Anna Andersson" in page and resident.personnummer_display in page
    assert "Webbtidbok" in page
    assert f"Sara Schema (id {scheduler.pk})" in page
    assert "070-123 45 67" in page and "Ont i ryggen" in page
    assert "Utbildning" in page
    assert appointment_type.internal_name in page
    # Booked times cannot be picked for a type change; the others can.
    assert f'value="{free.pk}"' in page and f'value="{blocked.pk}"' in page
    assert f'id="slot-{web.pk}"' not in page and f'id="slot-{by_staff.pk}"' not in page


def test_timebook_audits_every_booking_it_shows(sched, clinic, slot, scheduler, resident):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    week = week_of(slot.start)

    sched.get(ws_url(clinic, "timebook", f"vecka={week}"))

    event = AuditEvent.objects.get(action="timebook.read")
    assert (event.actor, event.clinic, event.resident) == (scheduler, clinic, resident)
    assert event.object_id == str(booking.pk) and event.detail == f"timebook week {week}"
    assert event.unit_name == clinic.name


def test_timebook_of_a_week_without_bookings_audits_nothing(sched, clinic, slot):
    sched.get(ws_url(clinic, "timebook", f"vecka={week_of(slot.start)}"))
    assert not AuditEvent.objects.exists()


def test_timebook_per_resource_and_week_navigation(sched, clinic, appointment_type, resource):
    mine = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    other_resource = ResourceFactory(clinic=clinic, name="Läkare Lisa Lund")
    theirs = SlotFactory(appointment_type=appointment_type, resource=other_resource, start=tomorrow_at(8))
    monday = timezone.localtime(mine.start, LOCAL_TZ).date()
    monday -= dt.timedelta(days=monday.weekday())

    response = sched.get(ws_url(clinic, "timebook", f"resurs={resource.pk}&vecka={iso_week(monday)}"))
    whole = sched.get(ws_url(clinic, "timebook", f"vecka={iso_week(monday)}"))

    page = text(response)
    assert f'value="{mine.pk}"' in page and f'value="{theirs.pk}"' not in page
    assert f'value="{mine.pk}"' in text(whole) and f'value="{theirs.pk}"' in text(whole)
    assert f"resurs={resource.pk}&vecka={iso_week(monday - dt.timedelta(days=7))}" in page
    assert f"resurs={resource.pk}&vecka={iso_week(monday + dt.timedelta(days=7))}" in page


def test_timebook_is_a_grid_with_resources_as_columns_and_times_as_rows(sched, clinic, appointment_type, resource):
    other_resource = ResourceFactory(clinic=clinic, name="Läkare Lisa Lund")
    eight = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    parallel = SlotFactory(appointment_type=appointment_type, resource=other_resource, start=tomorrow_at(8))
    nine = SlotFactory(appointment_type=appointment_type, resource=other_resource, start=tomorrow_at(9))

    page = text(sched.get(ws_url(clinic, "timebook", f"vecka={week_of(eight.start)}")))

    columns = re.findall(r'<th scope="col">([^<]*)</th>', page)
    assert columns == [sv("Time"), resource.name, other_resource.name]  # by name
    # One row per start time: both resources' 08:00 times share a row, 09:00 has its own.
    rows = re.findall(r"<tr>\s*<th scope=\"row\" class=\"nowrap\">(\d\d\.\d\d)</th>(.*?)</tr>", page, re.S)
    assert [start for start, _cells in rows] == ["08.00", "09.00"]
    assert f'id="tb-slot-{eight.pk}"' in rows[0][1] and f'id="tb-slot-{parallel.pk}"' in rows[0][1]
    assert f'id="tb-slot-{nine.pk}"' in rows[1][1]
    # Seven day headings in a week, colour class and state text together.
    assert page.count('scope="rowgroup"') == 7
    assert f'class="tb-slot tb-free" id="tb-slot-{eight.pk}"' in page


def test_timebook_date_input_picks_the_week_and_wins_over_the_old_week_parameter(
    sched, clinic, appointment_type, resource
):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    day = timezone.localtime(slot.start, LOCAL_TZ).date()
    far_week = iso_week(day + dt.timedelta(days=70))

    response = sched.get(ws_url(clinic, "timebook", f"vecka={far_week}&datum={day.isoformat()}"))

    page = text(response)
    assert response.status_code == 200
    assert f'type="date" name="datum" value="{day.isoformat()}"' in page
    assert f'value="{slot.pk}"' in page
    assert f'name="vecka" value="{iso_week(day)}"' in page


def test_timebook_old_week_parameter_still_shows_that_week(sched, clinic, appointment_type, resource):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    monday = timezone.localtime(slot.start, LOCAL_TZ).date()
    monday -= dt.timedelta(days=monday.weekday())

    page = text(sched.get(ws_url(clinic, "timebook", f"vecka={iso_week(monday)}")))

    assert f'value="{slot.pk}"' in page
    assert f'name="datum" value="{monday.isoformat()}"' in page


def test_timebook_day_view_shows_one_day_and_audits_only_its_bookings(
    sched, clinic, appointment_type, resource, resident, other_resident
):
    first = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    day = timezone.localtime(first.start, LOCAL_TZ).date()
    next_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8), tzinfo=LOCAL_TZ)
    second = SlotFactory(appointment_type=appointment_type, resource=resource, start=next_day)
    shown = booking_create(resident=resident, slot_id=first.pk)
    booking_create(resident=other_resident, slot_id=second.pk)

    page = text(sched.get(ws_url(clinic, "timebook", f"visa=dag&datum={day.isoformat()}")))

    assert f'id="tb-slot-{first.pk}"' in page and f'id="tb-slot-{second.pk}"' not in page
    assert page.count('scope="rowgroup"') == 1
    event = AuditEvent.objects.get(action="timebook.read")
    assert event.object_id == str(shown.pk) and event.detail == f"timebook day {day.isoformat()}"
    previous = (day - dt.timedelta(days=1)).isoformat()
    following = (day + dt.timedelta(days=1)).isoformat()
    assert f"visa=dag&datum={previous}" in page and f"visa=dag&datum={following}" in page
    assert sv("No blocks this day.") in page and sv("No blocks this week.") not in page


@pytest.mark.parametrize("query", ["datum=2026-13-40", "datum=9999-01-01", "visa=dag&datum=igår"])
def test_timebook_bad_date_is_a_field_error(sched, clinic, query):
    response = sched.get(ws_url(clinic, "timebook", query))
    assert response.status_code == 400
    page = text(response)
    assert sv("Error:") in page and 'aria-invalid="true"' in page and 'id="id_datum"' in page


def test_timebook_mangled_view_toggle_shows_the_week(sched, clinic):
    response = sched.get(ws_url(clinic, "timebook", "visa=månad"))
    assert response.status_code == 200
    assert f' aria-current="page">{sv("Week")}</a>' in text(response)


def test_timebook_default_week_is_this_week(sched, clinic):
    response = sched.get(ws_url(clinic, "timebook"))
    assert response.status_code == 200
    assert f'value="{iso_week(timezone.localdate())}"' in text(response)


@pytest.mark.parametrize("query", ["vecka=2026-W99", "vecka=nonsense", "resurs=999999", "resurs=abc"])
def test_timebook_bad_filters_are_field_errors_not_crashes(sched, clinic, query):
    response = sched.get(ws_url(clinic, "timebook", query))
    assert response.status_code == 400
    page = text(response)
    assert sv("Error:") in page and 'aria-invalid="true"' in page


def test_timebook_is_available_in_english(sched, clinic, settings):
    sched.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = sched.get(ws_url(clinic, "timebook"))
    assert '<html lang="en">' in text(response) and "Timebook" in text(response)


# --- Schedules: preview, publish, progress (R-SCHED-1) ---------------------------------------------


def test_schedule_pages_render(sched, clinic, scheduler, resource, appointment_type):
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(
            resource,
            appointment_type,
            weekdays=[1, 3],
            start_date=timezone.localdate(),
            days=11,
            day_end=dt.time(9),
            slot_minutes=20,
        ),
    )
    listing = sched.get(ws_url(clinic, "schedules"))
    assert listing.status_code == 200
    assert ws_url(clinic, "schedule_detail", schedule_id=schedule.pk) in text(listing)
    assert ws_url(clinic, "schedule_new") in text(listing)
    new = sched.get(ws_url(clinic, "schedule_new"))
    assert new.status_code == 200 and resource.name in text(new)


def test_preview_counts_the_slots_and_saves_nothing(sched, clinic, resource, appointment_type):
    response = sched.post(
        ws_url(clinic, "schedule_new"), {**schedule_form(resource, appointment_type), "action": "preview"}
    )

    assert response.status_code == 200
    assert response.context["preview"] == 8  # 2 days × 08:00–10:00 in 30-minute slots
    assert 'id="preview"' in text(response)
    assert not Schedule.objects.exists() and not Slot.objects.exists()


def test_publish_creates_and_publishes_the_slots(
    sched, clinic, scheduler, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sched.post(
            ws_url(clinic, "schedule_new"), {**schedule_form(resource, appointment_type), "action": "publish"}
        )

    schedule = Schedule.objects.get()
    assert response.status_code == 302 and response.url == ws_url(clinic, "schedule_detail", schedule_id=schedule.pk)
    assert schedule.created_by == scheduler and schedule.published_at is not None
    assert schedule.publish_state == PublishState.DONE
    slots = Slot.objects.filter(schedule=schedule)
    assert slots.count() == 8 and all(s.is_published for s in slots)
    assert offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident).count() == 8
    detail = sched.get(response.url)
    assert detail.context["counts"].free == 8


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"weekdays": []}, "weekdays"),
        ({"end_date": "2020-01-01"}, "end_date"),
        ({"start_date": "2026-13-45"}, "start_date"),
        ({"day_start": "25:99"}, "day_start"),
        ({"day_end": "07:00"}, "day_end"),
        ({"slot_minutes": "2"}, "slot_minutes"),
        ({"slot_minutes": "many"}, "slot_minutes"),
        ({"resource": "999999"}, "resource"),
        ({"appointment_type": "abc"}, "appointment_type"),
    ],
)
@pytest.mark.parametrize("action", ["preview", "publish"])
def test_bad_schedule_input_is_a_field_error_and_writes_nothing(
    sched, clinic, resource, appointment_type, overrides, field, action
):
    response = sched.post(
        ws_url(clinic, "schedule_new"), {**schedule_form(resource, appointment_type, **overrides), "action": action}
    )

    assert response.status_code == 400
    assert field in response.context["form"].errors
    page = text(response)
    assert sv("Error:") in page
    if field != "weekdays":
        assert re.search(rf'id="id_{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_{field}"', page)
    assert not Schedule.objects.exists() and not Slot.objects.exists()


def test_another_clinics_type_or_resource_cannot_be_used(sched, clinic, resource, other_clinic):
    foreign_type = AppointmentTypeFactory(clinic=other_clinic)
    response = sched.post(
        ws_url(clinic, "schedule_new"), {**schedule_form(resource, foreign_type), "action": "publish"}
    )
    assert response.status_code == 400 and "appointment_type" in response.context["form"].errors
    assert not Schedule.objects.exists()


@pytest.fixture
def big_schedule_form(resource, appointment_type):
    # 14 days × 08:00–16:00 in 10-minute slots = 672 slots: over the background threshold.
    start = timezone.localdate() + dt.timedelta(days=1)
    return schedule_form(
        resource,
        appointment_type,
        end_date=(start + dt.timedelta(days=13)).isoformat(),
        day_start="08:00",
        day_end="16:00",
        slot_minutes="10",
    )


def test_a_large_publish_runs_in_the_background_with_progress(
    sched, clinic, big_schedule_form, resident, appointment_type, django_capture_on_commit_callbacks, settings
):
    settings.TIDBOK_PUBLISH_BATCH_SIZE = 100
    preview = sched.post(ws_url(clinic, "schedule_new"), {**big_schedule_form, "action": "preview"})
    assert preview.context["preview"] == 672 and preview.context["in_background"]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = sched.post(ws_url(clinic, "schedule_new"), {**big_schedule_form, "action": "publish"})

    schedule = Schedule.objects.get()
    assert (schedule.publish_state, schedule.publish_total, schedule.publish_done) == (PublishState.QUEUED, 672, 0)
    assert not Slot.objects.exists()  # nothing is made until the worker runs
    waiting = sched.get(response.url)
    assert waiting.context["in_progress"]
    assert '<progress id="publish-progress" max="672" value="0">' in text(waiting)

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    schedule.refresh_from_db()
    assert (schedule.publish_state, schedule.publish_done) == (PublishState.DONE, 672)
    assert schedule.published_at is not None
    assert Slot.objects.filter(schedule=schedule, is_published=True).count() == 672
    assert offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident).count() > 0
    done = sched.get(response.url)
    assert not done.context["in_progress"] and done.context["counts"].free == 672


def test_the_background_run_is_done_once_even_if_delivered_twice(
    sched, clinic, big_schedule_form, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sched.post(ws_url(clinic, "schedule_new"), {**big_schedule_form, "action": "publish"})
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()
        callbacks[0]()
    schedule = Schedule.objects.get()
    assert schedule.publish_done == 672 and Slot.objects.filter(schedule=schedule).count() == 672


def test_a_failed_background_run_shows_and_can_be_published_again(
    sched, clinic, scheduler, big_schedule_form, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sched.post(ws_url(clinic, "schedule_new"), {**big_schedule_form, "action": "publish"})
    schedule = Schedule.objects.get()
    scheduler.memberships.all().delete()  # the scheduler left the clinic before the worker ran
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()
    schedule.refresh_from_db()
    assert schedule.publish_state == PublishState.FAILED and not Slot.objects.exists()

    successor = staff(Role.SCHEDULER, clinic)
    login(sched, successor)
    failed = sched.get(ws_url(clinic, "schedule_detail", schedule_id=schedule.pk))
    assert failed.context["can_publish"]
    with django_capture_on_commit_callbacks(execute=True):
        sched.post(ws_url(clinic, "schedule_detail", schedule_id=schedule.pk))
    schedule.refresh_from_db()
    assert schedule.publish_state == PublishState.DONE
    assert Slot.objects.filter(schedule=schedule).count() == 672


# --- Removing a type from a schedule (R-SCHED-2, R-PUB-2) -----------------------------------------


@pytest.fixture
def published(scheduler, resource, appointment_type, django_capture_on_commit_callbacks):
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type),
    )
    with django_capture_on_commit_callbacks(execute=True):
        schedule_publish(actor=scheduler, schedule=schedule)
    return schedule


def test_remove_type_needs_confirmation(sched, clinic, published):
    response = sched.post(ws_url(clinic, "schedule_remove_type", schedule_id=published.pk), {})
    assert response.status_code == 400
    assert "confirm" in response.context["remove_form"].errors and sv("Error:") in text(response)
    published.refresh_from_db()
    assert published.removed_at is None and Slot.objects.filter(schedule=published).count() == 4


def test_remove_type_removes_free_times_and_keeps_booked_ones(sched, clinic, published, resident):
    first = Slot.objects.filter(schedule=published).earliest("start")
    booking = booking_create(resident=resident, slot_id=first.pk)

    response = sched.post(ws_url(clinic, "schedule_remove_type", schedule_id=published.pk), {"confirm": "on"})

    assert response.status_code == 302
    published.refresh_from_db()
    assert published.removed_at is not None
    assert list(Slot.objects.filter(schedule=published)) == [first]
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE and booking.slot_id == first.pk
    detail = sched.get(response.url)
    assert detail.context["counts"].booked == 1 and detail.context["counts"].free == 0


def test_removing_the_type_again_says_so_and_changes_nothing(sched, clinic, published):
    url = ws_url(clinic, "schedule_remove_type", schedule_id=published.pk)
    sched.post(url, {"confirm": "on"})
    published.refresh_from_db()
    removed_at = published.removed_at

    again = sched.post(url, {"confirm": "on"}, follow=True)

    assert sv("The type was already removed from this schedule.") in text(again)
    published.refresh_from_db()
    assert published.removed_at == removed_at


# --- Single slots (R-SCHED-2, R-PUB-1) -----------------------------------------------------------


def slot_form(resource, appointment_type, day: dt.date, /, **overrides) -> dict:
    data = {
        "resource": resource.pk,
        "appointment_type": appointment_type.pk,
        "date": day.isoformat(),
        "start_time": "14:00",
        "end_time": "14:30",
    }
    data.update(overrides)
    return data


def test_add_a_single_slot(
    sched, clinic, resource, appointment_type, day_after_tomorrow, django_capture_on_commit_callbacks
):
    assert sched.get(ws_url(clinic, "slot_new")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = sched.post(ws_url(clinic, "slot_new"), slot_form(resource, appointment_type, day_after_tomorrow))

    slot = Slot.objects.get()
    assert response.status_code == 302 and f"vecka={iso_week(day_after_tomorrow)}" in response.url
    assert timezone.localtime(slot.start, LOCAL_TZ) == dt.datetime.combine(
        day_after_tomorrow, dt.time(14), tzinfo=LOCAL_TZ
    )
    assert slot.end - slot.start == dt.timedelta(minutes=30) and slot.is_published and slot.schedule is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"end_time": "13:00"}, "end_time"),
        ({"date": "2020-02-02"}, "start_time"),
        ({"date": "not a date"}, "date"),
        ({"start_time": "14.99"}, "start_time"),
        ({"resource": ""}, "resource"),
    ],
)
def test_bad_single_slot_is_a_field_error(
    sched, clinic, resource, appointment_type, day_after_tomorrow, overrides, field
):
    response = sched.post(
        ws_url(clinic, "slot_new"), slot_form(resource, appointment_type, day_after_tomorrow, **overrides)
    )
    assert response.status_code == 400 and field in response.context["form"].errors
    assert not Slot.objects.exists()


def test_overlapping_single_slot_is_refused(sched, clinic, resource, appointment_type, day_after_tomorrow):
    sched.post(ws_url(clinic, "slot_new"), slot_form(resource, appointment_type, day_after_tomorrow))
    response = sched.post(
        ws_url(clinic, "slot_new"),
        slot_form(resource, appointment_type, day_after_tomorrow, start_time="14:15", end_time="14:45"),
    )
    assert response.status_code == 400 and "start_time" in response.context["form"].errors
    assert Slot.objects.count() == 1


# --- Blocks (R-PUB-2) -------------------------------------------------------------------------------


def test_block_a_morning_removes_its_free_times_at_once_and_keeps_bookings(
    sched, clinic, resource, appointment_type, resident, other_resident
):
    morning = [
        SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(h, m))
        for h, m in ((8, 0), (9, 0), (10, 0), (13, 0))
    ]
    booking = booking_create(resident=resident, slot_id=morning[1].pk)
    day = timezone.localtime(morning[0].start, LOCAL_TZ).date()

    # No on-commit callbacks run: the times must be gone without any worker.
    response = sched.post(
        ws_url(clinic, "block_new"),
        {"resource": resource.pk, "date": day.isoformat(), "start_time": "07:00", "end_time": "12:00", "reason": "APT"},
    )

    assert response.status_code == 302
    offered = offered_slots(clinic=clinic, appointment_type=appointment_type, resident=other_resident)
    assert list(offered) == [morning[3]]
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert Slot.objects.get(pk=morning[1].pk).status == SlotStatus.BOOKED
    block = Block.objects.get()
    assert block.reason == "APT" and block.created_by is not None
    week = sched.get(response.url)
    assert f"{sv('Blocked')}</span>" in text(week)
    with translation.override("sv"):
        still_booked = ngettext(
            "%(count)d booked time in the period is still booked. Cancel it if needed.",
            "%(count)d booked times in the period are still booked. Cancel them if needed.",
            1,
        ) % {"count": 1}
    assert still_booked in flashed(week)


def test_block_without_times_covers_the_whole_day(sched, clinic, resource, appointment_type):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(16))
    day = timezone.localtime(slot.start, LOCAL_TZ).date()
    sched.post(ws_url(clinic, "block_new"), {"resource": resource.pk, "date": day.isoformat()})
    block = Block.objects.get()
    assert block.start == dt.datetime.combine(day, dt.time.min, tzinfo=LOCAL_TZ)
    assert block.end == dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=LOCAL_TZ)
    assert Slot.objects.get(pk=slot.pk).is_blocked


@pytest.mark.parametrize(
    "data",
    [
        {"date": "2026-02-30", "start_time": "08:00", "end_time": "09:00"},
        {"date": "tomorrow", "start_time": "08:00", "end_time": "09:00"},
        {"start_time": "10:00", "end_time": "09:00"},
        {"start_time": "8 o'clock", "end_time": "09:00"},
    ],
)
def test_bad_block_is_a_field_error(sched, clinic, resource, slot, data):
    day = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = sched.post(ws_url(clinic, "block_new"), {"resource": resource.pk, "date": day, **data})
    assert response.status_code == 400 and response.context["form"].errors
    assert 'aria-invalid="true"' in text(response)
    assert not Block.objects.exists() and not Slot.objects.get(pk=slot.pk).is_blocked


def test_a_block_may_span_several_days(sched, clinic, resource, appointment_type):
    first = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9))
    middle = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9, days=2))
    last = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(11, days=3))
    after = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(13, days=3))
    day = timezone.localtime(first.start, LOCAL_TZ).date()

    response = sched.post(
        ws_url(clinic, "block_new"),
        {
            "resource": resource.pk,
            "date": day.isoformat(),
            "start_time": "08:00",
            "end_date": (day + dt.timedelta(days=2)).isoformat(),
            "end_time": "12:00",
        },
    )

    assert response.status_code == 302
    block = Block.objects.get()
    assert block.start == dt.datetime.combine(day, dt.time(8), tzinfo=LOCAL_TZ)
    assert block.end == dt.datetime.combine(day + dt.timedelta(days=2), dt.time(12), tzinfo=LOCAL_TZ)
    blocked = set(Slot.objects.filter(is_blocked=True).values_list("pk", flat=True))
    assert blocked == {first.pk, middle.pk, last.pk} and after.pk not in blocked


def test_a_block_without_an_end_time_runs_to_the_end_of_its_last_day(sched, clinic, resource):
    day = timezone.localdate() + dt.timedelta(days=1)
    sched.post(
        ws_url(clinic, "block_new"),
        {"resource": resource.pk, "date": day.isoformat(), "end_date": (day + dt.timedelta(days=4)).isoformat()},
    )
    block = Block.objects.get()
    assert block.end == dt.datetime.combine(day + dt.timedelta(days=5), dt.time.min, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    ("days", "data", "field", "message"),
    [
        (-1, {}, "date", "The first day has already passed. Choose today or a later day."),
        (-3, {"end_date": 2}, "date", "The first day has already passed. Choose today or a later day."),
        (0, {"start_time": "00:00", "end_time": "00:01"}, "end_time", None),
        (2, {"end_date": 1}, "end_date", "The last day cannot be before the first day."),
    ],
)
def test_a_block_in_the_past_or_backwards_is_refused_in_swedish(
    sched, clinic, resource, slot, days, data, field, message
):
    today = timezone.localdate()
    if "end_date" in data:
        data = {**data, "end_date": (today + dt.timedelta(days=data["end_date"])).isoformat()}
    response = sched.post(
        ws_url(clinic, "block_new"),
        {"resource": resource.pk, "date": (today + dt.timedelta(days=days)).isoformat(), **data},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    expected = message or "The period has already passed. Choose an end later than now."
    with translation.override("sv"):
        swedish = translation.gettext(expected)
    assert swedish != expected and swedish.endswith(".")  # said in Swedish, not the English msgid
    assert errors[field] == [swedish]
    assert swedish in text(response) and 'aria-invalid="true"' in text(response)
    assert not Block.objects.exists() and not Slot.objects.get(pk=slot.pk).is_blocked


def test_blocking_the_rest_of_today_is_allowed(sched, clinic, resource):
    today = timezone.localdate()
    response = sched.post(ws_url(clinic, "block_new"), {"resource": resource.pk, "date": today.isoformat()})
    assert response.status_code == 302
    assert Block.objects.get().start == dt.datetime.combine(today, dt.time.min, tzinfo=LOCAL_TZ)


def test_the_service_refuses_a_block_in_the_past(scheduler, resource):
    now = timezone.now()
    with pytest.raises(ValidationFailed) as refused:
        block_create(
            actor=scheduler, resource=resource, start=now - dt.timedelta(days=2), end=now - dt.timedelta(days=1)
        )
    assert set(refused.value.field_errors) == {"start"}
    with pytest.raises(ValidationFailed) as ended:
        block_create(actor=scheduler, resource=resource, start=now - dt.timedelta(minutes=30), end=now, now=now)
    if timezone.localtime(now - dt.timedelta(minutes=30), LOCAL_TZ).date() == timezone.localdate(now):
        assert set(ended.value.field_errors) == {"end"}
    assert not Block.objects.exists()


def test_removing_a_block_brings_the_times_back(
    sched, clinic, scheduler, resource, appointment_type, resident, django_capture_on_commit_callbacks
):
    slot = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9))
    block = block_create(actor=scheduler, resource=resource, start=slot.start, end=slot.end).block
    assert sched.get(ws_url(clinic, "block_new")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = sched.post(ws_url(clinic, "block_delete", block_id=block.pk))

    assert response.status_code == 302
    assert not Block.objects.exists()
    assert list(offered_slots(clinic=clinic, appointment_type=appointment_type, resident=resident)) == [slot]


# --- Changing the type of slots (R-SCHED-2, R-PUB-1) -----------------------------------------------


def test_change_type_of_chosen_times_leaves_booked_ones_alone(sched, clinic, resource, appointment_type, resident):
    other_type = AppointmentTypeFactory(clinic=clinic, internal_name="Telefontid", web_name="Telefonsamtal")
    free = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    booked = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(9))
    untouched = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10))
    booking = booking_create(resident=resident, slot_id=booked.pk)

    response = sched.post(
        ws_url(clinic, "slots_change_type"),
        {"slot": [free.pk, booked.pk], "appointment_type": other_type.pk, "resurs": "", "vecka": "x"},
    )

    assert response.status_code == 302
    assert Slot.objects.get(pk=free.pk).appointment_type == other_type
    assert Slot.objects.get(pk=booked.pk).appointment_type == appointment_type
    assert Slot.objects.get(pk=untouched.pk).appointment_type == appointment_type
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE and booking.appointment_type == appointment_type


def test_change_type_in_the_day_view_returns_to_that_day(sched, clinic, resource, appointment_type):
    other_type = AppointmentTypeFactory(clinic=clinic, internal_name="Telefontid", web_name="Telefonsamtal")
    free = SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(8))
    day = timezone.localtime(free.start, LOCAL_TZ).date()
    page = text(sched.get(ws_url(clinic, "timebook", f"resurs={resource.pk}&visa=dag&datum={day.isoformat()}")))
    # The change form carries the view it was shown in.
    assert '<input type="hidden" name="visa" value="dag">' in page
    assert f'<input type="hidden" name="datum" value="{day.isoformat()}">' in page

    response = sched.post(
        ws_url(clinic, "slots_change_type"),
        {
            "slot": [free.pk],
            "appointment_type": other_type.pk,
            "resurs": resource.pk,
            "vecka": iso_week(day),
            "visa": "dag",
            "datum": day.isoformat(),
        },
    )

    assert response.status_code == 302
    assert response.url == ws_url(clinic, "timebook", f"resurs={resource.pk}&visa=dag&datum={day.isoformat()}")
    assert Slot.objects.get(pk=free.pk).appointment_type == other_type


@pytest.mark.parametrize("field", ["slot", "appointment_type"])
def test_change_type_errors_show_on_the_timebook(sched, clinic, slot, other_clinic, field):
    foreign_slot = SlotFactory(appointment_type=AppointmentTypeFactory(clinic=other_clinic))
    other_type = AppointmentTypeFactory(clinic=clinic)
    data = {"slot": [slot.pk], "appointment_type": other_type.pk}
    data[field] = [foreign_slot.pk] if field == "slot" else foreign_slot.appointment_type.pk

    response = sched.post(ws_url(clinic, "slots_change_type"), data)

    assert response.status_code == 400 and field in response.context["change_form"].errors
    assert sv("Error:") in text(response)
    assert Slot.objects.get(pk=slot.pk).appointment_type == slot.appointment_type
    assert Slot.objects.get(pk=foreign_slot.pk).appointment_type == foreign_slot.appointment_type


def test_change_type_with_nothing_chosen_is_an_error(sched, clinic, appointment_type):
    response = sched.post(ws_url(clinic, "slots_change_type"), {"appointment_type": appointment_type.pk})
    assert response.status_code == 400 and "slot" in response.context["change_form"].errors


def test_service_errors_never_leak_as_server_errors(sched, clinic, resident, slot):
    """A hidden type books without a summons; the page still answers."""
    slot.appointment_type.hidden_for_patient = True
    slot.appointment_type.bookable_on_web = slot.appointment_type.cancellable_on_web = False
    slot.appointment_type.reschedulable_on_web = False
    slot.appointment_type.save()
    response = sched.post(ws_url(clinic, "book_for_resident"), {"personnummer": resident.personnummer, "slot": slot.pk})
    assert response.status_code == 302
    assert not InboxMessage.objects.exists()


def test_schedule_preview_service_checks_the_same_rules_as_create(scheduler, resource, appointment_type):
    with pytest.raises(ValidationFailed) as caught:
        schedule_services.schedule_preview(
            actor=scheduler,
            pattern=schedule_pattern(
                resource,
                appointment_type,
                weekdays=[],
                start_date=timezone.localdate(),
                end_date=timezone.localdate() - dt.timedelta(days=1),
                day_start=dt.time(10),
                day_end=dt.time(9),
                slot_minutes=1,
            ),
        )
    assert set(caught.value.field_errors) == {"weekdays", "end_date", "day_end", "slot_minutes"}
