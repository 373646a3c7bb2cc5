"""The Celery app. Workers publish slots (R-PUB) and the FHIR bulk files, release holds
(R-BOOK-3), purge the web booking log (R-LOG-3) and deliver inbox notifications."""

import os
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tidbok.settings")

app = Celery("tidbok")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connections_as_between_requests(sender: Task | None = None, **_kwargs: Any) -> None:
    """Around a task in a worker, what Django does around a request: close a connection that is
    older than DB_CONN_MAX_AGE, broken or left mid-transaction, keep the rest (checked before its
    next use). Celery's own closing of every connection after every task is off
    (CELERY_DB_REUSE_MAX). Not for a task run eagerly: it runs inside its caller's transaction."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()


app.conf.beat_schedule = {
    # R-OPS-1: the outbox sweep sends the side effects the after-commit relay could not.
    "relay-outbox": {
        "task": "core.outbox.tasks.outbox_relay",
        "schedule": float(os.environ.get("TIDBOK_OUTBOX_SWEEP_SECONDS", "5")),
    },
    "purge-outbox": {
        "task": "core.outbox.tasks.outbox_purge",
        "schedule": crontab(minute=25),
    },
    # R-NOTE-3: notifications whose claim never completed or whose retry was lost are sent.
    "sweep-notifications": {
        "task": "notifications.tasks.notification_sweep",
        "schedule": float(os.environ.get("TIDBOK_NOTIFY_SWEEP_SECONDS", "60")),
    },
    # R-NOTE-2: reminders before visits, recorded when their time has come.
    "record-due-reminders": {
        "task": "notifications.tasks.reminders_due",
        "schedule": float(os.environ.get("TIDBOK_REMINDER_SWEEP_SECONDS", "60")),
    },
    "release-expired-holds": {
        "task": "schedules.tasks.holds_release_expired",
        "schedule": 30.0,
    },
    # R-WAIT-3: waitlist offers past their time end and their times go to the next in line. A
    # sweep, not a countdown per offer, so a lost task delays nothing beyond the next round.
    "expire-waitlist-offers": {
        "task": "bookings.tasks.waitlist_offers_expire",
        "schedule": float(os.environ.get("TIDBOK_OFFER_SWEEP_SECONDS", "15")),
    },
    # Safety net: any free slot whose publish task was lost (a worker crash) is picked up.
    "publish-pending-slots": {
        "task": "schedules.tasks.slots_publish_pending",
        "schedule": 60.0,
    },
    # R-OPS-3: a schedule publish whose worker died (no heartbeat) is queued again and resumes.
    "resume-stale-schedule-publishing": {
        "task": "schedules.tasks.schedule_publish_resume_stale",
        "schedule": float(os.environ.get("TIDBOK_PUBLISH_SWEEP_SECONDS", "60")),
    },
    # The SMART Scheduling Links files (/fhir/r4/$bulk-publish): a safety net for a lost refresh,
    # and times entering the visibility window (R-VIS-1) with nothing else changing.
    "refresh-fhir-bulk-publish": {
        "task": "fhir.tasks.bulk_publish_refresh",
        "schedule": 60.0,
    },
    "purge-idempotency-records": {
        "task": "bookings.tasks.idempotency_purge",
        "schedule": crontab(minute=45),
    },
    # R-SEC-7: audit events older than TIDBOK_AUDIT_RETENTION_DAYS (five years), in batches.
    "purge-old-audit-events": {
        "task": "accounts.tasks.audit_events_purge",
        "schedule": crontab(minute=35, hour=3),
    },
    # R-LOG-3: on PostgreSQL the web booking log's day partitions are made a few days ahead.
    "make-web-booking-log-partitions": {
        "task": "bookings.tasks.web_log_partitions_ensure",
        "schedule": crontab(minute=5, hour="*/6"),
    },
    "purge-web-booking-log": {
        "task": "bookings.tasks.web_log_purge",
        "schedule": crontab(minute=15, hour=3),
    },
}
