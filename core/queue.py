"""Enqueue Celery tasks through the transactional outbox (R-OPS-1): the task is a row written in
the current transaction, so a worker never reads a row that is not there yet, a rolled-back
change sends nothing, and a committed one sends its task even if the broker was down at the
time (the outbox sweep sends it when the broker is back). Never raises after the commit."""

from __future__ import annotations

from typing import Any

from celery import Task

from core.outbox.services import outbox_add_task


def enqueue_on_commit(task: Task, *args: Any) -> None:
    outbox_add_task(task, *args)
