"""R-OPS-6: no two slots of one resource overlap, on every database. The rule is kept by the
services under the resource's row lock (PostgreSQL's exclusion constraint stays as the last
line); publishing a schedule skips the times that overlap slots already there, the preview
lists them beforehand, and a single slot that overlaps is refused with a clear message.

Every test here but the parallel one also runs on SQLite, the ``make run`` default:
:func:`test_the_same_rules_hold_on_sqlite` runs this module again in a process without
DATABASE_URL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from core import dates
from core.errors import ValidationFailed
from schedules.models import PublishState, Schedule, Slot
from schedules.selectors import LOCAL_TZ
from schedules.services import (
    schedule_create,
    schedule_preview_detail,
    schedule_publish,
    schedule_publish_start,
    slot_add,
)
from schedules.services.overlap import _overlapping

from ..factories import AppointmentTypeFactory, SlotFactory, login_with_second_factor, schedule_pattern, tomorrow_at

ROOT = Path(__file__).resolve().parents[2]


def assert_no_overlap(resource) -> None:
    slots = list(Slot.objects.filter(resource=resource).order_by("start"))
    for earlier, later in itertools.pairwise(slots):
        assert earlier.end <= later.start, (earlier.start, earlier.end, later.start, later.end)


@pytest.fixture
def single(resource, clinic):
    """A single time already on the resource, 08:15–08:45 tomorrow, of another type."""
    other_type = AppointmentTypeFactory(clinic=clinic, internal_name="Vaccination", web_name="Vaccination")
    return SlotFactory(appointment_type=other_type, resource=resource, start=tomorrow_at(8, 15), end=tomorrow_at(8, 45))


def test_publish_skips_the_times_that_overlap_a_slot_already_on_the_resource(
    scheduler, resource, appointment_type, single, django_capture_on_commit_callbacks
):
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type),
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = schedule_publish(actor=scheduler, schedule=schedule)

    # 08:00 and 08:30 overlap 08:15–08:45 and are not made; 09:00 and 09:30 are.
    starts = [
        s.astimezone(LOCAL_TZ).time() for s in Slot.objects.filter(schedule=schedule).values_list("start", flat=True)
    ]
    assert (created, sorted(starts)) == (2, [dt.time(9), dt.time(9, 30)])
    schedule.refresh_from_db()
    assert schedule.publish_skipped == 2
    single.refresh_from_db()
    assert (single.start, single.end, single.schedule_id) == (tomorrow_at(8, 15), tomorrow_at(8, 45), None)
    assert_no_overlap(resource)


def test_publishing_again_neither_duplicates_nor_counts_its_own_times_as_collisions(
    scheduler, resource, appointment_type, single, django_capture_on_commit_callbacks
):
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type),
    )
    with django_capture_on_commit_callbacks(execute=True):
        schedule_publish(actor=scheduler, schedule=schedule)
        again = schedule_publish(actor=scheduler, schedule=schedule)
    schedule.refresh_from_db()
    assert (again, schedule.publish_skipped, Slot.objects.filter(resource=resource).count()) == (0, 2, 3)


def test_a_time_of_the_schedule_itself_that_moved_is_in_the_way_of_a_rerun(
    scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    """Only the schedule's own times at exactly their start and end are left out of the check."""
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type),
    )
    with django_capture_on_commit_callbacks(execute=True):
        schedule_publish(actor=scheduler, schedule=schedule)
        # 09:00 moved to 09:10–09:40 (09:30 gone to make room), as an old or hand-edited row.
        Slot.objects.filter(schedule=schedule, start=tomorrow_at(9, 30)).delete()
        Slot.objects.filter(schedule=schedule, start=tomorrow_at(9)).update(
            start=tomorrow_at(9, 10), end=tomorrow_at(9, 40)
        )
        again = schedule_publish(actor=scheduler, schedule=schedule)

    schedule.refresh_from_db()
    # 08:00 and 08:30 are its own, kept; 09:00 and 09:30 overlap the moved time and are skipped.
    assert (again, schedule.publish_skipped) == (0, 2)
    assert Slot.objects.filter(schedule=schedule).count() == 3
    assert_no_overlap(resource)


