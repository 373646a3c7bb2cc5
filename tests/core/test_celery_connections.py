"""A worker keeps its database connection between tasks as a web process keeps it between
requests (DB_CONN_MAX_AGE, the health check), instead of a new PostgreSQL backend per task."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from celery import Task
from celery.fixups.django import DjangoWorkerFixup  # type: ignore[attr-defined]  # not in celery-types
from celery.signals import task_postrun, task_prerun
from django.db import connection

from core.outbox import tasks as outbox_tasks
from tidbok.celery import app as celery_app

pytestmark = [pytest.mark.django_db(transaction=True)]


@contextmanager
def _task(*, eager: bool) -> Iterator[Task]:
    task = outbox_tasks.outbox_purge
    task.push_request(**{"is_eager": eager})
    try:
        yield task
    finally:
        task.pop_request()


def _run_task_hooks(*, eager: bool = False) -> None:
    """What a worker runs around a task: Celery's Django fixup's hooks and the signals."""
    with _task(eager=eager) as task:
        _hooks(task)


def _hooks(task: Task) -> None:
    fixup = DjangoWorkerFixup(celery_app)
    fixup.on_task_prerun(sender=task)
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    fixup.on_task_postrun(sender=task)
    task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("backend pids are PostgreSQL's")


def test_tasks_in_a_worker_share_one_connection_while_it_is_young(postgresql, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    first = _backend_pid()
    _run_task_hooks()
    _run_task_hooks()
    assert connection.connection is not None
    assert _backend_pid() == first


def test_a_connection_older_than_its_max_age_is_closed_after_a_task(postgresql, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    connection.close()
    _backend_pid()
    _run_task_hooks()
    assert connection.connection is None


def test_a_connection_left_in_a_transaction_is_closed_after_a_task(postgresql, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    first = _backend_pid()
    connection.set_autocommit(False)  # a task that died mid-transaction
    with _task(eager=False) as task:
        task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="FAILURE")
    assert connection.connection is None
    assert _backend_pid() != first


def test_an_eager_task_leaves_its_callers_connection_alone(postgresql, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    connection.close()
    first = _backend_pid()
    with _task(eager=True) as task:
        task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")
    assert connection.connection is not None
    assert _backend_pid() == first
