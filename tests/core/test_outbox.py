"""The transactional outbox and the fail-open cache (R-OPS-1), the notification claim (R-OPS-2).

The end-to-end cases, with a real Redis stopped and real workers, are in tests/faults/; these pin
down the rules one by one."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from bookings.services import booking_cancel, booking_create
from core.cache import FailOpenRedisCache, counters_bump
from core.outbox import services as outbox
from core.outbox.models import OutboxMessage
from schedules.models import Slot
from tidbok.celery import app as celery_app

from ..faults.procs import free_port


@pytest.fixture(autouse=True)
def _relay_not_paused():
    outbox.outbox_relay_resume()
    yield
    outbox.outbox_relay_resume()


def _broker_down(monkeypatch) -> list[str]:
    """Every send to the broker fails as it does with Redis stopped; returns the tried task ids."""
    tried: list[str] = []

    def refuse(self, *args, task_id=None, **kwargs):
        tried.append(task_id)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("celery.app.task.Task.apply_async", refuse)
    return tried


# --- R-OPS-1: the outbox -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_side_effect(slot, resident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        booking = booking_create(resident=resident, slot_id=slot.pk)
        booking_cancel(actor=resident, booking_id=booking.pk)
        assert OutboxMessage.objects.exists()  # written in the change's own transaction …
        raise RuntimeError("rolled back")

    assert not OutboxMessage.objects.exists()  # … and gone with it


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_with_the_broker_down_succeeds_and_the_sweep_sends_its_task_later(
    slot, resident, monkeypatch
):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    tried = _broker_down(monkeypatch)

    cancelled = booking_cancel(actor=resident, booking_id=booking.pk)  # the after-commit relay fails: no raise

    assert cancelled.status == "cancelled"
    waiting = OutboxMessage.objects.get(name="schedules.tasks.slots_publish", sent_at__isnull=True)
    assert tried == [f"outbox-{waiting.pk}"]
    assert waiting.attempts == 1 and "Connection refused" in waiting.last_error
    assert waiting.available_at > timezone.now()  # a back-off before the next try
    assert outbox.outbox_relay() == 0  # not due yet

    monkeypatch.undo()  # the broker is back (tasks run inline in tests) …
    outbox.outbox_relay_resume()  # … and this process's pause after the failure is over
    # Every row of the cancellation (the freed time, the resident's notification) is due by then.
    due = max(OutboxMessage.objects.values_list("available_at", flat=True))
    assert outbox.outbox_relay(now=due) >= 1

    waiting.refresh_from_db()
    assert waiting.sent_at is not None
    assert Slot.objects.get(pk=slot.pk).is_published  # the task ran: the time is back on the web
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert outbox.outbox_relay(now=due) == 0  # sent once, not again


@pytest.mark.django_db(transaction=True)
def test_after_a_broker_failure_the_next_requests_do_not_wait_for_it(slot, resident, monkeypatch):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    tried = _broker_down(monkeypatch)
    booking_cancel(actor=resident, booking_id=booking.pk)
    assert len(tried) == 1

    outbox.outbox_add(name="schedules.tasks.slots_publish", args=[[slot.pk]])

    assert len(tried) == 1  # paused: left to the sweep
    # The cancellation's freed time and its notification (R-NOTE-3), and the row added since.
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_never_send_a_row_twice_nor_wait_for_each_other():
    """Real parallel relays on PostgreSQL: the first holds its rows (a step that blocks), the
    second skips them at once (SKIP LOCKED) instead of waiting or sending them too."""
    calls: list[int] = []
    inside, release = threading.Event(), threading.Event()

    @outbox.outbox_step("tests.core.test_outbox.slow_step")
    def slow_step(n: int) -> None:
        calls.append(n)
        inside.set()
        assert release.wait(30)

    rows = [OutboxMessage.objects.create(name="tests.core.test_outbox.slow_step", args=[n]) for n in range(3)]

    def first() -> None:
        try:
            outbox.outbox_relay()
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(30)
        assert outbox.outbox_relay() == 0  # returns at once: every row is the first relay's
    finally:
        release.set()
        thread.join(30)

    assert sorted(calls) == [0, 1, 2]
    assert OutboxMessage.objects.filter(pk__in=[r.pk for r in rows], sent_at__isnull=False).count() == 3


@pytest.mark.django_db
def test_sent_rows_are_purged_after_the_keep_period_and_unsent_ones_never(settings):
    now = timezone.now()
    settings.TIDBOK_OUTBOX_KEEP_DAYS = 2
    old = OutboxMessage.objects.create(name="x.y", sent_at=now - dt.timedelta(days=3))
    recent = OutboxMessage.objects.create(name="x.y", sent_at=now - dt.timedelta(days=1))
    unsent = OutboxMessage.objects.create(name="x.y", created_at=now - dt.timedelta(days=30))

    assert outbox.outbox_purge(now=now, batch_size=1) == 1

    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, unsent.pk}
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()


# --- R-OPS-1: the cache fails open ---------------------------------------------------------------


def test_the_redis_cache_answers_without_redis_and_says_so_once(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    cache = caches["default"]
    assert isinstance(cache, FailOpenRedisCache)

    assert cache.get("k", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("lock", 1) is True  # allauth's rate-limit lock must not spin
    cache.set("k", 1)
    cache.set_many({"a": 1})
    assert cache.delete("k") is False

    warnings = [r for r in caplog.records if r.name == "core.cache"]
    assert len(warnings) == 1 and "cache unavailable" in warnings[0].getMessage()
    with pytest.raises(RedisConnectionError):
        counters_bump({"must-land": 1})  # the outbox's cache bump must notice


# R-OPS-2 / R-NOTE-3, the claims of notifications: tests/notifications/test_delivery.py.


# --- R-OPS-1: the relay after the commit holds its rows on a lease ---------------------------


@pytest.mark.django_db(transaction=True)
def test_the_relay_after_the_commit_sends_its_rows_with_one_statement():
    """It already holds the transaction's rows: no claim to read, no savepoints, one UPDATE (with
    a worker, as in production: eager tasks get a savepoint each, as they query)."""
    celery_app.conf.task_always_eager = False  # the autouse fixture sets it back
    sent: list[int] = []

    @outbox.outbox_step("tests.core.test_outbox.noted")
    def noted(n: int) -> None:
        sent.append(n)

    with transaction.atomic():
        outbox.outbox_add_many(messages=[("tests.core.test_outbox.noted", [1]), ("tests.core.test_outbox.noted", [2])])
    assert sent == [1, 2]
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()

    sent.clear()
    with CaptureQueriesContext(connection) as relay:
        outbox.outbox_add(name="tests.core.test_outbox.noted", args=[3])  # autocommit: relayed at once
    # What follows the row's INSERT (and the transaction around it): the one UPDATE that marks it sent.
    statements = [q["sql"] for q in relay.captured_queries]
    after = statements[statements.index(next(s for s in statements if s.startswith("INSERT"))) + 1 :]
    assert sent == [3]
    assert [s.split()[0] for s in after if s != "COMMIT"] == ["UPDATE"]


@pytest.mark.django_db
def test_a_row_whose_process_died_after_the_commit_is_sent_by_the_sweep_once_its_lease_ends(settings):
    """The after-commit relay never ran (the web process was killed): the sweep leaves the row to
    it while the lease lasts, then sends it, once."""
    settings.TIDBOK_OUTBOX_LEASE_SECONDS = 30
    calls: list[int] = []

    @outbox.outbox_step("tests.core.test_outbox.counted")
    def counted(n: int) -> None:
        calls.append(n)

    now = timezone.now()
    with transaction.atomic():  # the test's transaction never commits: the relay never runs
        (row,) = outbox.outbox_add_many(messages=[("tests.core.test_outbox.counted", [7])])

    assert outbox.outbox_relay(now=now + dt.timedelta(seconds=29)) == 0
    assert calls == []
    assert outbox.outbox_relay(now=now + dt.timedelta(seconds=31)) == 1
    assert outbox.outbox_relay(now=now + dt.timedelta(seconds=61)) == 0
    assert calls == [7]
    row.refresh_from_db()
    assert row.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_rows_the_relay_did_not_send_after_a_broker_failure_are_due_for_the_sweep_at_once(slot, resident, monkeypatch):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    _broker_down(monkeypatch)

    booking_cancel(actor=resident, booking_id=booking.pk)

    unsent = OutboxMessage.objects.filter(sent_at__isnull=True)
    assert unsent.count() >= 2
    # The row that failed waits its back-off; the ones after it are not held on the lease.
    assert unsent.filter(attempts=0, available_at__gt=timezone.now()).count() == 0


@pytest.mark.django_db
def test_a_batch_writes_its_rows_in_one_insert_and_keeps_a_rolled_back_savepoints_out():
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured, outbox.outbox_batch():
            outbox.outbox_add(name="x.kept", args=[1])
            try:
                with transaction.atomic():
                    outbox.outbox_add(name="x.rolled_back", args=[2])
                    raise RuntimeError("the savepoint rolls back")
            except RuntimeError:
                pass
            outbox.outbox_add_many(messages=[("x.kept", [3])])

        inserts = [q["sql"] for q in captured.captured_queries if 'INSERT INTO "outbox_outboxmessage"' in q["sql"]]
        assert len(inserts) == 2  # the savepoint's own row at once, the block's two together
        assert sorted(OutboxMessage.objects.values_list("name", "args")) == [("x.kept", [1]), ("x.kept", [3])]


@pytest.mark.django_db
def test_a_batch_left_by_an_exception_writes_nothing():
    with transaction.atomic():
        with pytest.raises(RuntimeError), outbox.outbox_batch():
            outbox.outbox_add(name="x.y", args=[1])
            raise RuntimeError("the block failed")
        assert not OutboxMessage.objects.exists()


RECORD = "notifications.tasks.notification_event_record"  # a task that takes one argument


@pytest.mark.django_db
def test_a_sent_task_describes_its_arguments_by_its_row_not_by_their_values(
    monkeypatch, django_capture_on_commit_callbacks
):
    """What a worker's log and monitoring show of a task's arguments (Celery's argsrepr): the
    outbox row it came from, never the arguments (a notification's payload) themselves."""
    sent: list[dict] = []
    monkeypatch.setattr(
        celery_app.amqp, "send_task_message", lambda producer, name, message, **kw: sent.append(message.headers)
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            [row] = outbox.outbox_add_many(messages=[(RECORD, [{"key": "secret-payload"}])])
    finally:
        celery_app.conf.task_always_eager = eager

    assert [(h["id"], h["argsrepr"], h["kwargsrepr"]) for h in sent] == [
        (f"outbox-{row.pk}", f"(outbox row {row.pk})", "{}")
    ]
    assert OutboxMessage.objects.get(pk=row.pk).sent_at is not None