def test_another_schedule_on_the_same_resource_fills_around_the_first(
    scheduler, resource, appointment_type, django_capture_on_commit_callbacks
):
    first = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type),
    )
    # 20-minute times from 09:00: 09:00 and 09:20 overlap 09:00–09:30 and 09:30–10:00; 09:40 too.
    second = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(
            resource, appointment_type, day_start=dt.time(9), day_end=dt.time(11), slot_minutes=20
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        schedule_publish(actor=scheduler, schedule=first)
        created = schedule_publish(actor=scheduler, schedule=second)
    second.refresh_from_db()
    assert (created, second.publish_skipped) == (3, 3)
    assert_no_overlap(resource)


def test_a_background_publish_skips_them_too(
    scheduler, resource, appointment_type, single, django_capture_on_commit_callbacks, settings
):
    settings.TIDBOK_PUBLISH_BATCH_SIZE = 7
    # Two weeks of 10-minute times from 08:00 to 16:00: 672 times, over the background threshold.
    with django_capture_on_commit_callbacks(execute=True):
        schedule = schedule_create(
            actor=scheduler,
            pattern=schedule_pattern(
                resource,
                appointment_type,
                end_date=timezone.localdate() + dt.timedelta(days=14),
                day_end=dt.time(16),
                slot_minutes=10,
            ),
        )
        assert schedule_publish_start(actor=scheduler, schedule=schedule) is None
    schedule.refresh_from_db()
    # 08:10, 08:20, 08:30 and 08:40 of tomorrow overlap 08:15–08:45.
    assert (schedule.publish_state, schedule.publish_done, schedule.publish_skipped) == (PublishState.DONE, 672, 4)
    assert Slot.objects.filter(schedule=schedule, is_published=True).count() == 668
    assert_no_overlap(resource)


def test_the_preview_lists_the_existing_times_in_the_way(scheduler, resource, appointment_type, single):
    later = SlotFactory(
        appointment_type=single.appointment_type, resource=resource, start=tomorrow_at(9, 50), end=tomorrow_at(10, 10)
    )
    SlotFactory(appointment_type=appointment_type, resource=resource, start=tomorrow_at(10, 10), end=tomorrow_at(11))
    preview = schedule_preview_detail(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type),
    )
    # 08:00, 08:30 hit the single time, 09:30 hits the one at 09:50; the one from 10:10 is clear.
    assert (preview.count, preview.skipped, preview.collision_count) == (1, 3, 2)
    assert [slot.pk for slot in preview.collisions] == [single.pk, later.pk]
    assert not Schedule.objects.exists()


def test_the_pages_show_the_times_in_the_way_and_what_publishing_skipped(
    client, clinic, scheduler, resource, appointment_type, single
):
    login_with_second_factor(client, scheduler)
    day = timezone.localdate() + dt.timedelta(days=1)
    form = {
        "resource": resource.pk,
        "appointment_type": appointment_type.pk,
        "weekdays": [str(d) for d in range(1, 8)],
        "start_date": day.isoformat(),
        "end_date": day.isoformat(),
        "day_start": "08:00",
        "day_end": "10:00",
        "slot_minutes": "30",
    }
    url = reverse("workspace:schedule_new", kwargs={"clinic_id": clinic.pk})
    preview = client.post(url, {**form, "action": "preview"})
    page = preview.content.decode()
    assert preview.context["preview"] == 2
    assert [slot.pk for slot in preview.context["collisions"].collisions] == [single.pk]
    assert 'id="collisions"' in page and f"{day:%Y-%m-%d} 08.15–08.45" in page
    assert "2 tider i schemat överlappar tider som redan finns på resursen och skapas inte." in page

    published = client.post(url, {**form, "action": "publish"}, follow=True)
    skipped = "2 tider skapades inte eftersom de överlappar tider som redan finns på resursen."
    assert skipped in published.content.decode()
    assert_no_overlap(resource)


