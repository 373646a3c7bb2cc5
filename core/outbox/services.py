"""The transactional outbox (R-OPS-1): the one door for side effects after a commit.

``outbox_add`` writes a row in the caller's transaction: if the change rolls back, so does the
row; if it commits, the row is there even when Redis (the Celery broker and the cache) is down.
After the commit a best-effort relay sends the transaction's rows at once; it never raises, so
a committed change is always answered as a success. A beat task (``outbox_relay``, every few
seconds) sends whatever is still unsent, so nothing is lost, only late.

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
from collections.abc import Callable, Sequence
from typing import Any

# The project's Celery app (tidbok.celery) is the current app once Django's settings have loaded;
# core sits below the configuration package and does not import it.
from celery import Task, current_app
from django.conf import settings
from django.db import transaction
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
    (it may run more than once), take JSON-able arguments and not query the database (the relay
    runs it inside its claim on the rows, without a savepoint of its own)."""

    def register(function: Callable[..., object]) -> Callable[..., object]:
        _STEPS[name] = function
        return function

    return register


class _AfterCommit:
    """One relay per transaction for all the rows it added (not one per row)."""

    def __init__(self, pk: int, savepoints: tuple[str | None, ...]) -> None:
        self.ids = [pk]
        self.savepoints = savepoints
        self.started = False

    def __call__(self) -> None:
        self.started = True
        outbox_relay_after_commit(ids=self.ids)


def _relay_after_commit(pk: int) -> None:
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
        pending.ids.append(pk)
        return
    pending = _AfterCommit(pk, savepoints)
    connection._outbox_after_commit = pending
    transaction.on_commit(pending)


def outbox_add(*, name: str, args: Sequence[Any] = ()) -> OutboxMessage:
    """R-OPS-1: ``name(*args)`` is to happen once the current transaction commits."""
    return outbox_add_many(messages=[(name, args)])[0]


def outbox_add_many(*, messages: Sequence[tuple[str, Sequence[Any]]]) -> list[OutboxMessage]:
    """:func:`outbox_add` for several ``(name, args)`` at once, in one INSERT (a booking asks
    for two or three things after its commit; nothing when ``messages`` is empty)."""
    rows = OutboxMessage.objects.bulk_create(OutboxMessage(name=name, args=list(args)) for name, args in messages)
    for row in rows:
        _relay_after_commit(row.pk)
    return rows


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
    app.tasks[message.name].apply_async(args=message.args, task_id=f"outbox-{message.pk}", retry=False)


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


def outbox_relay_after_commit(*, ids: Sequence[int]) -> None:
    """The immediate, best-effort relay of a transaction's rows. Never raises: the change is
    committed and must be answered as a success whatever happens here."""
    if time.monotonic() < _paused_until:
        return
    try:
        outbox_relay(ids=ids)
    except Exception:
        logger.warning("outbox: relay after commit failed; the sweep will send the rows", exc_info=True)


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
