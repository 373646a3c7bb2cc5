"""Enqueue Celery tasks only once the transaction that made them necessary has committed,
so a worker never reads a row that is not there yet, and a rolled-back change sends nothing."""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task, *args: Any) -> None:
    transaction.on_commit(lambda: task.delay(*args))