def test_the_staff_api_says_what_publishing_skipped(client, clinic, scheduler, resource, appointment_type, single):
    login_with_second_factor(client, scheduler)
    day = timezone.localdate() + dt.timedelta(days=1)
    payload = {
        "resource": resource.pk,
        "appointment_type": appointment_type.pk,
        "weekdays": list(range(1, 8)),
        "start_date": day.isoformat(),
        "end_date": day.isoformat(),
        "day_start": "08:00",
        "day_end": "10:00",
        "slot_minutes": 30,
    }
    response = client.post(f"/api/v1/staff/clinics/{clinic.pk}/schedules/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created_slots"], body["publish_skipped"], body["publish_stalled"]) == (2, 2, False)
    assert_no_overlap(resource)


def test_collisions_are_found_among_existing_times_that_overlap_each_other():
    """Rows made on SQLite before the rule was kept there may overlap each other: a long one
    hidden behind a short one that starts later must still be found."""
    at = tomorrow_at
    existing = [(at(8), at(12)), (at(8, 30), at(8, 40))]
    hits = _overlapping([(at(9), at(9, 30)), (at(12), at(12, 30))], existing)
    assert hits == [True, False]


def test_a_single_time_that_overlaps_is_refused_with_the_time_it_overlaps(
    scheduler, resource, appointment_type, single
):
    with translation.override("sv"), pytest.raises(ValidationFailed) as refused:
        slot_add(
            actor=scheduler,
            resource=resource,
            appointment_type=appointment_type,
            start=tomorrow_at(8, 30),
            end=tomorrow_at(9),
        )
    [message] = refused.value.field_errors["start"]
    with translation.override("sv"):
        when = f"{dates.when(tomorrow_at(8, 15), 'date')} kl. 08.15–08.45"
    assert str(message) == f"Resursen har redan en tid som överlappar den här: {when}."
    assert Slot.objects.filter(resource=resource).count() == 1


def test_a_single_time_right_after_another_is_not_an_overlap(scheduler, resource, appointment_type, single):
    slot_add(
        actor=scheduler, resource=resource, appointment_type=appointment_type, start=single.end, end=tomorrow_at(9)
    )
    assert_no_overlap(resource)


@pytest.mark.django_db(transaction=True)
def test_parallel_single_times_and_a_publish_on_one_resource_never_overlap(scheduler, resource, appointment_type):
    """Real parallel writers on PostgreSQL: eight overlapping single times and a schedule's
    publish at once. The resource lock lets exactly one single time in, and every other one is
    refused with the rule's own message (not the constraint's fallback)."""
    assert connection.vendor == "postgresql"
    schedule = schedule_create(
        actor=scheduler,
        pattern=schedule_pattern(resource, appointment_type),
    )
    barrier = threading.Barrier(9)
    outcomes: list[str] = []

    def add(minute: int) -> None:
        try:
            barrier.wait()
            slot_add(
                actor=scheduler,
                resource=resource,
                appointment_type=appointment_type,
                start=tomorrow_at(8, minute),
                end=tomorrow_at(8, minute + 30),
            )
            outcomes.append("added")
        except ValidationFailed as exc:
            outcomes.append(str(exc.field_errors["start"][0]))
        finally:
            connection.close()

    def publish() -> None:
        try:
            barrier.wait()
            schedule_publish(actor=scheduler, schedule=schedule)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(minute,)) for minute in range(0, 16, 2)]
    threads.append(threading.Thread(target=publish))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert_no_overlap(resource)
    schedule.refresh_from_db()
    made = Slot.objects.filter(schedule=schedule).count()
    singles = Slot.objects.filter(resource=resource, schedule=None).count()
    assert made + schedule.publish_skipped == 4
    assert outcomes.count("added") == singles <= 1
    refusals = [outcome for outcome in outcomes if outcome != "added"]
    assert len(refusals) == 8 - singles
    assert all(":" in refusal and "–" in refusal for refusal in refusals), refusals


def test_the_same_rules_hold_on_sqlite(tmp_path):
    """This module again, in a process on a fresh SQLite database and the file broker, as
    ``make run`` has them (the parallel test needs PostgreSQL's row locks and is left out)."""
    env = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "PYTEST_ADDOPTS"}
    }
    env.update(
        TIDBOK_VAR_DIR=str(tmp_path),
        SECRET_KEY="test-only-secret-key-not-for-production",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    command += ["-k", "not parallel and not sqlite"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # The summary line alone: a warning may quote a test whose name says "skipped".
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary
