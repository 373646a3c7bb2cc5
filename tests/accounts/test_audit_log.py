"""R-SEC-7 (audit events kept for the retention period, purged only after it, in batches, and
exported by region IT as CSV, the export itself on record) and R-SEC-3 for the audit log page
(its resident filter never travels in a URL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Role
from accounts.services import audit_events_purge, audit_record
from accounts.tasks import audit_events_purge as audit_events_purge_task
from tidbok.celery import app as celery_app

from ..factories import ClinicFactory, ResidentFactory, login_with_second_factor, staff

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def event_at(when: dt.datetime, **kwargs) -> AuditEvent:
    event = audit_record(**kwargs)
    AuditEvent.objects.filter(pk=event.pk).update(created_at=when)
    event.refresh_from_db()
    return event


@pytest.fixture
def support(clinic):
    return staff(Role.SUPPORT, clinic, unit_name="")


@pytest.fixture
def region_it(clinic):
    return staff(Role.REGION_IT, clinic)


def as_english(client, user):
    login_with_second_factor(client, user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def audit_url(clinic) -> str:
    return reverse("workspace:audit_log", args=[clinic.pk])


def csv_url(clinic) -> str:
    return reverse("workspace:audit_log_csv", args=[clinic.pk])


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


# --- Retention ----------------------------------------------------------------------------------


def test_the_default_retention_is_at_least_five_years():
    assert settings.TIDBOK_AUDIT_RETENTION_DAYS >= 5 * 365 + 1


def test_the_purge_removes_only_events_older_than_the_retention_period(settings, support, clinic, resident):
    settings.TIDBOK_AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    cutoff = now - dt.timedelta(days=30)
    old = [event_at(cutoff - dt.timedelta(seconds=s), actor=support, action="booking.read") for s in (1, 86400)]
    kept = [
        event_at(cutoff + dt.timedelta(seconds=5), actor=support, action="booking.read", resident=resident),
        event_at(now, actor=support, action="web_log.read", clinic=clinic),
    ]

    assert audit_events_purge(now=now) == len(old)

    assert set(AuditEvent.objects.values_list("pk", flat=True)) == {e.pk for e in kept}
    assert audit_events_purge(now=now) == 0  # idempotent


def test_a_large_backlog_goes_in_batches_of_short_transactions(settings, support):
    settings.TIDBOK_AUDIT_RETENTION_DAYS = 1
    long_ago = timezone.now() - dt.timedelta(days=400)
    AuditEvent.objects.bulk_create(
        AuditEvent(actor=support, action="booking.read", created_at=long_ago) for _ in range(25)
    )
    AuditEvent.objects.update(created_at=long_ago)  # auto_now_add set "now" on insert
    young = audit_record(actor=support, action="booking.read")

    assert audit_events_purge(batch_size=10) == 25

    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [young.pk]


def test_the_nightly_task_is_scheduled_and_purges(settings, support):
    entry = [e for e in celery_app.conf.beat_schedule.values() if e["task"] == "accounts.tasks.audit_events_purge"]
    assert len(entry) == 1
    settings.TIDBOK_AUDIT_RETENTION_DAYS = 10
    event_at(timezone.now() - dt.timedelta(days=11), actor=support, action="booking.read")

    assert audit_events_purge_task.delay().get() == 1
    assert not AuditEvent.objects.exists()


def test_a_retention_below_one_day_is_refused_at_start():
    env = {**os.environ, "TIDBOK_AUDIT_RETENTION_DAYS": "0", "DJANGO_SETTINGS_MODULE": "tidbok.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0 and "TIDBOK_AUDIT_RETENTION_DAYS" in result.stderr


# --- Who, in which role -------------------------------------------------------------------------


def test_each_event_keeps_the_role_the_actor_had_where_they_acted(support, region_it, clinic, resident):
    other = ClinicFactory(region=clinic.region)
    support_event = audit_record(actor=support, action="booking.read", clinic=clinic, resident=resident)
    it_event = audit_record(actor=region_it, action="audit_log.read", clinic=other)
    elsewhere = audit_record(actor=support, action="booking.read", clinic=ClinicFactory())

    assert support_event.role == "support"
    assert it_event.role == "region_it"
    assert elsewhere.role == ""  # no role there: recorded as such, not guessed


# --- Export -------------------------------------------------------------------------------------


def test_region_it_exports_a_period_as_csv_and_the_export_is_recorded(client, support, region_it, clinic):
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    today = timezone.localdate()
    noon = dt.datetime.combine(today - dt.timedelta(days=3), dt.time(12), tzinfo=timezone.get_default_timezone())
    inside = event_at(noon, actor=support, action="booking.read", clinic=clinic, resident=anna)
    event_at(noon - dt.timedelta(days=10), actor=support, action="booking.read", clinic=clinic, resident=anna)
    event_at(noon, actor=support, action="booking.read", clinic=ClinicFactory(), resident=anna)
    as_english(client, region_it)

    period = {"fran": today - dt.timedelta(days=5), "till": today - dt.timedelta(days=1)}
    searched = client.post(audit_url(clinic), period)
    page = client.get(searched.url)
    link = next(line for line in page.content.decode().splitlines() if csv_url(clinic) in line)
    assert "sok=" in link
    exported = client.get(f"{csv_url(clinic)}?{searched.url.split('?', 1)[1]}")

    assert exported.status_code == 200 and exported["Content-Type"] == "text/csv; charset=utf-8"
    assert exported["Content-Disposition"].endswith(f'-{period["fran"]:%Y%m%d}-{period["till"]:%Y%m%d}.csv"')
    header, *rows = read_csv(exported)
    assert header[:8] == [
        "When",
        "Staff member",
        "E-mail",
        "Role",
        "Unit",
        "Resident",
        "Personal identity number",
        "What",
    ]
    assert rows == [
        [
            timezone.localtime(inside.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            "Sara Schema",
            support.email,
            "Support",
            clinic.name,
            "Anna Andersson",
            anna.personnummer_display,
            "Opened a booking",
            "booking.read",
            "",
            "",
        ]
    ]
    export = AuditEvent.objects.get(action="audit_log.exported")
    assert export.actor == region_it and export.clinic == clinic and export.role == "region_it"
    assert export.detail == f"from={period['fran']} to={period['till']}"


def test_the_export_streams_every_event_of_the_period(client, support, region_it, clinic):
    residents = ResidentFactory.create_batch(3)
    # More than one chunk of the streamed query.
    AuditEvent.objects.bulk_create(
        AuditEvent(actor=support, action="booking.read", clinic=clinic, resident=residents[n % 3]) for n in range(2500)
    )
    as_english(client, region_it)

    _header, *rows = read_csv(client.get(csv_url(clinic)))

    # Every event, and the reader's own export, which is recorded before the file is written.
    assert len(rows) == 2501


def test_residents_seen_in_the_django_admin_reach_region_it_of_their_regions(
    client, region_it, clinic, appointment_type, resource
):
    """R-SEC-1, R-SEC-7: the admin's user list has no clinic, yet region IT of every region a
    resident belongs to (a clinic relation, a booking, the home region) finds the read in the
    audit log export, and region IT elsewhere does not."""
    from accounts.models import User
    from bookings.services import booking_create
    from clinics.models import ClinicRelation, RelationSource

    from ..factories import SlotFactory

    uppsala_clinic = ClinicFactory(region__code="03", region__name="Region Uppsala")
    related = ResidentFactory(first_name="Rut", last_name="Relation", home_region_code="99")
    ClinicRelation.objects.create(resident=related, clinic=clinic, on_start_page=True, source=RelationSource.START_PAGE)
    booked = ResidentFactory(first_name="Bo", last_name="Bokad", home_region_code="03")
    booking_create(resident=booked, slot_id=SlotFactory(appointment_type=appointment_type, resource=resource).pk)
    ResidentFactory(first_name="Hilda", last_name="Hemma", home_region_code="01")
    ResidentFactory(first_name="Ulla", last_name="Uppsala", home_region_code="03")
    superuser = User.objects.create_superuser("root", "root@tidbok.test", "a-long-admin-password-2026")
    login_with_second_factor(client, superuser)
    assert client.get("/admin/accounts/user/").status_code == 200

    def seen_in_admin(reader, at) -> set[str]:
        as_english(client, reader)
        _header, *rows = read_csv(client.get(csv_url(at)))
        return {row[5] for row in rows if row[7] == "Saw the resident in a list in the Django admin"}

    assert seen_in_admin(region_it, clinic) == {"Rut Relation", "Bo Bokad", "Hilda Hemma"}
    uppsala_it = staff(Role.REGION_IT, uppsala_clinic)
    assert seen_in_admin(uppsala_it, uppsala_clinic) == {"Bo Bokad", "Ulla Uppsala"}
    assert not AuditEvent.objects.filter(action="admin.list", region=None).exists()


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.LOCAL_ADMIN, Role.SCHEDULER])
def test_only_region_it_may_export(client, clinic, role):
    as_english(client, staff(role, clinic))

    assert client.get(csv_url(clinic)).status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="audit_log").exists()


def test_region_it_of_another_region_cannot_export(client, clinic):
    outsider = staff(Role.REGION_IT, ClinicFactory(region__code="03", region__name="Region Uppsala"))
    as_english(client, outsider)

    assert client.get(csv_url(clinic)).status_code == 404
    assert not AuditEvent.objects.exists()


# --- R-SEC-3: the resident filter never travels in a URL ------------------------------------------


def test_the_resident_filter_is_posted_and_the_url_names_only_a_token(client, support, region_it, clinic):
    anna, bo = ResidentFactory(), ResidentFactory()
    assert anna.personnummer is not None
    audit_record(actor=support, action="booking.read", clinic=clinic, resident=anna)
    audit_record(actor=support, action="booking.read", clinic=clinic, resident=bo)
    as_english(client, region_it)

    searched = client.post(audit_url(clinic), {"personnummer": anna.personnummer_display})

    assert searched.status_code == 302
    assert searched.url.startswith(audit_url(clinic) + "?sok=")
    assert anna.personnummer not in searched.url and anna.personnummer[2:8] not in searched.url
    page = client.get(searched.url)
    html = page.content.decode()
    assert anna.personnummer_display in html and bo.personnummer_display not in html
    # No link or form on the page carries the number either.
    for attribute in ('href="', 'action="'):
        for part in html.split(attribute)[1:]:
            target = part.split('"', 1)[0]
            assert anna.personnummer not in target and anna.personnummer[2:] not in target


def test_a_personnummer_in_the_query_string_filters_nothing(client, support, region_it, clinic):
    anna, bo = ResidentFactory(), ResidentFactory()
    audit_record(actor=support, action="booking.read", clinic=clinic, resident=anna)
    audit_record(actor=support, action="booking.read", clinic=clinic, resident=bo)
    as_english(client, region_it)

    page = client.get(audit_url(clinic), {"personnummer": anna.personnummer})

    html = page.content.decode()
    assert page.status_code == 200 and bo.personnummer_display in html
    read = AuditEvent.objects.get(action="audit_log.read")
    assert read.resident is None


def test_a_token_of_another_clinic_or_session_is_refused(client, region_it, clinic):
    other = ClinicFactory(region=clinic.region)
    as_english(client, region_it)
    token_url = client.post(audit_url(other), {"fran": "2026-01-01"}).url
    token = token_url.split("sok=", 1)[1]

    refused = client.get(f"{audit_url(clinic)}?sok={token}")
    assert refused.status_code == 302 and refused.url == audit_url(clinic)
    assert client.get(f"{csv_url(clinic)}?sok={token}").status_code == 302
    assert not AuditEvent.objects.filter(clinic=clinic).exists()

    client.logout()
    as_english(client, region_it)  # a new session does not know the old token
    assert client.get(token_url).status_code == 302


def test_a_bad_filter_is_400_with_messages_and_reads_nothing(client, region_it, clinic):
    as_english(client, region_it)

    for bad in (
        {"personnummer": "123"},
        {"fran": "nope"},
        {"fran": "0001-01-01"},
        {"till": "9999-12-31"},
        {"fran": "2026-02-01", "till": "2026-01-01"},
    ):
        response = client.post(audit_url(clinic), bad)
        assert response.status_code == 400, bad
        assert 'class="error"' in response.content.decode(), bad
    assert not AuditEvent.objects.exists()
