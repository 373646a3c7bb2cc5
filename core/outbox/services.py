"""The transactional outbox (R-OPS-1): the one door for side effects after a commit.

``outbox_add`` writes a row in the caller's transaction: if the change rolls back, so does the
row; if it commits, the row is there even when Redis (the Celery broker and the cache) is down.
After the commit a best-effort relay sends the transaction's rows at once, from memory, on a
lease the rows were written with (one UPDATE marks them sent); it never raises, so a committed
change is always answered as a success. A beat task (``outbox_relay``, every few seconds) sends
whatever is still unsent once it is due, so nothing is lost, only late.

Delivery is at least once: a row is marked sent after its task was handed to the broker, so a
crash in between sends it again. Every task behind the outbox is idempotent (tasks take ids and
claim their work). A row names either a Celery task, sent to the broker, or a step registered
with :func:`outbox_step`, which the relay runs itself (a cache version bump: cheap and idempotent,
and it must not wait behind a worker's queue).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

# The project's Celery app (tidbok.celery) is the current app once Django's settings have loaded;
# core sits below the configuration package and does not import it.
from celery import Task, current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .models import OutboxMessage

logger = logging.getLogger(__name__)

# Steps the relay runs itself, by name.
_STEPS: dict[str, Callable[..., object]] = {}
# After a failed send, this process's after-commit relay leaves the broker alone this long (the
# sweep tries again), so an outage costs one slow answer, not one per request.
PAUSE_SECONDS = 5.0
_paused_until = 0.0
MAX_BACKOFF_SECONDS = 300
# Failures that mean "the broker or cache is not there now", as opposed to a task's own error.
UNAVAILABLE = (KombuOperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


def outbox_step(name: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """Register ``function`` as the step the relay runs for rows named ``name``, which must be
    ``<its module>.<a name>`` (the relay imports the module to find it). It must be idempotent
    (it may run more than once), take JSON-able arguments and not query the database (the sweep
    runs it inside its claim on the rows, without a savepoint of its own)."""

    def register(function: Callable[..., object]) -> Callable[..., object]:
        _STEPS[name] = function
        return function

    return register


class _AfterCommit:
    """One relay per transaction for all the rows it added (not one per row)."""

    def __init__(self, message: OutboxMessage, savepoints: tuple[str | None, ...]) -> None:
        self.messages = [message]
        self.savepoints = savepoints
        self.started = False

    def __call__(self) -> None:
        self.started = True
        outbox_relay_after_commit(messages=self.messages)


def _relay_after_commit(message: OutboxMessage) -> None:
    connection = transaction.get_connection()
    savepoints = tuple(connection.savepoint_ids)
    pending = getattr(connection, "_outbox_after_commit", None)
    # Join the relay this transaction already registered, while the savepoint it was registered
    # in is still open (a rollback of that savepoint drops the callback and this row with it)
    # and the callback is still waiting for this transaction's commit. Otherwise register another.
    if (
        connection.in_atomic_block
        and pending is not None
        and not pending.started
        and savepoints[: len(pending.savepoints)] == pending.savepoints
        and any(callback is pending for _sids, callback, _robust in connection.run_on_commit)
    ):
        pending.messages.append(message)
        return
    pending = _AfterCommit(message, savepoints)
    connection._outbox_after_commit = pending
    transaction.on_commit(pending)


class _Batch:
    """The rows a block adds, held back for one INSERT at its end (see :func:`outbox_batch`)."""

    def __init__(self, savepoints: tuple[str | None, ...]) -> None:
        self.savepoints = savepoints
        self.messages: list[OutboxMessage] = []


@contextlib.contextmanager
def outbox_batch() -> Iterator[None]:
    """Inside a transaction: the rows added in the block are written in one INSERT at its end,
    not one per caller (a web booking asks for the free-times and FHIR refresh and the
    notification in different places). Rows added inside a nested savepoint are written at once
    as usual: a rollback of that savepoint must take them with it. An exception out of the block
    writes none of them, as the transaction it ends would not have kept them either."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block or getattr(connection, "_outbox_batch", None) is not None:
        yield
        return
    batch = _Batch(tuple(connection.savepoint_ids))
    connection._outbox_batch = batch
    try:
        yield
    finally:
        connection._outbox_batch = None
    _insert(batch.messages)


def outbox_add(*, name: str, args: Sequence[Any] = ()) -> OutboxMessage:
    """R-OPS-1: ``name(*args)`` is to happen once the current transaction commits."""
    return outbox_add_many(messages=[(name, args)])[0]


def outbox_add_many(*, messages: Sequence[tuple[str, Sequence[Any]]]) -> list[OutboxMessage]:
    """:func:`outbox_add` for several ``(name, args)`` at once, in one INSERT (nothing when
    ``messages`` is empty).

    The rows are leased to this transaction's own relay after the commit (``available_at`` is
    ``TIDBOK_OUTBOX_LEASE_SECONDS`` ahead): it already holds them, so it sends them without
    reading or claiming them again, and the sweep leaves them alone meanwhile. Should this
    process die between the commit and the send, the lease runs out and the sweep sends them."""
    now = timezone.now()
    leased_until = now + dt.timedelta(seconds=settings.TIDBOK_OUTBOX_LEASE_SECONDS)
    rows = [
        OutboxMessage(name=name, args=list(args), created_at=now, available_at=leased_until) for name, args in messages
    ]
    connection = transaction.get_connection()
    batch: _Batch | None = getattr(connection, "_outbox_batch", None)
    if batch is not None and tuple(connection.savepoint_ids) == batch.savepoints:
        batch.messages.extend(rows)
    else:
        _insert(rows)
    return rows


def _insert(rows: list[OutboxMessage]) -> None:
    if not rows:
        return
    OutboxMessage.objects.bulk_create(rows)
    for row in rows:
        _relay_after_commit(row)


def outbox_add_task(task: Task, *args: Any) -> OutboxMessage:
    return outbox_add(name=task.name, args=args)


def _deliver(message: OutboxMessage) -> None:
    app = current_app
    if message.name not in _STEPS and message.name not in app.tasks:
        # A process that has not imported the module yet (a step or task is named after its
        # module). Not Celery's import_default_modules: in a worker that sets Django up again,
        # and Django's logging configuration would replace the worker's.
        importlib.import_module(message.name.rpartition(".")[0])
    step = _STEPS.get(message.name)
    if step is not None:
        step(*message.args)
        return
    # The row's id as the task id: a log line names the row it came from, and a second delivery
    # of one row (at least once) shows up as the same id twice. Not retried here: the sweep will.
    # The row stands for its arguments in the message's own description of them (argsrepr, what
    # a worker's log and monitoring show): Celery would otherwise build a safe repr of them on
    # every send, and they stay out of logs (a notification's payload among them).
    described: dict[str, Any] = {"argsrepr": f"(outbox row {message.pk})", "kwargsrepr": "{}"}  # not in celery-types
    app.tasks[message.name].apply_async(args=message.args, task_id=f"outbox-{message.pk}", retry=False, **described)


def _savepoint_if_tasks_run_here() -> contextlib.AbstractContextManager[object]:
    """A delivery sends no SQL: it hands a task to the broker or runs a step (a cache version
    bump, which must not query, see :func:`outbox_step`), so a savepoint around it would be two
    statements per row for nothing. Only when Celery runs tasks in this process
    (``task_always_eager``: the tests, a development setup without a worker) does a delivery
    query, and then a savepoint keeps a task's failed query from ending the batch's transaction."""
    return transaction.atomic() if current_app.conf.task_always_eager else contextlib.nullcontext()


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 9)))


def outbox_relay(*, ids: Sequence[int] | None = None, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Send unsent rows: the given ``ids``, else those due (oldest first, at most ``limit``).
    Returns how many were sent; a row that fails waits a back-off and is tried again.

    Rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` for as long as the relay works on
    them: the after-commit relay of every web process and the beat sweep run at the same time,
    and each row must be sent by one of them, without either waiting for the other. If the
    relay dies half-way, its transaction ends with its connection and the rows are free again
    at once (nothing to time out); the ones it had already sent are sent again (at least once).
    """
    now = now or timezone.now()
    sent: list[int] = []
    with transaction.atomic():
        rows = OutboxMessage.objects.select_for_update(skip_locked=True).filter(sent_at__isnull=True)
        rows = rows.filter(pk__in=ids) if ids is not None else rows.filter(available_at__lte=now)
        for message in rows.order_by("pk")[:limit]:
            try:
                with _savepoint_if_tasks_run_here():
                    _deliver(message)
            except Exception as error:
                message.attempts += 1
                message.available_at = now + _backoff(message.attempts)
                message.last_error = f"{type(error).__name__}: {error}"[:500]
                message.save(update_fields=["attempts", "available_at", "last_error"])
                logger.warning("outbox: %s (row %s) not sent, will retry: %s", message.name, message.pk, error)
                if ids is not None and isinstance(error, UNAVAILABLE):
                    # After commit, with the broker or cache away: leave the rest to the sweep
                    # rather than keep the answer waiting, and let the next requests skip it.
                    _pause()
                    break
            else:
                sent.append(message.pk)
        OutboxMessage.objects.filter(pk__in=sent).update(sent_at=now)
    return len(sent)


def outbox_relay_after_commit(*, messages: Sequence[OutboxMessage]) -> None:
    """The immediate, best-effort relay of a transaction's rows, which it holds on a lease (see
    :func:`outbox_add_many`): each is delivered, then all that went are marked sent in one
    UPDATE, outside any transaction (no claim to read, no savepoints: one statement in all).
    A row that fails waits a back-off for the sweep; after the broker or cache turned out to be
    away the rest are handed to the sweep at once. Never raises: the change is committed and
    must be answered as a success whatever happens here."""
    try:
        _relay_held(messages)
    except Exception:
        logger.warning("outbox: relay after commit failed; the sweep will send the rows", exc_info=True)


def _relay_held(messages: Sequence[OutboxMessage]) -> None:
    now = timezone.now()
    sent: list[int] = []
    left: list[int] = [message.pk for message in messages]
    try:
        if time.monotonic() < _paused_until:
            return
        for message in messages:
            try:
                with _savepoint_if_tasks_run_here():
                    _deliver(message)
            except Exception as error:
                left.remove(message.pk)
                _failed(message, error, now)
                if isinstance(error, UNAVAILABLE):
                    # The broker or cache is away: leave the rest to the sweep rather than keep
                    # the answer waiting, and let the next requests skip it.
                    _pause()
                    break
            else:
                sent.append(message.pk)
                left.remove(message.pk)
        # Only what is still unsent: a sweep that found a lease run out (a relay slower than
        # it) sent the row itself, and its mark stands.
        OutboxMessage.objects.filter(pk__in=sent, sent_at__isnull=True).update(sent_at=now)
    finally:
        if left:
            # Not sent here (paused, or after a failure): due for the sweep now, not when the lease ends.
            OutboxMessage.objects.filter(pk__in=left, sent_at__isnull=True).update(available_at=now)


def _failed(message: OutboxMessage, error: Exception, now: dt.datetime) -> None:
    message.attempts += 1
    message.available_at = now + _backoff(message.attempts)
    message.last_error = f"{type(error).__name__}: {error}"[:500]
    OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(
        attempts=F("attempts") + 1, available_at=message.available_at, last_error=message.last_error
    )
    logger.warning("outbox: %s (row %s) not sent, will retry: %s", message.name, message.pk, error)


def _pause() -> None:
    global _paused_until
    _paused_until = time.monotonic() + PAUSE_SECONDS


def outbox_relay_resume() -> None:
    """Forget a pause (tests, and a process that knows the broker is back)."""
    global _paused_until
    _paused_until = 0.0


def outbox_purge(*, now: dt.datetime | None = None, batch_size: int = 2000) -> int:
    """Delete rows sent longer ago than ``TIDBOK_OUTBOX_KEEP_DAYS``, in short batches."""
    now = now or timezone.now()
    before = now - dt.timedelta(days=settings.TIDBOK_OUTBOX_KEEP_DAYS)
    deleted = 0
    while True:
        batch = list(
            OutboxMessage.objects.filter(sent_at__lt=before).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            return deleted
        deleted += OutboxMessage.objects.filter(pk__in=batch).delete()[0]
